// IDX reader: gunzip (when the bytes start with the gzip magic) through zlib, then a
// header check of every field before a single data byte is trusted.
#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gpulab {

namespace {

// Decompressed data larger than this is refused: Fashion-MNIST's biggest file is 47 MB, so
// a bigger stream is a mistake or a gzip bomb, not a data set we can use.
constexpr size_t kMaxInflatedBytes = size_t(256) << 20;
// Elements an IDX header may declare; keeps products of dims far from int64 overflow.
constexpr int64_t kMaxElements = int64_t(1) << 31;
// Compressed files larger than this are not read at all.
constexpr int64_t kMaxFileBytes = int64_t(256) << 20;

std::string hex_byte(uint8_t b)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", unsigned(b));
    return buf;
}

struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
};

bool is_gzip(const std::vector<uint8_t>& bytes)
{
    return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& name)
{
    z_stream zs{};
    // 15 + 16: gzip wrapper only (we only get here after seeing the gzip magic).
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
throw DataError(Error(ErrorCode::GzipCannotStart, {{"file", name}, {"why", zs.msg ? zs.msg : "out of memory"}}));
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);

    // First guess at the size: the gzip trailer's ISIZE (length mod 2^32), which is not
    // trusted beyond what deflate can produce from this input (at most ~1032:1) and the
    // cap; the loop below grows the buffer if the guess was low.
    size_t guess = 1 << 16;
    if (in.size() >= 18) {
        const uint8_t* t = in.data() + in.size() - 4;
        guess = size_t(t[0]) | (size_t(t[1]) << 8) | (size_t(t[2]) << 16) | (size_t(t[3]) << 24);
    }
    const size_t ratio_bound = in.size() > kMaxInflatedBytes / 1040 ? kMaxInflatedBytes
                                                                     : in.size() * 1040;
    guess = std::max<size_t>(1, std::min({guess, ratio_bound, kMaxInflatedBytes}));
    std::vector<uint8_t> out(guess);
    size_t in_pos = 0;
    size_t out_pos = 0;
    for (;;) {
        if (out_pos == out.size()) {
            if (out.size() >= kMaxInflatedBytes)
                throw DataError(Error(ErrorCode::GzipTooLarge, {{"file", name}, {"max_mib", std::to_string(kMaxInflatedBytes >> 20)}}));
            out.resize(std::min(kMaxInflatedBytes, out.size() * 2));
        }
        // zlib's avail fields are uInt; feed it at most 1 GiB per call.
        const size_t in_chunk = std::min<size_t>(in.size() - in_pos, 1u << 30);
        const size_t out_chunk = std::min<size_t>(out.size() - out_pos, 1u << 30);
        zs.next_in = const_cast<Bytef*>(in.data() + in_pos);
        zs.avail_in = uInt(in_chunk);
        zs.next_out = out.data() + out_pos;
        zs.avail_out = uInt(out_chunk);
        const int rc = inflate(&zs, Z_NO_FLUSH);
        in_pos += in_chunk - zs.avail_in;
        out_pos += out_chunk - zs.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_OK)
            continue;
        if (rc == Z_BUF_ERROR && zs.avail_out == 0)
            continue; // no output room: the loop grows the buffer
        if (rc == Z_BUF_ERROR) // output room but no progress: the input ran out
            throw DataError(Error(ErrorCode::GzipEndsEarly, {{"file", name}, {"bytes", std::to_string(in.size())}}));
        std::string why = zs.msg ? zs.msg : ("zlib error " + std::to_string(rc));
        if (rc == Z_MEM_ERROR)
            why = "out of memory";
        throw DataError(Error(ErrorCode::GzipCorrupt, {{"file", name}, {"why", why}}));
    }
    // A second gzip member is not expected in IDX files; whatever follows the first
    // member is reported rather than silently dropped.
    if (in_pos != in.size())
        throw DataError(Error(ErrorCode::GzipTrailing, {{"file", name}, {"bytes", std::to_string(in.size() - in_pos)}}));
    out.resize(out_pos);
    if (out.capacity() > out_pos + out_pos / 4)
        out.shrink_to_fit();
    return out;
}

