// Whether this build holds GPU code the current GPU can run (its architecture is among
// CMAKE_CUDA_ARCHITECTURES): probed with a kernel of the device layer's own.
#pragma once

#include <cuda_runtime_api.h>

namespace gpulab {

cudaError_t cuda_kernel_image_status(); // cudaSuccess when the current GPU can run it

// True when there is nothing CUDA could use: no NVIDIA driver (libcuda not loadable), or a
// driver that sees no GPU. A driver too old or a runtime that fails to start is not absence.
bool cuda_driver_or_device_absent();

} // namespace gpulab
