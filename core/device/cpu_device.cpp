// CpuDevice: 64-byte aligned host storage from a per-device caching pool, plain memcpy
// transfers.
#include "device/cpu_device.h"

#include <cstdlib>
#include <cstring>

namespace gpulab {

namespace {

size_t block_size(int64_t bytes)
{
    const size_t n = (static_cast<size_t>(bytes) + 63) / 64 * 64;
    return n == 0 ? 64 : n;
}

} // namespace

CpuDevice::CpuDevice(int index, int64_t memory_budget, EventStream* trace, int threads)
    : Device(index, memory_budget, trace), m_threads(threads < 1 ? 1 : threads)
{
}

CpuDevice::~CpuDevice()
{
    release_cached();
}

std::string CpuDevice::name() const
{
    return "cpu-sim(" + std::to_string(index()) + ")";
}

// A transfer of zero bytes (an empty shard) may come with null pointers: memcpy must not
// see them.
void CpuDevice::upload(void* dst, const void* host_src, int64_t bytes)
{
    if (bytes > 0)
        std::memcpy(dst, host_src, static_cast<size_t>(bytes));
}

void CpuDevice::download(void* host_dst, const void* src, int64_t bytes)
{
    if (bytes > 0)
        std::memcpy(host_dst, src, static_cast<size_t>(bytes));
}

void CpuDevice::copy_from(void* dst, const Device&, const void* src, int64_t bytes)
{
    if (bytes > 0)
        std::memcpy(dst, src, static_cast<size_t>(bytes));
}

void CpuDevice::download_then(const float* src, int64_t count, ReadbackFn then)
{
    if (!m_defer_readbacks) {
        Device::download_then(src, count, std::move(then));
        return;
    }
    finish_readbacks(); // what was asked for before has landed
    m_readbacks.emplace_back(std::vector<float>(src, src + count), std::move(then));
}

void CpuDevice::finish_readbacks()
{
    while (!m_readbacks.empty()) {
        auto [host, then] = std::move(m_readbacks.front());
        m_readbacks.pop_front();
        then(host);
    }
}

int64_t CpuDevice::cached_bytes() const
{
    std::lock_guard lock(m_pool_mutex);
    return m_cached;
}

void CpuDevice::release_cached()
{
    std::map<size_t, std::vector<void*>> pool;
    {
        std::lock_guard lock(m_pool_mutex);
        pool.swap(m_pool);
        m_cached = 0;
    }
    for (auto& [size, blocks] : pool)
        for (void* p : blocks)
            std::free(p);
}

void* CpuDevice::raw_allocate(int64_t bytes)
{
    const size_t n = block_size(bytes);
    {
        std::lock_guard lock(m_pool_mutex);
        auto it = m_pool.find(n);
        if (it != m_pool.end() && !it->second.empty()) {
            void* p = it->second.back();
            it->second.pop_back();
            m_cached -= static_cast<int64_t>(n);
            return p;
        }
    }
    // A new block. bytes_in_use() already counts this request: keep what the pool holds
    // plus what is in use within the budget, as a device's memory would.
    if (bytes_in_use() + cached_bytes() > memory_budget())
        release_cached();
    void* p = std::aligned_alloc(64, n);
    if (!p && cached_bytes() > 0) {
        release_cached();
        p = std::aligned_alloc(64, n);
    }
    return p;
}

void CpuDevice::raw_release(void* ptr, int64_t bytes)
{
    if (!ptr)
        return;
    std::lock_guard lock(m_pool_mutex);
    m_pool[block_size(bytes)].push_back(ptr);
    m_cached += static_cast<int64_t>(block_size(bytes));
}

} // namespace gpulab
