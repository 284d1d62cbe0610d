// How many threads the CPU kernels may use inside one simulated device.
#pragma once

namespace gpulab {

// BLAS threads per calling thread. Each device worker calls BLAS itself, so this is 1 by
// default: devices, not BLAS, are the unit of parallelism and cores are not oversubscribed.
void set_cpu_kernel_threads(int threads);
int cpu_kernel_threads();

} // namespace gpulab
