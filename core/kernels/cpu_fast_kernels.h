// The fast CPU kernels (blocked im2col + one GEMM per block, oneDNN's sgemm where built
// with it): what simulated devices run unless GPULAB_KERNELS=reference.
#pragma once

#include "kernels/cpu_fast_gemm.h" // CpuIsa

#include <string>

namespace gpulab {

class Device;
class Kernels;

// What a simulated device runs: cpu_fast_kernels(its threads), or cpu_reference_kernels()
// when the environment says GPULAB_KERNELS=reference. Throws std::invalid_argument for
// any other value of GPULAB_KERNELS than "fast" or "reference", or of GPULAB_CPU_ISA than
// those cpu_isa() names.
const Kernels& cpu_sim_kernels(const Device& device);

// The fast table for a device that computes with `threads_per_device` threads (>= 1), on
// the paths of cpu_isa(). Results match cpu_reference_kernels() up to float rounding.
const Kernels& cpu_fast_kernels(int threads_per_device = 1);
// The same on the paths of `isa` (at most what the CPU has: a larger one is lowered to it),
// whatever GPULAB_CPU_ISA says: how the tests run every path the CPU can.
const Kernels& cpu_fast_kernels(int threads_per_device, CpuIsa isa);

// Which paths a kernel table takes, for the benchmark: "isa avx2 (CPU: avx512,
// GPULAB_CPU_ISA=avx2); conv1 (1 channel, 3x3): direct avx2; ...". For a table that is
// not the fast one, its name.
std::string cpu_fast_kernel_paths(const Kernels& kernels);

// What the fast kernels' matrix products run on, e.g. "oneDNN 2.6.3 sgemm (avx512_core)".
const char* cpu_fast_gemm_backend();

} // namespace gpulab
