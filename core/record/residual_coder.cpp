// The snapshot residual coder (residual_coder.h): LZMA's binary range coder with 11-bit
// adaptive probabilities. A value's bit length k (0..32) is coded as a 6-bit tree in the
// context (hint, previous value's length / 4); then, below its leading one, the highest two
// bits in the context of k. The remaining k - 3 bits are noise: they go plain, packed after
// the range coder's bytes (u32 length of those, the range coder's bytes, the plain bits).
#include "record/residual_coder.h"

#include <bit>
#include <cstring>
#include <vector>

namespace gpulab {

namespace {

constexpr int kProbBits = 11;
constexpr uint16_t kProbInit = 1 << (kProbBits - 1);
constexpr int kMoveBits = 5;
constexpr uint32_t kTop = 1u << 24;
constexpr int kNeighbours = 9; // previous value's length / 4: 0..8
constexpr int kModelledBits = 2;

int bit_length(uint32_t z) { return z ? 32 - std::countl_zero(z) : 0; }

// The adaptive probabilities (of a 0) of every context.
struct Model {
    std::vector<uint16_t> length = std::vector<uint16_t>(size_t(kResidualHints) * kNeighbours * 64, kProbInit);
    std::vector<uint16_t> high = std::vector<uint16_t>(33 * 4, kProbInit);
    uint16_t* length_tree(uint8_t hint, int previous)
    {
        return length.data() + (size_t(hint) * kNeighbours + size_t(previous >> 2)) * 64;
    }
};

struct Encoder {
    std::string out;
    uint64_t low = 0;
    uint32_t range = 0xFFFFFFFFu;
    uint8_t cache = 0;
    uint64_t cache_size = 1;

    void shift_low()
    {
        if (static_cast<uint32_t>(low) < 0xFF000000u || (low >> 32) != 0) {
            const uint8_t carry = static_cast<uint8_t>(low >> 32);
            uint8_t temp = cache;
            do {
                out.push_back(static_cast<char>(static_cast<uint8_t>(temp + carry)));
                temp = 0xFF;
            } while (--cache_size != 0);
            cache = static_cast<uint8_t>(low >> 24);
        }
        ++cache_size;
        low = (low & 0x00FFFFFFu) << 8;
    }
    void bit(uint16_t& p, uint32_t b)
    {
        const uint32_t bound = (range >> kProbBits) * p;
        if (b == 0) {
            range = bound;
            p = static_cast<uint16_t>(p + (((1u << kProbBits) - p) >> kMoveBits));
        } else {
            low += bound;
            range -= bound;
            p = static_cast<uint16_t>(p - (p >> kMoveBits));
        }
        while (range < kTop) {
            range <<= 8;
            shift_low();
        }
    }
    void finish()
    {
        for (int i = 0; i < 5; ++i)
            shift_low();
    }
};

// Plain bits, least significant first.
struct BitWriter {
    std::string out;
    uint64_t acc = 0;
    int fill = 0;
    void put(uint32_t v, int bits) // bits <= 32
    {
        acc |= uint64_t(v) << fill;
        fill += bits;
        while (fill >= 8) {
            out.push_back(static_cast<char>(static_cast<uint8_t>(acc)));
            acc >>= 8;
            fill -= 8;
        }
    }
    void finish()
    {
        if (fill > 0)
            out.push_back(static_cast<char>(static_cast<uint8_t>(acc)));
    }
};

struct BitReader {
    const uint8_t* p;
    const uint8_t* end;
    uint64_t acc = 0;
    int fill = 0;
    bool ok = true;
    uint32_t get(int bits) // bits <= 32
    {
        while (fill < bits) {
            if (p == end) {
                ok = false;
                return 0;
            }
            acc |= uint64_t(*p++) << fill;
            fill += 8;
        }
        const uint32_t v = static_cast<uint32_t>(acc & ((uint64_t(1) << bits) - 1));
        acc >>= bits;
        fill -= bits;
        return v;
    }
};

struct Decoder {
    const uint8_t* p;
    const uint8_t* end;
    uint32_t range = 0xFFFFFFFFu;
    uint32_t code = 0;
    bool ok = true;

