// Run recordings (recording.h): the writer streams records through zlib with a sync flush
// whenever asked, so the file on disk always ends on a readable boundary; the reader
// inflates in bounded chunks, checks every record's CRC before using it, and never sizes a
// buffer from a length read in the file (buffers grow only with the bytes that arrive).
#include "record/recording.h"

#include "record/residual_coder.h"

#include "trace/event_columns.h"
#include "train/settings.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <bit>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GPULAB_VERSION
#define GPULAB_VERSION "unknown"
#endif

namespace gpulab {

namespace {

constexpr char kMagic[8] = {'G', 'P', 'U', 'L', 'A', 'B', 'R', 'C'};
constexpr size_t kFileHeader = 16;
enum RecordType : uint8_t { kHeader = 1, kEvent = 2, kSnapshot = 3, kEnd = 4 };
constexpr int kLevel = 6;                     // zlib's level for the events
constexpr size_t kStoreSnapshotBytes = 4096;  // a snapshot record this large goes stored

// Event kinds by their number in the format: fixed, whatever order EventKind has.
constexpr EventKind kKinds[] = {
    EventKind::RunBegin,      EventKind::RunEnd,   EventKind::Push,          EventKind::Op,
    EventKind::MemAlloc,      EventKind::MemFree,  EventKind::MemOom,        EventKind::AllreduceStep,
    EventKind::MinibatchLoss, EventKind::EpochEnd, EventKind::Error,         EventKind::Snapshot,
    EventKind::Log,
};

uint8_t kind_number(EventKind k)
{
    for (size_t i = 0; i < std::size(kKinds); ++i)
        if (kKinds[i] == k)
            return static_cast<uint8_t>(i);
    return 255;
}

uint32_t crc(const void* p, size_t n, uint32_t c = 0)
{
    return static_cast<uint32_t>(crc32(c, static_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

// ---- encoding ----
struct Out {
    std::string b;
    void u8(uint8_t v) { b.push_back(static_cast<char>(v)); }
    void u16(uint16_t v) { raw(&v, 2); }
    void u32(uint32_t v) { raw(&v, 4); }
    void i32(int32_t v) { raw(&v, 4); }
    void i64(int64_t v) { raw(&v, 8); }
    void f64(double v) { raw(&v, 8); }
    void f32(float v) { raw(&v, 4); }
    void str(const std::string& s)
    {
        u32(static_cast<uint32_t>(s.size()));
        b += s;
    }
    void error(const Error& e)
    {
        str(e ? error_code_name(e.code) : "");
        u32(static_cast<uint32_t>(e.facts.size()));
        for (const auto& [k, v] : e.facts) {
            str(k);
            str(v);
        }
    }
    // little-endian hosts only (x86-64, aarch64): the format is little-endian
    void raw(const void* p, size_t n) { b.append(static_cast<const char*>(p), n); }
};
static_assert(std::endian::native == std::endian::little, "recordings are little-endian");

// ---- decoding: every read is checked against what is left ----
struct Malformed {};

struct In {
    const uint8_t* p;
    size_t n;
    size_t at = 0;
    void need(size_t k)
    {
        if (k > n - at)
            throw Malformed{};
    }
    template <class T>
    T get()
    {
        need(sizeof(T));
        T v;
        std::memcpy(&v, p + at, sizeof(T));
        at += sizeof(T);
        return v;
    }
    uint8_t u8() { return get<uint8_t>(); }
    uint32_t u32() { return get<uint32_t>(); }
    int32_t i32() { return get<int32_t>(); }
    int64_t i64() { return get<int64_t>(); }
    double f64() { return get<double>(); }
    std::string str()
    {
        const uint32_t len = u32();
        need(len); // the length is checked against the bytes present before anything is made
        std::string s(reinterpret_cast<const char*>(p + at), len);
        at += len;
        return s;
    }
    Error error()
    {
        Error e;
        const std::string code = str();
        const uint32_t count = u32();
        for (uint32_t i = 0; i < count; ++i) {
            std::string k = str();
            std::string v = str();
            e.facts.emplace_back(std::move(k), std::move(v));
        }
        if (!code.empty()) {
            e.code = error_code_from_name(code);
            if (e.code == ErrorCode::None) // a code from a newer gpulab: keep its words
                e = other_error(code);
        }
        return e;
    }
    bool done() const { return at == n; }
};

std::string header_payload(const RecordingHeader& h)
{
    std::string devices;
    for (size_t i = 0; i < h.devices.size(); ++i)
        devices += (i ? "\n" : "") + h.devices[i];
    const std::pair<const char*, std::string> fields[] = {
        {"program", h.program}, {"gpulab_version", h.gpulab_version}, {"settings", h.settings},
        {"machine", h.machine}, {"cpu", h.cpu},                       {"devices", devices},
        {"date", h.date},
    };
    Out o;
    o.u32(static_cast<uint32_t>(std::size(fields)));
    for (const auto& [k, v] : fields) {
        o.str(k);
        o.str(v);
    }
    return o.b;
}

template <class... F>
struct Overload : F... {
    using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>; // clang 14 does not deduce it for an aggregate

// Version 3 (and 2, which lacked the fields added since): the kind, the common fields, then
// the kind's own fields in the order of its struct in trace/event.h.
std::string event_payload(const Event& e, int snapshot)
{
    Out o;
    o.u8(kind_number(e.kind()));
    o.f64(e.t_us);
    o.i32(e.device);
    std::visit(Overload{
                   [&](const ev::RunBegin& x) {
                       o.str(x.settings);
                       o.i32(x.devices);
                       o.i32(x.world);
                       o.u32(static_cast<uint32_t>(x.device_ranks.size()));
                       for (int r : x.device_ranks)
                           o.i32(r);
                   },
                   [&](const ev::RunEnd& x) {
                       o.str(x.status);
                       o.str(x.message);
                       o.error(x.error);
                   },
                   [&](const ev::Push& x) { o.str(x.op); },
                   [&](const ev::Op& x) {
                       o.str(x.op);
                       o.f64(x.t_end_us);
                   },
                   [&](const ev::MemAlloc& x) {
                       o.i64(x.bytes);
                       o.i64(x.in_use);
                       o.i64(x.reserved);
                   },
                   [&](const ev::MemFree& x) {
                       o.i64(x.bytes);
                       o.i64(x.in_use);
                       o.i64(x.reserved);
                   },
                   [&](const ev::MemOom& x) {
                       o.i64(x.bytes);
                       o.i64(x.in_use);
                   },
                   [&](const ev::AllreduceStep& x) {
                       o.f64(x.t_end_us);
                       for (int v : {x.epoch, x.batch, x.step, x.steps, x.src, x.dst, x.chunk})
                           o.i32(v);
                       o.i64(x.bytes);
                       o.str(x.phase);
                       o.u8(x.modelled ? 1 : 0);
                       o.i64(x.charged_bytes);
                       o.u8(static_cast<uint8_t>(x.stage));
                   },
                   [&](const ev::MinibatchLoss& x) {
                       o.i32(x.epoch);
                       o.i32(x.batch);
                       o.i32(x.batches_in_epoch);
                       o.i64(x.images);
                       o.f64(x.loss);
                   },
                   [&](const ev::EpochEnd& x) {
                       o.i32(x.epoch);
                       o.f64(x.train_loss);
                       o.f64(x.test_accuracy);
                       o.f64(x.seconds);
                       o.i64(x.images);
                   },
                   [&](const ev::Error& x) {
                       o.str(x.message);
                       o.error(x.error);
                   },
                   [&](const ev::Snapshot& x) {
                       o.i32(snapshot); // the recording's own index of the snapshot record
                       o.u8(static_cast<uint8_t>(x.what));
                       o.i32(x.epoch);
                       o.i32(x.batch);
                       o.str(x.tensor);
                   },
                   [&](const ev::Log& x) { o.str(x.text); },
               },
               e.data);
    return o.b;
}

uint32_t zigzag(uint32_t r) { return (r << 1) ^ static_cast<uint32_t>(static_cast<int32_t>(r) >> 31); }
uint32_t unzigzag(uint32_t z) { return (z >> 1) ^ (0u - (z & 1u)); }

// A snapshot's floats as 32-bit patterns, all its vectors one after the other.
size_t float_count(const Snapshot& s)
{
    size_t n = 0;
    for (const auto& v : s.values)
        n += v.size();
    return n;
}

bool same_bits(const Snapshot& a, const Snapshot& b)
{
    for (size_t i = 0; i < a.values.size(); ++i)
        if (std::memcmp(a.values[i].data(), b.values[i].data(), a.values[i].size() * sizeof(float)) != 0)
            return false;
    return true;
}

bool same_shape(const Snapshot& a, const Snapshot& b)
{
    if (a.what != b.what || a.tensor != b.tensor || a.names != b.names || a.values.size() != b.values.size())
        return false;
    for (size_t i = 0; i < a.values.size(); ++i)
        if (a.values[i].size() != b.values[i].size())
            return false;
    return true;
}

// The prediction of a snapshot's float bit patterns from its references (recording.h):
// none: 0; one: its bits; two (r1 newer): 2 * r1 - r2, modulo 2^32 (a straight line).
void predict(const Snapshot* r1, const Snapshot* r2, std::vector<uint32_t>& out)
{
    size_t at = 0;
    for (size_t i = 0; r1 && i < r1->values.size(); ++i)
        for (size_t k = 0; k < r1->values[i].size(); ++k, ++at) {
            const uint32_t a = std::bit_cast<uint32_t>(r1->values[i][k]);
            const uint32_t b = r2 ? std::bit_cast<uint32_t>(r2->values[i][k]) : a;
            out[at] = 2 * a - b;
        }
    if (!r1)
        std::fill(out.begin(), out.end(), 0u);
}

} // namespace

// What the writer remembers of the snapshots of one (what, tensor) to predict the next:
// the latest distinct values and the ones before them, with their indexes in the file.
struct RecordingWriter::SnapshotRefs {
    struct Ref {
        std::shared_ptr<const Snapshot> s;
        int index = -1;
    };
    std::map<std::pair<int, std::string>, std::pair<Ref, Ref>> latest; // (newest, older)
};

namespace {

// The hint the residual coder gets for each float (residual_coder.h): with two references,
// the bit length of how much that float's bits moved between them; else kHintNoLine.
void residual_hints(const Snapshot* r1, const Snapshot* r2, std::vector<uint8_t>& out)
{
    if (!r1 || !r2) {
        std::fill(out.begin(), out.end(), kHintNoLine);
        return;
    }
    size_t at = 0;
    for (size_t i = 0; i < r1->values.size(); ++i)
        for (size_t k = 0; k < r1->values[i].size(); ++k, ++at) {
            const uint32_t d = std::bit_cast<uint32_t>(r1->values[i][k]) - std::bit_cast<uint32_t>(r2->values[i][k]);
            const uint32_t z = zigzag(d);
            out[at] = static_cast<uint8_t>(z ? 32 - std::countl_zero(z) : 0);
        }
}

std::string snapshot_payload(const Snapshot& s, int ref1, const Snapshot* r1, int ref2, const Snapshot* r2)
{
    Out o;
    o.u8(static_cast<uint8_t>(s.what));
    o.i32(s.epoch);
    o.i32(s.batch);
    o.i32(s.device);
    o.str(s.tensor);
    o.u32(static_cast<uint32_t>(s.names.size()));
    for (const auto& n : s.names)
        o.str(n);
    o.u32(static_cast<uint32_t>(s.values.size()));
    for (const auto& v : s.values)
        o.u32(static_cast<uint32_t>(v.size()));
    o.i32(ref1);
    o.i32(ref2);
    // residuals against the prediction, zigzagged (small either way = small number), then
    // entropy coded (residual_coder.h)
    const size_t n = float_count(s);
    std::vector<uint32_t> z(n);
    predict(r1, r2, z);
    size_t at = 0;
    for (const auto& v : s.values)
        for (float f : v) {
            z[at] = zigzag(std::bit_cast<uint32_t>(f) - z[at]);
            ++at;
        }
    std::vector<uint8_t> hints(n);
    residual_hints(r1, r2, hints);
    o.b += encode_residuals(z.data(), hints.data(), n);
    return o.b;
}

std::string first_line_of(const char* path, const char* key)
{
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(key, 0) == 0) {
            const size_t colon = line.find(':');
            if (colon != std::string::npos) {
                size_t i = colon + 1;
                while (i < line.size() && line[i] == ' ')
                    ++i;
                return line.substr(i);
            }
        }
    return {};
}

} // namespace

RecordingHeader RecordingHeader::for_run(const TrainConfig& c, const std::string& program,
                                         const std::vector<std::string>& devices)
{
    RecordingHeader h;
    h.program = program;
    h.gpulab_version = GPULAB_VERSION;
    h.settings = settings_to_text(c);
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0)
        h.machine = host;
    h.cpu = first_line_of("/proc/cpuinfo", "model name");
    h.devices = devices;
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    h.date = date;
    return h;
}

// ---- writer ----------------------------------------------------------------------------

struct RecordingWriter::Z {
    z_stream zs{};
    bool live = false;
    ~Z()
    {
        if (live)
            deflateEnd(&zs);
    }
};

RecordingWriter::RecordingWriter(const std::string& path, const RecordingHeader& h)
    : m_path(path), m_z(std::make_unique<Z>()), m_refs(std::make_unique<SnapshotRefs>())
{
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw GpulabError(Error(ErrorCode::RecordingCannotWrite, {{"file", path}, {"why", "it is a directory"}}));
    m_file = std::fopen(path.c_str(), "wb");
    if (!m_file)
        throw GpulabError(Error(ErrorCode::RecordingCannotWrite, {{"file", path}, {"why", std::strerror(errno)}}));
    start(h);
}

RecordingWriter::RecordingWriter(std::FILE* stream, const std::string& name, const RecordingHeader& h)
    : m_path(name), m_file(stream), m_z(std::make_unique<Z>()), m_refs(std::make_unique<SnapshotRefs>())
{
    if (!m_file)
        throw GpulabError(Error(ErrorCode::RecordingCannotWrite, {{"file", name}, {"why", "no stream"}}));
    start(h);
}

void RecordingWriter::start(const RecordingHeader& h)
{
    const std::string& path = m_path;
    if (deflateInit(&m_z->zs, kLevel) != Z_OK) {
        std::fclose(m_file);
        m_file = nullptr;
        throw GpulabError(Error(ErrorCode::RecordingCannotWrite, {{"file", path}, {"why", "zlib could not start"}}));
    }
    m_z->live = true;
    uint8_t head[kFileHeader];
    std::memcpy(head, kMagic, 8);
    const uint32_t version = kRecordingFormat;
    std::memcpy(head + 8, &version, 4);
    const uint32_t c = crc(head, 12);
    std::memcpy(head + 12, &c, 4);
    if (std::fwrite(head, 1, kFileHeader, m_file) != kFileHeader || std::fflush(m_file) != 0) {
        const std::string why = std::strerror(errno);
        std::fclose(m_file);
        m_file = nullptr;
        throw GpulabError(Error(ErrorCode::RecordingCannotWrite, {{"file", path}, {"why", why}}));
    }
    m_file_bytes = kFileHeader;
    record(kHeader, header_payload(h));
    flush();
}

RecordingWriter::~RecordingWriter()
{
    // Not finished: leave what was written readable (as incomplete), like a crash would.
    if (m_file) {
        if (!m_finished)
            flush();
        std::fclose(m_file);
    }
}

void RecordingWriter::record(uint8_t type, const std::string& payload)
{
    Out o;
    o.u8(type);
    o.u32(static_cast<uint32_t>(payload.size()));
    o.u16(static_cast<uint16_t>(crc(o.b.data(), 5)));
    uint32_t c = crc(o.b.data(), 5);
    c = crc(payload.data(), payload.size(), c);
    m_pending += o.b;
    m_pending += payload;
    m_pending.append(reinterpret_cast<const char*>(&c), 4);
    if (m_pending.size() >= (1u << 20))
        deflate_out(Z_NO_FLUSH);
}

void RecordingWriter::add(const Event& e, const Snapshot* snapshot)
{
    if (m_finished || !m_file)
        return;
    int index = -1;
    if (e.is<ev::Snapshot>() && snapshot) {
        // Predicted from the latest distinct snapshot of the same kind and tensor and the one
        // before it (a straight line through them), whichever device took them: the devices
        // of a synchronous run hold the same parameters, so device 1's snapshot is device 0's
        // again and costs nothing.
        auto& [newest, older] = m_refs->latest[{static_cast<int>(snapshot->what), snapshot->tensor}];
        const bool fits = newest.s && same_shape(*newest.s, *snapshot);
        const bool again = fits && same_bits(*newest.s, *snapshot);
        const bool line = fits && !again && older.s && same_shape(*older.s, *snapshot);
        // The coded residuals are noise to zlib: they are stored, not compressed again (which
        // took a third of the writer's time and gained nothing).
        const std::string payload = snapshot_payload(*snapshot, fits ? newest.index : -1, fits ? newest.s.get() : nullptr,
                                                     line ? older.index : -1, line ? older.s.get() : nullptr);
        const bool store = payload.size() >= kStoreSnapshotBytes;
        if (store) {
            deflate_out(Z_NO_FLUSH);
            set_level(0);
        }
        record(kSnapshot, payload);
        if (store) {
            deflate_out(Z_NO_FLUSH);
            set_level(kLevel);
        }
        index = m_snapshots++;
        if (!again) {
            older = std::move(newest);
            newest = {std::make_shared<const Snapshot>(*snapshot), index};
        }
    }
    record(kEvent, event_payload(e, index));
}

void RecordingWriter::deflate_out(int flush)
{
    if (!m_file)
        return;
    z_stream& zs = m_z->zs;
    zs.next_in = reinterpret_cast<Bytef*>(m_pending.data());
    zs.avail_in = static_cast<uInt>(m_pending.size());
    unsigned char buf[1 << 16];
    int rc = Z_OK;
    do {
        zs.next_out = buf;
        zs.avail_out = sizeof buf;
        rc = deflate(&zs, flush);
        const size_t have = sizeof buf - zs.avail_out;
        if (have > 0 && std::fwrite(buf, 1, have, m_file) != have && m_error.empty())
            m_error = std::strerror(errno);
        m_file_bytes += have;
    } while (zs.avail_out == 0 || (flush == Z_FINISH && rc == Z_OK));
    m_pending.clear();
}

// zlib's level from here on: what was given to zlib before is compressed at the old level
// first (deflateParams ends a block), into the file.
void RecordingWriter::set_level(int level)
{
    if (!m_file)
        return;
    z_stream& zs = m_z->zs;
    zs.next_in = nullptr;
    zs.avail_in = 0;
    unsigned char buf[1 << 16];
    int rc = Z_OK;
    do { // Z_BUF_ERROR: the old level's output did not fit; the level is not changed yet
        zs.next_out = buf;
        zs.avail_out = sizeof buf;
        rc = deflateParams(&zs, level, Z_DEFAULT_STRATEGY);
        const size_t have = sizeof buf - zs.avail_out;
        if (have > 0 && std::fwrite(buf, 1, have, m_file) != have && m_error.empty())
            m_error = std::strerror(errno);
        m_file_bytes += have;
    } while (rc == Z_BUF_ERROR && zs.avail_out == 0);
    if (rc != Z_OK && m_error.empty())
        m_error = "zlib could not change its level";
}

void RecordingWriter::flush()
{
    if (m_finished || !m_file)
        return;
    deflate_out(Z_SYNC_FLUSH);
    if (std::fflush(m_file) != 0 && m_error.empty())
        m_error = std::strerror(errno);
}

void RecordingWriter::finish(RunStatus status, const Error& error)
{
    if (m_finished || !m_file)
        return;
    // The end record goes in a stored (uncompressed) last block: every byte at the file's
    // end is then the record itself (under its CRC) or the stream's checksum, so a flipped
    // bit there is always seen as damage, never mistaken for a stream that was cut short
    // (what a killed run leaves).
    deflate_out(Z_SYNC_FLUSH);
    set_level(0);
    Out o;
    o.str(run_status_name(status));
    o.error(error);
    record(kEnd, o.b);
    deflate_out(Z_FINISH);
    m_finished = true;
    if (std::fflush(m_file) != 0 && m_error.empty())
        m_error = std::strerror(errno);
    if (std::fclose(m_file) != 0 && m_error.empty())
        m_error = std::strerror(errno);
    m_file = nullptr;
}

// ---- reader ----------------------------------------------------------------------------

namespace {

class Reader {
public:
    explicit Reader(std::string name) : m_name(std::move(name))
    {
        if (inflateInit(&m_zs) != Z_OK)
            throw GpulabError(Error(ErrorCode::RecordingCannotOpen, {{"file", m_name}, {"why", "zlib could not start"}}));
    }
    ~Reader() { inflateEnd(&m_zs); }

    // The first bytes of the file (up to 16); throws for whatever is not our header.
    void file_header(const uint8_t* p, size_t n, uint64_t file_size)
    {
        if (file_size == 0)
            fail(ErrorCode::RecordingEmpty, {});
        const size_t m = std::min<size_t>(n, 8);
        if (std::memcmp(p, kMagic, m) != 0) {
            if (const char* kind = foreign(p, n))
                fail(ErrorCode::RecordingForeign, {{"kind", kind}});
            fail(ErrorCode::RecordingBadMagic, {});
        }
        if (n < kFileHeader)
            fail(ErrorCode::RecordingTruncatedHeader, {{"bytes", std::to_string(n)}});
        uint32_t version, check;
        std::memcpy(&version, p + 8, 4);
        std::memcpy(&check, p + 12, 4);
        if (crc(p, 12) != check)
            fail(ErrorCode::RecordingDamaged, {{"offset", "8"}});
        if (version > kRecordingFormat)
            fail(ErrorCode::RecordingNewerVersion,
                 {{"version", std::to_string(version)}, {"supported", std::to_string(kRecordingFormat)}});
        if (version == 0)
            fail(ErrorCode::RecordingDamaged, {{"offset", "8"}});
        m_rec.header.format = version;
    }

    // Compressed bytes, in order; file_offset = where they start in the file.
    void feed(const uint8_t* p, size_t n, uint64_t file_offset)
    {
        m_zs.next_in = const_cast<Bytef*>(p);
        m_zs.avail_in = static_cast<uInt>(n);
        while (m_zs.avail_in > 0) {
            if (m_ended)
                fail(ErrorCode::RecordingDamaged, {{"offset", std::to_string(file_offset + (n - m_zs.avail_in))}});
            unsigned char out[1 << 16];
            m_zs.next_out = out;
            m_zs.avail_out = sizeof out;
            const int rc = inflate(&m_zs, Z_NO_FLUSH);
            const size_t got = sizeof out - m_zs.avail_out;
            const uint64_t here = file_offset + (n - m_zs.avail_in);
            if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && got > 0))
                fail(ErrorCode::RecordingDamaged, {{"offset", std::to_string(here)}});
            m_total += got;
            if (m_total > kMaxRecordingBytes)
                fail(ErrorCode::RecordingTooLarge, {{"max_mib", std::to_string(kMaxRecordingBytes >> 20)}});
            m_buf.insert(m_buf.end(), out, out + got);
            records(here);
            if (rc == Z_STREAM_END)
                m_ended = true;
            if (rc == Z_BUF_ERROR)
                break;
        }
    }

    // What has been read so far (RecordingStreamReader).
    Recording& so_far() { return m_rec; }
    bool header_seen() const { return m_header_seen; }
    bool end_seen() const { return m_end_seen; }

    Recording finish()
    {
        // The stream was finished, yet a record is cut or the end record missing: damaged.
        if (m_ended && (!m_end_seen || !m_buf.empty()))
            fail(ErrorCode::RecordingDamaged, {{"offset", std::to_string(kFileHeader + m_zs.total_in)}});
        // The end record arrived but the stream does not end: the writer writes both in one
        // go (finish()), so the stream's last bytes were changed or cut, not a killed run's
        // prefix (which never holds the end record).
        if (m_end_seen && !m_ended)
            fail(ErrorCode::RecordingDamaged, {{"offset", std::to_string(kFileHeader + m_zs.total_in)}});
        if (!m_header_seen)
            fail(ErrorCode::RecordingTruncatedHeader, {{"bytes", std::to_string(kFileHeader + m_zs.total_in)}});
        // Not ended: the writer was stopped (crash, kill) and what it flushed is here.
        m_rec.complete = m_end_seen && m_ended;
        if (m_rec.header.format < 3)
            mark_modelled_steps();
        return std::move(m_rec);
    }

private:
    // Before version 3 a step did not say whether a link model timed it, but the settings
    // do: with a link every step of the in-process allreduce was modelled, charged at the
    // run's --link-params scale (as LinkClock::charged_bytes does).
    void mark_modelled_steps()
    {
        TrainConfig c;
        try {
            apply_settings_text(c, m_rec.header.settings);
        } catch (const GpulabError&) {
            return; // settings this gpulab does not know: leave the steps as read
        }
        if (c.link.none())
            return;
        const double scale = c.link_bytes_scale();
        for (Event& e : m_rec.events)
            if (auto* step = e.get<ev::AllreduceStep>(); step && step->phase != "nccl") {
                step->modelled = true;
                step->charged_bytes = scale == 1.0 ? step->bytes
                                                   : static_cast<int64_t>(std::llround(double(step->bytes) * scale));
            }
    }

    [[noreturn]] void fail(ErrorCode code, std::vector<std::pair<std::string, std::string>> facts)
    {
        facts.insert(facts.begin(), {"file", m_name});
        throw GpulabError(Error(code, std::move(facts)));
    }

    static const char* foreign(const uint8_t* p, size_t n)
    {
        if (n >= 4 && p[0] == 0x89 && p[1] == 'P' && p[2] == 'N' && p[3] == 'G')
            return "PNG";
        if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
            return "gzip";
        size_t i = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
            ++i;
        if (i < n && (p[i] == '{' || p[i] == '['))
            return "JSON";
        if (n >= 4 && p[0] == 'P' && p[1] == 'K' && p[2] == 3 && p[3] == 4)
            return "ZIP";
        return nullptr;
    }

    // Takes every whole record from the front of m_buf.
    void records(uint64_t here)
    {
        size_t at = 0;
        while (m_buf.size() - at >= 7) {
            const uint8_t* r = m_buf.data() + at;
            uint32_t len;
            uint16_t hcheck;
            std::memcpy(&len, r + 1, 4);
            std::memcpy(&hcheck, r + 5, 2);
            if (static_cast<uint16_t>(crc(r, 5)) != hcheck)
                fail(ErrorCode::RecordingDamaged, {{"offset", std::to_string(here)}});
            if (len > kMaxRecordBytes)
                fail(ErrorCode::RecordingBadRecord, {{"offset", std::to_string(here)},
                                                     {"size", std::to_string(len)},
                                                     {"max", std::to_string(kMaxRecordBytes)}});
            if (m_buf.size() - at < size_t(7) + len + 4)
                break; // the rest has not arrived (or never will: then the file is incomplete)
            uint32_t check;
            std::memcpy(&check, r + 7 + len, 4);
            uint32_t c = crc(r, 5);
            c = crc(r + 7, len, c);
            if (c != check)
                fail(ErrorCode::RecordingDamaged, {{"offset", std::to_string(here)}});
            try {
                one(r[0], r + 7, len);
            } catch (const Malformed&) {
                fail(ErrorCode::RecordingDamaged, {{"offset", std::to_string(here)}});
            }
            at += size_t(7) + len + 4;
        }
        m_buf.erase(m_buf.begin(), m_buf.begin() + static_cast<std::ptrdiff_t>(at));
    }

    void one(uint8_t type, const uint8_t* p, size_t n)
    {
        In in{p, n};
        if (m_end_seen)
            throw Malformed{}; // nothing follows the end
        if (!m_header_seen && type != kHeader)
            fail(ErrorCode::RecordingNoHeader, {});
        switch (type) {
        case kHeader: {
            if (m_header_seen)
                throw Malformed{};
            RecordingHeader& h = m_rec.header;
            const uint32_t count = in.u32();
            for (uint32_t i = 0; i < count; ++i) {
                const std::string k = in.str();
                std::string v = in.str();
                if (k == "program")
                    h.program = std::move(v);
                else if (k == "gpulab_version")
                    h.gpulab_version = std::move(v);
                else if (k == "settings")
                    h.settings = std::move(v);
                else if (k == "machine")
                    h.machine = std::move(v);
                else if (k == "cpu")
                    h.cpu = std::move(v);
                else if (k == "date")
                    h.date = std::move(v);
                else if (k == "devices") {
                    size_t start = 0;
                    while (!v.empty() && start <= v.size()) {
                        const size_t nl = v.find('\n', start);
                        h.devices.push_back(v.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
                        if (nl == std::string::npos)
                            break;
                        start = nl + 1;
                    }
                }
                // other keys: from a newer gpulab of the same format; ignored
            }
            m_header_seen = true;
            break;
        }
        case kEvent:
            m_rec.events.push_back(m_rec.header.format == 1 ? event_v1(in) : event_v2(in, m_rec.header.format));
            break;
        case kSnapshot:
            m_rec.snapshots.push_back(m_rec.header.format == 1 ? snapshot_v1(in) : snapshot_v2(in, m_rec.header.format));
            break;
        case kEnd:
            m_rec.status = in.str();
            m_rec.error = in.error();
            m_end_seen = true;
            break;
        default:
            throw Malformed{};
        }
        if (!in.done())
            throw Malformed{};
    }

    // An event's snapshot index names a snapshot read before it, or none (-1).
    int snapshot_index(int32_t i) const
    {
        if (i != -1 && (i < 0 || static_cast<size_t>(i) >= m_rec.snapshots.size()))
            throw Malformed{};
        return i;
    }

    static EventKind kind_of(uint8_t number)
    {
        if (number >= std::size(kKinds))
            throw Malformed{};
        return kKinds[number];
    }

    // Version 1: every event as the flat columns of trace/event_columns.h.
    Event event_v1(In& in) const
    {
        EventColumns c;
        const EventKind kind = kind_of(in.u8());
        c.t_us = in.f64();
        c.t_end_us = in.f64();
        c.device = in.i32();
        c.epoch = in.i32();
        c.batch = in.i32();
        c.step = in.i32();
        c.src = in.i32();
        c.dst = in.i32();
        c.chunk = in.i32();
        c.snapshot = snapshot_index(in.i32());
        c.bytes = in.i64();
        c.in_use = in.i64();
        c.value = in.f64();
        c.value2 = in.f64();
        c.value3 = in.f64();
        c.name = in.str();
        c.text = in.str();
        c.error = in.error();
        try {
            return event_from_columns(kind, c);
        } catch (const std::invalid_argument&) {
            throw Malformed{};
        }
    }

    // Versions 2 and 3: the kind's own fields (event_payload); version 2 lacks those added
    // in 3 (RunBegin: world, device ranks; AllreduceStep: modelled, charged bytes, stage),
    // which keep their defaults.
    Event event_v2(In& in, uint32_t format) const
    {
        const EventKind kind = kind_of(in.u8());
        Event e{.t_us = in.f64(), .device = in.i32()};
        switch (kind) {
        case EventKind::RunBegin: {
            ev::RunBegin x;
            x.settings = in.str();
            x.devices = in.i32();
            if (format >= 3) {
                x.world = in.i32();
                if (x.world < 1)
                    throw Malformed{};
                const uint32_t count = in.u32();
                if (count != 0 && (x.devices < 0 || count != static_cast<uint32_t>(x.devices)))
                    throw Malformed{}; // none, or one per device
                for (uint32_t i = 0; i < count; ++i) { // each read is checked: count <= bytes left
                    const int32_t r = in.i32();
                    if (r < 0 || r >= x.world)
                        throw Malformed{};
                    x.device_ranks.push_back(r);
                }
            }
            e.data = std::move(x);
            break;
        }
        case EventKind::RunEnd: {
            ev::RunEnd x;
            x.status = in.str();
            x.message = in.str();
            x.error = in.error();
            e.data = std::move(x);
            break;
        }
        case EventKind::Push: e.data = ev::Push{.op = in.str()}; break;
        case EventKind::Op: {
            ev::Op x;
            x.op = in.str();
            x.t_end_us = in.f64();
            e.data = std::move(x);
            break;
        }
        case EventKind::MemAlloc:
        case EventKind::MemFree: {
            const int64_t bytes = in.i64(), in_use = in.i64(), reserved = in.i64();
            if (kind == EventKind::MemAlloc)
                e.data = ev::MemAlloc{.bytes = bytes, .in_use = in_use, .reserved = reserved};
            else
                e.data = ev::MemFree{.bytes = bytes, .in_use = in_use, .reserved = reserved};
            break;
        }
        case EventKind::MemOom: {
            ev::MemOom x;
            x.bytes = in.i64();
            x.in_use = in.i64();
            e.data = x;
            break;
        }
        case EventKind::AllreduceStep: {
            ev::AllreduceStep x;
            x.t_end_us = in.f64();
            for (int* v : {&x.epoch, &x.batch, &x.step, &x.steps, &x.src, &x.dst, &x.chunk})
                *v = in.i32();
            x.bytes = in.i64();
            x.phase = in.str();
            if (format >= 3) {
                const uint8_t modelled = in.u8();
                x.charged_bytes = in.i64();
                const uint8_t stage = in.u8();
                if (modelled > 1 || stage > 1 || x.charged_bytes < 0)
                    throw Malformed{};
                x.modelled = modelled == 1;
                x.stage = static_cast<AllreduceStage>(stage);
            }
            e.data = std::move(x);
            break;
        }
        case EventKind::MinibatchLoss: {
            ev::MinibatchLoss x;
            x.epoch = in.i32();
            x.batch = in.i32();
            x.batches_in_epoch = in.i32();
            x.images = in.i64();
            x.loss = in.f64();
            e.data = x;
            break;
        }
        case EventKind::EpochEnd: {
            ev::EpochEnd x;
            x.epoch = in.i32();
            x.train_loss = in.f64();
            x.test_accuracy = in.f64();
            x.seconds = in.f64();
            x.images = in.i64();
            e.data = x;
            break;
        }
        case EventKind::Error: {
            ev::Error x;
            x.message = in.str();
            x.error = in.error();
            e.data = std::move(x);
            break;
        }
        case EventKind::Snapshot: {
            ev::Snapshot x;
            x.index = snapshot_index(in.i32());
            const uint8_t what = in.u8();
            if (what > 2)
                throw Malformed{};
            x.what = static_cast<SnapshotWhat>(what);
            x.epoch = in.i32();
            x.batch = in.i32();
            x.tensor = in.str();
            e.data = std::move(x);
            break;
        }
        case EventKind::Log: e.data = ev::Log{.text = in.str()}; break;
        }
        return e;
    }

    // The snapshot's fields before its values (both versions).
    static std::shared_ptr<Snapshot> snapshot_head(In& in)
    {
        auto s = std::make_shared<Snapshot>();
        const uint8_t what = in.u8();
        if (what > 2)
            throw Malformed{};
        s->what = static_cast<Snapshot::What>(what);
        s->epoch = in.i32();
        s->batch = in.i32();
        s->device = in.i32();
        s->tensor = in.str();
        const uint32_t names = in.u32();
        for (uint32_t i = 0; i < names; ++i)
            s->names.push_back(in.str()); // each read is checked, so names <= bytes left
        return s;
    }

    // Version 1: the values as raw float32.
    std::shared_ptr<const Snapshot> snapshot_v1(In& in) const
    {
        auto s = snapshot_head(in);
        const uint32_t values = in.u32();
        for (uint32_t i = 0; i < values; ++i) {
            const uint32_t count = in.u32();
            in.need(size_t(count) * sizeof(float)); // before the vector is made
            std::vector<float> v(count);
            std::memcpy(v.data(), in.p + in.at, size_t(count) * sizeof(float));
            in.at += size_t(count) * sizeof(float);
            s->values.push_back(std::move(v));
        }
        return s;
    }

    // Versions 2 to 4: the sizes, the references, then the residuals: as byte planes (2, 3)
    // or entropy coded (4).
    std::shared_ptr<const Snapshot> snapshot_v2(In& in, uint32_t format)
    {
        auto s = snapshot_head(in);
        const uint32_t values = in.u32();
        std::vector<uint32_t> sizes;
        uint64_t total = 0;
        for (uint32_t i = 0; i < values; ++i) { // each read is checked: values <= bytes left
            sizes.push_back(in.u32());
            total += sizes.back();
        }
        const int32_t ref1 = in.i32(), ref2 = in.i32();
        // before anything is sized by it: the floats fit in what the record holds
        const size_t left = in.n - in.at;
        if (format < 4 ? total > left / 4 : total > max_residuals_in(left))
            throw Malformed{};
        // and the values read so far stay under the recording's limit (a coded float may
        // take a fraction of a byte)
        m_values += 4 * total;
        if (m_values > kMaxRecordingBytes)
            fail(ErrorCode::RecordingTooLarge, {{"max_mib", std::to_string(kMaxRecordingBytes >> 20)}});
        // references: earlier snapshots of the same kind, tensor, names and sizes
        auto ref = [&](int32_t i) -> const Snapshot* {
            if (i == -1)
                return nullptr;
            if (i < 0 || static_cast<size_t>(i) >= m_rec.snapshots.size() || !m_rec.snapshots[size_t(i)])
                throw Malformed{};
            const Snapshot& r = *m_rec.snapshots[size_t(i)];
            if (r.what != s->what || r.tensor != s->tensor || r.names != s->names || r.values.size() != sizes.size())
                throw Malformed{};
            for (size_t k = 0; k < sizes.size(); ++k)
                if (r.values[k].size() != sizes[k])
                    throw Malformed{};
            return &r;
        };
        const Snapshot* r1 = ref(ref1);
        const Snapshot* r2 = ref(ref2);
        if (r2 && !r1)
            throw Malformed{};
        const size_t n = size_t(total);
        std::vector<uint32_t> pred(n);
        predict(r1, r2, pred);
        std::vector<uint32_t> z(n);
        if (format < 4) {
            in.need(4 * n);
            const uint8_t* planes = in.p + in.at;
            for (size_t at = 0; at < n; ++at)
                z[at] = uint32_t(planes[at]) | uint32_t(planes[n + at]) << 8 | uint32_t(planes[2 * n + at]) << 16 |
                        uint32_t(planes[3 * n + at]) << 24;
            in.at += 4 * n;
        } else {
            std::vector<uint8_t> hints(n);
            residual_hints(r1, r2, hints);
            if (!decode_residuals(in.p + in.at, left, hints.data(), n, z.data()))
                throw Malformed{};
            in.at = in.n; // the coding runs to the record's end
        }
        size_t at = 0;
        for (uint32_t size : sizes) {
            std::vector<float> v(size);
            for (float& f : v) {
                f = std::bit_cast<float>(pred[at] + unzigzag(z[at]));
                ++at;
            }
            s->values.push_back(std::move(v));
        }
        return s;
    }

    std::string m_name;
    z_stream m_zs{};
    std::vector<uint8_t> m_buf;
    uint64_t m_total = 0;
    uint64_t m_values = 0; // 4 x the floats of every snapshot read (versions 2 to 4)
    bool m_ended = false, m_header_seen = false, m_end_seen = false;
    Recording m_rec;
};

} // namespace

Recording parse_recording(const uint8_t* data, size_t size, const std::string& name, const ReadProgress& progress)
{
    Reader r(name);
    r.file_header(data, std::min<size_t>(size, kFileHeader), size);
    // fed in pieces, as read_recording does, so that both take the same paths
    for (size_t at = kFileHeader; at < size; at += 1 << 16) {
        const size_t n = std::min<size_t>(size - at, 1 << 16);
        r.feed(data + at, n, at);
        if (progress && !progress(at + n, size))
            throw ReadCancelled{};
    }
    return r.finish();
}

Recording read_recording(const std::string& path, const ReadProgress& progress)
{
    auto fail = [&](ErrorCode code, std::string why = {}) {
        std::vector<std::pair<std::string, std::string>> facts{{"file", path}};
        if (!why.empty())
            facts.emplace_back("why", why);
        throw GpulabError(Error(code, std::move(facts)));
    };
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0)
        fail(ErrorCode::RecordingCannotOpen, std::strerror(errno));
    if (S_ISDIR(st.st_mode))
        fail(ErrorCode::RecordingIsDirectory);
    if (!S_ISREG(st.st_mode))
        fail(ErrorCode::RecordingCannotOpen, "not a regular file");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        fail(ErrorCode::RecordingCannotOpen, std::strerror(errno));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f, std::fclose);
    Reader r(path);
    uint8_t head[kFileHeader];
    const size_t n = std::fread(head, 1, kFileHeader, f);
    r.file_header(head, n, static_cast<uint64_t>(st.st_size) > 0 ? std::max<uint64_t>(n, 1) : 0);
    std::vector<uint8_t> chunk(1 << 16);
    uint64_t at = kFileHeader;
    for (;;) {
        const size_t got = std::fread(chunk.data(), 1, chunk.size(), f);
        if (got == 0)
            break;
        r.feed(chunk.data(), got, at);
        at += got;
        if (progress && !progress(at, std::max<uint64_t>(at, static_cast<uint64_t>(st.st_size))))
            throw ReadCancelled{};
    }
    if (std::ferror(f))
        fail(ErrorCode::RecordingCannotOpen, std::strerror(errno));
    return r.finish();
}

