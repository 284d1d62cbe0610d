// The probe kernel: compiled for the same architectures as every other kernel, so if the
// GPU can run it, it can run them all.
#include "device/cuda_probe.h"

namespace gpulab {

namespace {
__global__ void probe_kernel() {}
} // namespace

cudaError_t cuda_kernel_image_status()
{
    cudaFuncAttributes attr{};
    return cudaFuncGetAttributes(&attr, probe_kernel);
}

bool cuda_driver_or_device_absent()
{
    int driver = 0;
    (void)cudaDriverGetVersion(&driver); // 0 when no driver is installed
    if (driver == 0)
        return true;
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    (void)cudaGetLastError();
    return err == cudaErrorNoDevice || (err == cudaSuccess && count == 0);
}

} // namespace gpulab
