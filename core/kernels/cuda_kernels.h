// The CUDA kernel table: one per CudaDevice, because it runs on that device's stream and
// handles. Convolution, pooling and ReLU through cuDNN; dense layers through cuBLAS; the
// rest through our own kernels (cuda_elementwise.cu). kernels_for() returns it.
#pragma once

#include <memory>

namespace gpulab {

class CudaDevice;
class Kernels;

std::unique_ptr<Kernels> make_cuda_kernels(CudaDevice& device);

} // namespace gpulab
