// The 2x2 average pool's backward, one dx cell at a time, as the CUDA kernel computes it
// (cuda_elementwise.cu). Plain C++ as well, so that tests check the very same arithmetic
// against the CPU reference on a machine without a GPU.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define GPULAB_HOST_DEVICE __host__ __device__
#else
#define GPULAB_HOST_DEVICE
#endif

namespace gpulab::cuda {

// dx[i], i a flat index into dx (n,c,h,w), from dy (n,c,h/2,w/2): a quarter of the dy cell
// whose 2x2 window covers cell i; 0 for an odd last row or column, which no window covers.
// With y (n,c,h,w), the output of a ReLU before the pool, also 0 where y <= 0: the fused
// gradient through pool and ReLU (Kernels::avgpool2_relu_backward). y may be nullptr.
// Same float operations, in the same order, as the CPU reference: the results are equal.
GPULAB_HOST_DEVICE inline float avgpool2_backward_at(int64_t i, int h, int w, const float* dy, const float* y)
{
    const int64_t plane_cells = int64_t(h) * w;
    const int64_t plane = i / plane_cells;
    const int64_t cell = i - plane * plane_cells;
    const int row = int(cell / w), col = int(cell % w);
    const int oh = h / 2, ow = w / 2;
    if (row >= 2 * oh || col >= 2 * ow)
        return 0.0f;
    if (y != nullptr && !(y[i] > 0.0f))
        return 0.0f;
    return 0.25f * dy[plane * oh * ow + int64_t(row / 2) * ow + col / 2];
}

} // namespace gpulab::cuda
