// libFuzzer target for the IDX reader: any bytes must either parse into an array whose
// size matches its dimensions or throw DataError; never crash, hang or leak.
#include "data/idx.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::vector<uint8_t> bytes(data, data + size);
    try {
        gpulab::IdxArray a = gpulab::parse_idx(bytes, "fuzz.idx");
        size_t n = 1;
        for (int64_t d : a.dims)
            n *= static_cast<size_t>(d);
        if (n != a.data.size())
            std::abort(); // a parsed array must be consistent with its header
    } catch (const gpulab::DataError&) {
    }
    return 0;
}
