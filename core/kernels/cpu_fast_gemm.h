// The one matrix product the fast CPU kernels call: oneDNN's sgemm (AVX-512 kernels chosen
// from the CPU itself) where gpulab was built with it, OpenBLAS's otherwise.
#pragma once

namespace gpulab {

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
