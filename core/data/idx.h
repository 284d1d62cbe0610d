// IDX files (the MNIST format), gzip-compressed, read through zlib with every header
// field checked.
#pragma once

#include "error/error.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpulab {

// A problem with a data file: its error names the file and what is wrong with it.
class DataError : public GpulabError {
public:
    using GpulabError::GpulabError;
};

struct IdxArray {
    std::vector<int64_t> dims;  // e.g. {60000, 28, 28} or {60000}
    std::vector<uint8_t> data;  // unsigned bytes, product(dims) of them
};

// Reads an unsigned-byte IDX file (magic 0x00000803 / 0x00000801 etc., type 0x08),
// gzip-compressed or not. Throws DataError on: missing/unreadable file, not gzip and not
// IDX, bad magic, unsupported element type, data shorter or longer than the dimensions
// say, or a corrupt gzip stream.
IdxArray read_idx(const std::string& path);

// The same from bytes already in memory (for fuzzing); name is used in messages.
IdxArray parse_idx(const std::vector<uint8_t>& file_bytes, const std::string& name);

} // namespace gpulab
