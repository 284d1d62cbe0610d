// OpenBLAS thread control (the pthread build's openblas_set_num_threads).
#include "kernels/cpu_threads.h"

#include <atomic>
#include <cblas.h>

namespace gpulab {

namespace {
std::atomic<int> g_threads{0};
}

void set_cpu_kernel_threads(int threads)
{
    if (threads < 1)
        threads = 1;
    if (g_threads.exchange(threads) != threads)
        openblas_set_num_threads(threads);
}

int cpu_kernel_threads()
{
    int t = g_threads.load();
    return t < 1 ? 1 : t;
}

} // namespace gpulab
