// Creating the logical devices of a run, for the backend asked for.
#pragma once

#include "device/device.h"

#include <memory>
#include <string>
#include <vector>

namespace gpulab {

// Whether the CUDA backend can run here; when not, why (one line: not built with CUDA,
// no driver, no device, driver too old, ...).
bool cuda_usable(std::string* why_not = nullptr);

// Physical GPUs visible (0 where CUDA is not usable).
int cuda_device_count();

// n logical devices of the kind asked for. cuda: logical i on GPU i mod P. Throws
// std::runtime_error when the backend is not usable.
std::vector<std::unique_ptr<Device>> make_devices(DeviceKind kind, int n, int64_t memory_budget,
                                                  int threads_per_device, EventStream* trace);

} // namespace gpulab
