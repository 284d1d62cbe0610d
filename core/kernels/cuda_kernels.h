// The CUDA kernel table: one per CudaDevice, because it runs on that device's stream and
// handles. Convolution through cuDNN (pooling and ReLU too with GPULAB_CUDA_OWN_KERNELS=0); dense layers through cuBLAS; the
// rest through our own kernels (cuda_elementwise.cu). kernels_for() returns it.
#pragma once

#include <memory>

namespace gpulab {

class CudaDevice;
class Kernels;

std::unique_ptr<Kernels> make_cuda_kernels(CudaDevice& device);

// What happened to a device's convolution and dense calls (cuda_kernels.cpp says how graphs
// are used): captured into a new graph, replayed from one, run plainly (a call's first, or
// its pointer sets were too many), or run plainly because its capture failed (then it never
// captures again). The fused_ counts are the same for units of fused calls
// (GPULAB_CUDA_FUSED_GRAPHS), whose "plain" runs go call by call through the counts above.
struct CudaGraphStats {
    long captured = 0, replayed = 0, plain = 0, failed = 0;
    long fused_captured = 0, fused_replayed = 0, fused_plain = 0, fused_failed = 0;
};
// Zero for a table that is not CUDA's; all zero when GPULAB_CUDA_GRAPHS=0.
CudaGraphStats cuda_graph_stats(const Kernels& kernels);

} // namespace gpulab
