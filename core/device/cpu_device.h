// CpuDevice: a simulated GPU. Its ops run on the engine worker for this device, its
// memory comes from the host heap but is accounted against its own budget.
#pragma once

#include "device/device.h"

namespace gpulab {

class CpuDevice final : public Device {
public:
    CpuDevice(int index, int64_t memory_budget, EventStream* trace, int threads = 1);

    DeviceKind kind() const override { return DeviceKind::CpuSim; }
    std::string name() const override;
    int threads() const { return m_threads; } // compute threads this device may use

    void upload(void* dst, const void* host_src, int64_t bytes) override;
    void download(void* host_dst, const void* src, int64_t bytes) override;
    void copy_from(void* dst, const Device& from, const void* src, int64_t bytes) override;

protected:
    void* raw_allocate(int64_t bytes) override;
    void raw_release(void* ptr, int64_t bytes) override;

private:
    int m_threads;
};

} // namespace gpulab
