// fast_sgemm: oneDNN's sgemm where available (GPULAB_HAVE_DNNL), else OpenBLAS's.
// oneDNN threads through OpenMP: each device worker sets its own OpenMP thread count (an
// OpenMP setting is per thread), so two devices never run two teams each on two cores.
#include "kernels/cpu_fast_gemm.h"

#ifdef GPULAB_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_version.h>
#else
#include <cblas.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#include <stdexcept>
#include <string>

namespace gpulab {

#ifdef GPULAB_HAVE_DNNL

namespace {

// The OpenMP thread count last set on this thread (0: not yet).
thread_local int t_omp_threads = 0;

void use_threads(int threads)
{
#ifdef _OPENMP
    if (omp_in_parallel())
        return; // oneDNN runs on the calling thread inside a parallel region
    if (threads < 1)
        threads = 1;
    if (t_omp_threads != threads) {
        omp_set_num_threads(threads);
        t_omp_threads = threads;
    }
#else
    (void)threads;
#endif
}

} // namespace

void fast_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                const float* b, int ldb, float beta, float* c, int ldc, int threads)
{
    if (m <= 0 || n <= 0)
        return;
    use_threads(threads);
    const dnnl_status_t st =
        dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (st != dnnl_success)
        throw std::runtime_error("dnnl_sgemm failed (status " + std::to_string(int(st)) + ") for m=" +
                                 std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
}

bool fast_sgemm_has_own_threads()
{
    return false;
}

const char* fast_sgemm_backend()
{
    static const std::string name = [] {
        const char* isa = "?";
        switch (dnnl_get_effective_cpu_isa()) {
        case dnnl_cpu_isa_sse41: isa = "sse41"; break;
        case dnnl_cpu_isa_avx: isa = "avx"; break;
        case dnnl_cpu_isa_avx2: isa = "avx2"; break;
        case dnnl_cpu_isa_avx512_core: isa = "avx512_core"; break;
        case dnnl_cpu_isa_avx512_core_vnni: isa = "avx512_core_vnni"; break;
        case dnnl_cpu_isa_avx512_core_bf16: isa = "avx512_core_bf16"; break;
        default: break;
        }
        return "oneDNN " + std::to_string(DNNL_VERSION_MAJOR) + "." + std::to_string(DNNL_VERSION_MINOR) + "."
               + std::to_string(DNNL_VERSION_PATCH) + " sgemm (" + isa + ")";
    }();
    return name.c_str();
}

#else // OpenBLAS

void fast_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                const float* b, int ldb, float beta, float* c, int ldc, int)
{
    if (m <= 0 || n <= 0)
        return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                lda, b, ldb, beta, c, ldc);
}

bool fast_sgemm_has_own_threads()
{
    return true;
}

const char* fast_sgemm_backend()
{
    return "OpenBLAS sgemm";
}

#endif

} // namespace gpulab
