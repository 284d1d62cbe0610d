// CudaAsyncError: how a kernel tells the host of a bad input it met (a label out of range
// in softmax_xent). Kernels write it in device memory; the device reads it back at its
// next synchronisation point and throws there. Plain C++ for both compilers.
#pragma once

namespace gpulab {

struct CudaAsyncError {
    int code = 0;    // 0 none, 1 label out of range
    int row = 0;
    int label = 0;
    int classes = 0;
};

} // namespace gpulab
