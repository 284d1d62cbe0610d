// The entropy coder of a recording's snapshot residuals (format 4): an adaptive binary range
// coder (LZMA's) that codes each zigzagged residual as its bit length, modelled in a context,
// then the bits below its leading one (the highest two modelled, the rest stored plain).
// Float residuals are mostly noise in their low bits; what a model can win is the length,
// which follows the same value's change between the two earlier snapshots and the
// previous value's length. No Qt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpulab {

// What the coder knows of a value before coding it: the bit length (0..32) of the
// zigzagged difference between the same value's bits in the two snapshots it is predicted
// from (kHintNoLine: predicted from one or none).
constexpr uint8_t kHintNoLine = 33;
constexpr int kResidualHints = 34;

// Codes n zigzagged residuals; hint[i] in 0..kHintNoLine. Returns the coded bytes.
std::string encode_residuals(const uint32_t* z, const uint8_t* hint, size_t n);

// The most values that `bytes` coded bytes can hold (every value costs at least ~0.13 bit),
// so that a reader can refuse a count before it sizes anything by it.
uint64_t max_residuals_in(uint64_t bytes);

// Decodes n residuals from p[0..len) with the hints the writer used. Returns false when the
// bytes are not such a coding (they run out, or a length above 32 comes out).
bool decode_residuals(const uint8_t* p, size_t len, const uint8_t* hint, size_t n, uint32_t* z);

} // namespace gpulab
