// The one matrix product the fast CPU kernels call: oneDNN's sgemm (AVX-512 kernels chosen
// from the CPU itself) where gpulab was built with it, OpenBLAS's otherwise.
#pragma once

#include <string>

namespace gpulab {

// ---- the instruction set ------------------------------------------------------------
// The fast kernels pick their paths at run time from the CPU they run on: one binary serves
// every x86-64 machine.
enum class CpuIsa {
    Generic, // plain loops the compiler vectorises for the build's baseline
    Avx2,    // AVX2 with FMA: 8 floats a vector
    Avx512,  // AVX-512F: 16 floats a vector, masked loads and stores
};

// The best this CPU has.
CpuIsa cpu_isa_detected();
// What the fast kernels and oneDNN use: cpu_isa_detected(), capped by the environment
// variable GPULAB_CPU_ISA (avx512, avx2 or generic), which lets one machine measure the
// paths a smaller one takes. A cap above what the CPU has changes nothing. Throws
// std::invalid_argument, saying the values allowed, for any other value.
CpuIsa cpu_isa();
const char* cpu_isa_name(CpuIsa isa); // "avx512", "avx2", "generic"

// Row-major: C (m,n) = alpha * op(A) (m,k) . op(B) (k,n) + beta * C, op = transpose when
// ta/tb. Runs on the calling thread with `threads` threads in all (1: this thread only;
// inside a parallel region of the caller it always runs on the calling thread alone).
void fast_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                const float* b, int ldb, float beta, float* c, int ldc, int threads);

// True when fast_sgemm's threads are the library's own (OpenBLAS: one thread count for the
// whole process, set by set_cpu_kernel_threads); callers then never call it from inside
// their own parallel loops, so threads are not multiplied.
bool fast_sgemm_has_own_threads();

// "oneDNN 2.6.3 (avx512_core)" or "OpenBLAS": what fast_sgemm runs on.
const char* fast_sgemm_backend();

} // namespace gpulab
