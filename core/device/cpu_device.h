// CpuDevice: a simulated GPU. Its ops run on the engine worker for this device, its
// memory comes from the host heap but is accounted against its own budget.
#pragma once

#include "device/device.h"

#include <deque>
#include <map>
#include <mutex>
#include <vector>

namespace gpulab {

class CpuDevice final : public Device {
public:
    CpuDevice(int index, int64_t memory_budget, EventStream* trace, int threads = 1);
    ~CpuDevice() override;

    DeviceKind kind() const override { return DeviceKind::CpuSim; }
    std::string name() const override;
    int threads() const { return m_threads; } // compute threads this device may use

    void upload(void* dst, const void* host_src, int64_t bytes) override;
    void download(void* host_dst, const void* src, int64_t bytes) override;
    void copy_from(void* dst, const Device& from, const void* src, int64_t bytes) override;

    // Read-backs: at once, unless deferred. Deferred (a test mode that behaves like a GPU's
    // stream): the copy is taken at once but `then` runs only at the next download_then or
    // in finish_readbacks(), so the front end's flushing is tested where no GPU is.
    void download_then(const float* src, int64_t count, ReadbackFn then) override;
    void finish_readbacks() override;
    void set_deferred_readbacks(bool on) { m_defer_readbacks = on; }

    // ---- the caching pool ----
    // Released storage is kept, by size, for the next request of that size, as a GPU
    // framework's caching allocator does: a training loop asks for the same activation
    // sizes every minibatch, so after the first one no storage comes from the host heap
    // (no mmap/munmap, no page faults). Accounting, the budget and the MemAlloc/MemFree
    // events stay per logical allocation (Device::allocate): the memory timeline is the
    // same with or without the pool. Cached bytes plus bytes in use never exceed the budget.
    int64_t cached_bytes() const;
    int64_t bytes_reserved() const override { return bytes_in_use() + cached_bytes(); }
    void release_cached(); // gives every cached block back to the host heap

protected:
    void* raw_allocate(int64_t bytes) override;
    void raw_release(void* ptr, int64_t bytes) override;

private:
    int m_threads;
    mutable std::mutex m_pool_mutex;
    std::map<size_t, std::vector<void*>> m_pool; // free blocks by rounded size
    int64_t m_cached = 0;
    bool m_defer_readbacks = false;
    std::deque<std::pair<std::vector<float>, ReadbackFn>> m_readbacks; // the worker's only
};

} // namespace gpulab