// Checks the header against the byte count; fills dims and returns the header length.
size_t check_idx(const std::vector<uint8_t>& b, const std::string& name,
                 std::vector<int64_t>& dims)
{
    if (b.size() < 4)
        throw DataError(Error(ErrorCode::IdxTooShort, {{"file", name}, {"bytes", std::to_string(b.size())}}));
    if (b[0] != 0 || b[1] != 0)
        throw DataError(Error(ErrorCode::IdxBadMagic, {{"file", name}, {"b0", hex_byte(b[0])}, {"b1", hex_byte(b[1])}}));
    if (b[2] != 0x08)
        throw DataError(Error(ErrorCode::IdxBadType, {{"file", name}, {"type", hex_byte(b[2])}}));
    const int ndims = b[3];
    if (ndims < 1 || ndims > 4)
        throw DataError(Error(ErrorCode::IdxBadDimCount, {{"file", name}, {"dims", std::to_string(ndims)}}));
    const size_t header = 4 + size_t(4) * ndims;
    if (b.size() < header)
        throw DataError(Error(ErrorCode::IdxHeaderTruncated, {{"file", name},
                                                          {"dims", std::to_string(ndims)},
                                                          {"need", std::to_string(header)},
                                                          {"have", std::to_string(b.size())}}));

    dims.clear();
    int64_t total = 1;
    for (int i = 0; i < ndims; ++i) {
        const uint8_t* p = b.data() + 4 + 4 * i;
        const uint32_t u = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
                           (uint32_t(p[2]) << 8) | uint32_t(p[3]);
        const int64_t d = int32_t(u);
        if (d <= 0)
            throw DataError(Error(ErrorCode::IdxBadDim, {{"file", name}, {"index", std::to_string(i)}, {"value", std::to_string(d)}}));
        // d < 2^31 and total <= 2^31, so the product fits in int64 before the check.
        total *= d;
        if (total > kMaxElements)
            throw DataError(Error(ErrorCode::IdxTooManyElements, {{"file", name}, {"max", std::to_string(kMaxElements)}}));
        dims.push_back(d);
    }

    const size_t have = b.size() - header;
    const size_t want = size_t(total);
    if (have < want)
        throw DataError(Error(ErrorCode::IdxTruncated, {{"file", name}, {"want", std::to_string(want)}, {"have", std::to_string(have)}}));
    if (have > want)
        throw DataError(Error(ErrorCode::IdxTrailing, {{"file", name}, {"bytes", std::to_string(have - want)}}));
    return header;
}

} // namespace

IdxArray parse_idx(const std::vector<uint8_t>& file_bytes, const std::string& name)
{
    IdxArray a;
    if (is_gzip(file_bytes)) {
        // Own the inflated buffer: drop the header in place instead of copying the data.
        std::vector<uint8_t> raw = gunzip(file_bytes, name);
        const size_t header = check_idx(raw, name, a.dims);
        raw.erase(raw.begin(), raw.begin() + std::ptrdiff_t(header));
        a.data = std::move(raw);
    } else {
        const size_t header = check_idx(file_bytes, name, a.dims);
        a.data.assign(file_bytes.begin() + std::ptrdiff_t(header), file_bytes.end());
    }
    return a;
}

IdxArray read_idx(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw DataError(Error(ErrorCode::DataCannotOpen, {{"file", path}, {"why", std::strerror(errno)}}));
    const FdCloser closer{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0)
        throw DataError(Error(ErrorCode::DataCannotStat, {{"file", path}, {"why", std::strerror(errno)}}));
    if (S_ISDIR(st.st_mode))
        throw DataError(Error(ErrorCode::DataIsDirectory, {{"file", path}}));
    if (!S_ISREG(st.st_mode))
        throw DataError(Error(ErrorCode::DataNotRegular, {{"file", path}}));
    if (st.st_size > off_t(kMaxFileBytes))
        throw DataError(Error(ErrorCode::DataTooLarge, {{"file", path},
                                                    {"size_mib", std::to_string(st.st_size >> 20)},
                                                    {"max_mib", std::to_string(kMaxFileBytes >> 20)}}));
    std::vector<uint8_t> bytes(size_t(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw DataError(Error(ErrorCode::DataReadError, {{"file", path}, {"why", std::strerror(errno)}}));
        if (n == 0) // the file shrank under us
            break;
        got += size_t(n);
    }
    bytes.resize(got);
    return parse_idx(bytes, path);
}

} // namespace gpulab
