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

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace gpulab {

// ---- the instruction set ------------------------------------------------------------

CpuIsa cpu_isa_detected()
{
#if defined(__x86_64__) && defined(__GNUC__)
    static const CpuIsa isa = [] {
        if (__builtin_cpu_supports("avx512f"))
            return CpuIsa::Avx512;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            return CpuIsa::Avx2;
        return CpuIsa::Generic;
    }();
    return isa;
#else
    return CpuIsa::Generic;
#endif
}

const char* cpu_isa_name(CpuIsa isa)
{
    switch (isa) {
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Generic: return "generic";
    }
    return "?";
}

namespace {

CpuIsa read_isa_cap()
{
    const CpuIsa have = cpu_isa_detected();
    const char* v = std::getenv("GPULAB_CPU_ISA");
    const std::string cap = v ? v : "";
    if (cap.empty())
        return have;
    for (CpuIsa isa : {CpuIsa::Generic, CpuIsa::Avx2, CpuIsa::Avx512})
        if (cap == cpu_isa_name(isa))
            return std::min(isa, have);
    throw std::invalid_argument("GPULAB_CPU_ISA='" + cap + "' is not an instruction set: use avx512, avx2 or "
                                "generic (a cap on what this CPU has), or leave it unset");
}

} // namespace

CpuIsa cpu_isa()
{
    static const CpuIsa isa = read_isa_cap(); // a throw leaves it unset: asked again next time
    return isa;
}

#ifdef GPULAB_HAVE_DNNL

namespace {

// oneDNN follows cpu_isa(): capped once, before its first call (later caps are refused).
void cap_dnnl_isa()
{
    static const bool done = [] {
        const CpuIsa isa = cpu_isa();
        if (isa != cpu_isa_detected())
            (void)dnnl_set_max_cpu_isa(isa == CpuIsa::Avx2 ? dnnl_cpu_isa_avx2 : dnnl_cpu_isa_sse41);
        return true;
    }();
    (void)done;
}

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
    cap_dnnl_isa();
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
        cap_dnnl_isa();
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
