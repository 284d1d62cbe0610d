// Device creation: CPU-simulated devices always; CUDA devices when built with CUDA.
#include "device/device_factory.h"

#include "device/cpu_device.h"

#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_device.h"
#include "device/cuda_probe.h"
#endif

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace gpulab {

#ifndef GPULAB_HAVE_CUDA
bool cuda_usable(std::string* why_not)
{
    if (why_not)
        *why_not = english(Error(ErrorCode::CudaNotBuilt));
    return false;
}

bool cuda_usable(Error* why_not)
{
    if (why_not)
        *why_not = Error(ErrorCode::CudaNotBuilt);
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

namespace {

// Whether a machine without usable CUDA has no GPU to use at all.
bool cuda_absent()
{
#ifdef GPULAB_HAVE_CUDA
    return cuda_driver_or_device_absent();
#else
    // This build cannot ask the driver; the NVIDIA kernel driver lists each GPU here.
    std::error_code ec;
    const std::filesystem::path gpus = "/proc/driver/nvidia/gpus";
    return !std::filesystem::is_directory(gpus, ec) || std::filesystem::directory_iterator(gpus, ec)
                                                           == std::filesystem::directory_iterator();
#endif
}

} // namespace

bool cuda_required()
{
    const char* v = std::getenv("GPULAB_REQUIRE_CUDA");
    return v && std::string(v) == "1";
}

CudaVerdict cuda_verdict(std::string* why)
{
    std::string why_not;
    if (cuda_usable(&why_not))
        return CudaVerdict::Run;
    if (cuda_required()) {
        if (why)
            *why = "GPULAB_REQUIRE_CUDA=1 but CUDA is not usable: " + why_not;
        return CudaVerdict::Fail;
    }
    if (!cuda_absent()) {
        if (why)
            *why = "a GPU is present but CUDA is not usable: " + why_not;
        return CudaVerdict::Fail;
    }
    if (why)
        *why = why_not;
    return CudaVerdict::Skip;
}

std::vector<std::unique_ptr<Device>> make_devices(DeviceKind kind, int n, int64_t memory_budget,
                                                  int threads_per_device, EventStream* trace, int first_gpu)
{
    std::vector<std::unique_ptr<Device>> devices;
    if (kind == DeviceKind::Cuda) {
        Error why;
        if (!cuda_usable(&why))
            throw GpulabError(why);
#ifdef GPULAB_HAVE_CUDA
        for (int i = 0; i < n; ++i)
            devices.push_back(make_cuda_device(i, memory_budget, trace, first_gpu + i));
#else
        (void)first_gpu;
#endif
        return devices;
    }
    for (int i = 0; i < n; ++i)
        devices.push_back(std::make_unique<CpuDevice>(i, memory_budget, trace, threads_per_device));
    return devices;
}

} // namespace gpulab