    uint8_t next()
    {
        if (p == end) {
            ok = false; // the coding runs past its bytes
            return 0;
        }
        return *p++;
    }
    bool start()
    {
        if (next() != 0) // the encoder's first byte is always 0
            return false;
        for (int i = 0; i < 4; ++i)
            code = code << 8 | next();
        return ok;
    }
    void normalize()
    {
        while (range < kTop) {
            range <<= 8;
            code = code << 8 | next();
        }
    }
    uint32_t bit(uint16_t& prob)
    {
        const uint32_t bound = (range >> kProbBits) * prob;
        uint32_t b;
        if (code < bound) {
            range = bound;
            prob = static_cast<uint16_t>(prob + (((1u << kProbBits) - prob) >> kMoveBits));
            b = 0;
        } else {
            code -= bound;
            range -= bound;
            prob = static_cast<uint16_t>(prob - (prob >> kMoveBits));
            b = 1;
        }
        normalize();
        return b;
    }
};

} // namespace

std::string encode_residuals(const uint32_t* z, const uint8_t* hint, size_t n)
{
    Model m;
    Encoder e;
    BitWriter plain;
    e.out.reserve(n / 2 + 16);
    plain.out.reserve(n * 2);
    int previous = 0;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t v = z[i];
        const int k = bit_length(v);
        uint16_t* tree = m.length_tree(hint[i], previous);
        uint32_t node = 1;
        for (int b = 5; b >= 0; --b) {
            const uint32_t bit = (uint32_t(k) >> b) & 1u;
            e.bit(tree[node], bit);
            node = node << 1 | bit;
        }
        // below the leading one: k - 1 bits, the highest ones modelled
        int below = k - 1;
        uint32_t hnode = 1;
        for (int j = 0; j < kModelledBits && below > 0; ++j) {
            const uint32_t bit = (v >> --below) & 1u;
            e.bit(m.high[size_t(k) * 4 + hnode], bit);
            hnode = hnode << 1 | bit;
        }
        if (below > 0)
            plain.put(v & ((uint32_t(1) << below) - 1u), below);
        previous = k;
    }
    e.finish();
    plain.finish();
    std::string out(4, '\0');
    const uint32_t coded = static_cast<uint32_t>(e.out.size());
    std::memcpy(out.data(), &coded, 4);
    out += e.out;
    out += plain.out;
    return out;
}

uint64_t max_residuals_in(uint64_t bytes)
{
    // each value codes six decisions of probability at most 2017/2048: >= 0.132 bit, so
    // n values need at least n / 61 bytes
    return 64 * bytes + 64;
}

bool decode_residuals(const uint8_t* p, size_t len, const uint8_t* hint, size_t n, uint32_t* z)
{
    uint32_t coded = 0;
    if (len < 4)
        return false;
    std::memcpy(&coded, p, 4);
    if (coded > len - 4)
        return false;
    Model m;
    Decoder d{p + 4, p + 4 + coded};
    BitReader plain{p + 4 + coded, p + len};
    if (!d.start())
        return false;
    int previous = 0;
    for (size_t i = 0; i < n; ++i) {
        if (hint[i] >= kResidualHints)
            return false;
        uint16_t* tree = m.length_tree(hint[i], previous);
        uint32_t node = 1;
        for (int b = 0; b < 6; ++b)
            node = node << 1 | d.bit(tree[node]);
        const int k = static_cast<int>(node - 64);
        if (k > 32 || !d.ok)
            return false;
        uint32_t v = k > 0 ? 1u : 0u;
        int below = k - 1;
        uint32_t hnode = 1;
        for (int j = 0; j < kModelledBits && below > 0; ++j, --below) {
            const uint32_t bit = d.bit(m.high[size_t(k) * 4 + hnode]);
            hnode = hnode << 1 | bit;
            v = v << 1 | bit;
        }
        if (below > 0)
            v = v << below | plain.get(below);
        if (!d.ok || !plain.ok)
            return false;
        z[i] = v;
        previous = k;
    }
    return true;
}

} // namespace gpulab
