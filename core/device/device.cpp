// Device memory accounting: every allocation and release is an event with the bytes
// in use afterwards, so the memory timeline is exact.
#include "device/device.h"

#include "trace/event_stream.h"

#include <chrono>
#include <cstdio>

namespace gpulab {

std::string format_bytes(int64_t bytes)
{
    char buf[64];
    const double b = static_cast<double>(bytes);
    if (bytes >= (int64_t(1) << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(int64_t(1) << 30));
    else if (bytes >= (int64_t(1) << 20))
        std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(1 << 20));
    else if (bytes >= 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
    return buf;
}

OutOfMemory::OutOfMemory(const std::string& dev, int64_t req, int64_t used, int64_t cap)
    : std::runtime_error("out of memory on " + dev + ": requested " + format_bytes(req) +
                         " with " + format_bytes(used) + " of " + format_bytes(cap) +
                         " in use"),
      device(dev), requested(req), in_use(used), budget(cap)
{
}

Error OutOfMemory::error() const
{
    return Error(ErrorCode::OutOfMemory, {{"device", device},
                                          {"requested", format_bytes(requested)},
                                          {"in_use", format_bytes(in_use)},
                                          {"budget", format_bytes(budget)},
                                          {"requested_bytes", std::to_string(requested)},
                                          {"in_use_bytes", std::to_string(in_use)},
                                          {"budget_bytes", std::to_string(budget)}});
}

Buffer::~Buffer()
{
    m_device.release(m_ptr, m_bytes);
}

Device::Device(int index, int64_t memory_budget, EventStream* trace)
    : m_index(index), m_budget(memory_budget), m_trace(trace)
{
    if (memory_budget <= 0)
        throw std::invalid_argument("memory budget must be positive");
}

std::shared_ptr<Buffer> Device::allocate(int64_t bytes)
{
    if (bytes < 0)
        throw std::invalid_argument("negative allocation request");
    int64_t in_use = 0;
    bool fits = false;
    {
        std::lock_guard lock(m_mutex);
        in_use = m_in_use;
        fits = m_in_use + bytes <= m_budget;
        if (fits) {
            m_in_use += bytes; // reserve before the raw allocation, so the budget holds
            in_use = m_in_use;
            m_peak = std::max(m_peak, m_in_use);
        }
    }
    void* ptr = nullptr;
    try {
        ptr = fits ? raw_allocate(bytes) : nullptr;
    } catch (...) { // a device error, not a full budget: give the reservation back
        std::lock_guard lock(m_mutex);
        m_in_use -= bytes;
        throw;
    }
    if (!ptr) {
        if (fits) {
            std::lock_guard lock(m_mutex);
            m_in_use -= bytes;
            in_use = m_in_use;
        }
        if (m_trace) {
            m_trace->record(Event{.device = m_index, .data = ev::MemOom{.bytes = bytes, .in_use = in_use}});
        }
        throw OutOfMemory(name(), bytes, in_use, m_budget);
    }
    if (m_trace) {
        m_trace->record(Event{.device = m_index,
                              .data = ev::MemAlloc{.bytes = bytes, .in_use = in_use, .reserved = bytes_reserved()}});
    }
    return std::make_shared<Buffer>(*this, ptr, bytes);
}

void Device::release(void* ptr, int64_t bytes)
{
    raw_release(ptr, bytes);
    int64_t in_use;
    {
        std::lock_guard lock(m_mutex);
        m_in_use -= bytes;
        in_use = m_in_use;
    }
    if (m_trace) {
        m_trace->record(Event{.device = m_index,
                              .data = ev::MemFree{.bytes = bytes, .in_use = in_use, .reserved = bytes_reserved()}});
    }
}

int64_t Device::bytes_in_use() const
{
    std::lock_guard lock(m_mutex);
    return m_in_use;
}

double Device::run_timed(const std::function<void()>& work)
{
    const auto t0 = std::chrono::steady_clock::now();
    work();
    synchronize();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

void Device::download_then(const float* src, int64_t count, ReadbackFn then)
{
    std::vector<float> host(static_cast<size_t>(count));
    download(host.data(), src, count * static_cast<int64_t>(sizeof(float)));
    then(host);
}

int64_t Device::peak_bytes_in_use() const
{
    std::lock_guard lock(m_mutex);
    return m_peak;
}

Device::Extension& Device::extension(const std::function<std::unique_ptr<Extension>()>& make) const
{
    std::lock_guard lock(m_extension_mutex);
    if (!m_extension)
        m_extension = make();
    return *m_extension;
}

void Device::drop_extension()
{
    std::lock_guard lock(m_extension_mutex);
    m_extension.reset();
}

} // namespace gpulab