// ---- a recording as its bytes arrive -------------------------------------------------------

struct RecordingStreamReader::Impl {
    explicit Impl(std::string name) : reader(std::move(name)) {}
    Reader reader;
    uint8_t head[kFileHeader] = {};
    size_t head_bytes = 0;
    uint64_t at = 0; // bytes fed so far
};

RecordingStreamReader::RecordingStreamReader(std::string name) : m(std::make_unique<Impl>(std::move(name))) {}
RecordingStreamReader::~RecordingStreamReader() = default;

void RecordingStreamReader::feed(const uint8_t* data, size_t size)
{
    if (m->head_bytes < kFileHeader) {
        const size_t k = std::min(size, kFileHeader - m->head_bytes);
        std::memcpy(m->head + m->head_bytes, data, k);
        m->head_bytes += k;
        data += k;
        size -= k;
        m->at += k;
        if (m->head_bytes < kFileHeader)
            return;
        m->reader.file_header(m->head, kFileHeader, kFileHeader);
    }
    if (size > 0) {
        m->reader.feed(data, size, m->at);
        m->at += size;
    }
}

bool RecordingStreamReader::has_header() const { return m->reader.header_seen(); }
const RecordingHeader& RecordingStreamReader::header() const { return m->reader.so_far().header; }

std::vector<Event> RecordingStreamReader::take_events()
{
    std::vector<Event> out;
    out.swap(m->reader.so_far().events);
    return out;
}

std::shared_ptr<const Snapshot> RecordingStreamReader::snapshot(int index) const
{
    const auto& s = m->reader.so_far().snapshots;
    return index >= 0 && static_cast<size_t>(index) < s.size() ? s[size_t(index)] : nullptr;
}

bool RecordingStreamReader::ended() const { return m->reader.end_seen(); }
const std::string& RecordingStreamReader::status() const { return m->reader.so_far().status; }
const Error& RecordingStreamReader::error() const { return m->reader.so_far().error; }

} // namespace gpulab
