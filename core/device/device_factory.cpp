// Device creation: CPU-simulated devices always; CUDA devices when built with CUDA.
#include "device/device_factory.h"

#include "device/cpu_device.h"

#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_device.h"
#endif

#include <stdexcept>

namespace gpulab {

#ifndef GPULAB_HAVE_CUDA
bool cuda_usable(std::string* why_not)
{
    if (why_not)
        *why_not = "this build of gpulab has no CUDA backend (configure with a CUDA toolkit)";
    return false;
}

int cuda_device_count()
{
    return 0;
}

std::vector<GpuInfo> cuda_gpus()
{
    return {};
}

std::string cuda_versions()
{
    return "no CUDA backend in this build";
}
#endif

std::vector<std::unique_ptr<Device>> make_devices(DeviceKind kind, int n, int64_t memory_budget,
                                                  int threads_per_device, EventStream* trace)
{
    std::vector<std::unique_ptr<Device>> devices;
    if (kind == DeviceKind::Cuda) {
        std::string why;
        if (!cuda_usable(&why))
            throw std::runtime_error("CUDA backend not usable: " + why);
#ifdef GPULAB_HAVE_CUDA
        for (int i = 0; i < n; ++i)
            devices.push_back(make_cuda_device(i, memory_budget, trace));
#endif
        return devices;
    }
    for (int i = 0; i < n; ++i)
        devices.push_back(std::make_unique<CpuDevice>(i, memory_budget, trace, threads_per_device));
    return devices;
}

} // namespace gpulab
