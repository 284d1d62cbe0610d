// Creating the logical devices of a run, for the backend asked for.
#pragma once

#include "error/error.h"

#include "device/device.h"

#include <memory>
#include <string>
#include <vector>

namespace gpulab {

// Whether the CUDA backend can run here; when not, why (one line: not built with CUDA,
// no driver, no device, driver too old, ...).
bool cuda_usable(std::string* why_not = nullptr);
bool cuda_usable(Error* why_not); // the same, as a code and its facts

// What a check that needs CUDA does here. Run: CUDA is usable. Skip: there is nothing to
// use (no NVIDIA driver, or the driver sees no GPU). Fail: a GPU is there but this build
// cannot use it (no kernels for its architecture, a driver too old, a runtime that fails
// to start, a build without CUDA), or GPULAB_REQUIRE_CUDA=1 says this machine must have a
// usable GPU. why: the reason, when not Run.
enum class CudaVerdict { Run, Skip, Fail };
CudaVerdict cuda_verdict(std::string* why = nullptr);
bool cuda_required(); // GPULAB_REQUIRE_CUDA=1

// Physical GPUs visible (0 where CUDA is not usable).
int cuda_device_count();

// What `gpulab-cli devices` and the GUI show of each GPU (empty where CUDA is not usable).
struct GpuInfo {
    int index = 0;
    std::string name;          // "NVIDIA H100 80GB HBM3"
    int major = 0, minor = 0;  // compute capability
    int64_t total_bytes = 0;
    int64_t free_bytes = 0;
    int multiprocessors = 0;
};
std::vector<GpuInfo> cuda_gpus();

// "driver CUDA 13.0, runtime CUDA 13.0, cuDNN 9.19.0, NCCL 2.28.9"; says when not built.
std::string cuda_versions();

// n logical devices of the kind asked for. cuda: logical i on GPU (first_gpu + i) mod P
// (first_gpu: where a GPU rank's devices start). Throws std::runtime_error when the backend is
// not usable.
std::vector<std::unique_ptr<Device>> make_devices(DeviceKind kind, int n, int64_t memory_budget,
                                                  int threads_per_device, EventStream* trace, int first_gpu = 0);

} // namespace gpulab
