// CpuDevice: 64-byte aligned host storage, plain memcpy transfers.
#include "device/cpu_device.h"

#include <cstdlib>
#include <cstring>

namespace gpulab {

CpuDevice::CpuDevice(int index, int64_t memory_budget, EventStream* trace, int threads)
    : Device(index, memory_budget, trace), m_threads(threads < 1 ? 1 : threads)
{
}

std::string CpuDevice::name() const
{
    return "cpu-sim(" + std::to_string(index()) + ")";
}

void CpuDevice::upload(void* dst, const void* host_src, int64_t bytes)
{
    std::memcpy(dst, host_src, static_cast<size_t>(bytes));
}

void CpuDevice::download(void* host_dst, const void* src, int64_t bytes)
{
    std::memcpy(host_dst, src, static_cast<size_t>(bytes));
}

void CpuDevice::copy_from(void* dst, const Device&, const void* src, int64_t bytes)
{
    std::memcpy(dst, src, static_cast<size_t>(bytes));
}

void* CpuDevice::raw_allocate(int64_t bytes)
{
    const size_t n = (static_cast<size_t>(bytes) + 63) / 64 * 64;
    return std::aligned_alloc(64, n == 0 ? 64 : n);
}

void CpuDevice::raw_release(void* ptr, int64_t)
{
    std::free(ptr);
}

} // namespace gpulab
