// The probe kernel: compiled for the same architectures as every other kernel, so if the
// GPU can run it, it can run them all.
#include "device/cuda_probe.h"

namespace gpulab {

namespace {
__global__ void probe_kernel() {}
} // namespace

cudaError_t cuda_kernel_image_status()
{
    cudaFuncAttributes attr{};
    return cudaFuncGetAttributes(&attr, probe_kernel);
}

} // namespace gpulab
