// The fast CPU kernels (blocked im2col + one GEMM per block, oneDNN's sgemm where built
// with it): what simulated devices run unless GPULAB_KERNELS=reference.
#pragma once

namespace gpulab {

class Device;
class Kernels;

// What a simulated device runs: cpu_fast_kernels(its threads), or cpu_reference_kernels()
// when the environment says GPULAB_KERNELS=reference. Throws std::invalid_argument for
// any other value of GPULAB_KERNELS than "fast" or "reference".
const Kernels& cpu_sim_kernels(const Device& device);

// The fast table for a device that computes with `threads_per_device` threads (>= 1).
// Results match cpu_reference_kernels() up to float rounding.
const Kernels& cpu_fast_kernels(int threads_per_device = 1);

// What the fast kernels' matrix products run on, e.g. "oneDNN 2.6.3 sgemm (avx512_core)".
const char* cpu_fast_gemm_backend();

} // namespace gpulab
