// Device: a logical compute device with its own memory budget and accounting. Storage
// is handed out as Buffers that give their bytes back when the last handle goes away.
#pragma once

#include "error/error.h"
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpulab {

class EventStream;
class Device;

enum class DeviceKind { CpuSim, Cuda };

constexpr int64_t kDefaultMemoryBudget = int64_t(2) << 30; // 2 GiB per simulated device

std::string format_bytes(int64_t bytes); // "12.3 MiB"

// ---- errors -------------------------------------------------------------------------
class OutOfMemory : public std::runtime_error {
public:
    OutOfMemory(const std::string& device, int64_t requested, int64_t in_use, int64_t budget);
    // ErrorCode::OutOfMemory with device, requested, in_use and budget (sizes as text)
    Error error() const;
    std::string device;
    int64_t requested, in_use, budget;
};

// ---- buffer -------------------------------------------------------------------------
// Device storage. Not copyable: share it through std::shared_ptr<Buffer>.
class Buffer {
public:
    Buffer(Device& device, void* ptr, int64_t bytes) : m_device(device), m_ptr(ptr), m_bytes(bytes) {}
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    void* data() const { return m_ptr; }
    int64_t bytes() const { return m_bytes; }
    Device& device() const { return m_device; }

private:
    Device& m_device;
    void* m_ptr;
    int64_t m_bytes;
};

// ---- device -------------------------------------------------------------------------
class Device {
public:
    Device(int index, int64_t memory_budget, EventStream* trace);
    virtual ~Device() = default;
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    int index() const { return m_index; }
    virtual DeviceKind kind() const = 0;
    virtual std::string name() const = 0; // "cpu-sim(0)", "cuda(1 on GPU 0)"

    // Takes bytes from the budget (throws OutOfMemory, after emitting MemOom) and
    // emits MemAlloc. The returned buffer emits MemFree when destroyed.
    std::shared_ptr<Buffer> allocate(int64_t bytes);

    int64_t bytes_in_use() const;
    int64_t peak_bytes_in_use() const;
    // Bytes the device's allocator holds, in use or cached for reuse (CUDA's pool); the
    // bytes in use where there is no cache. MemAlloc/MemFree events carry it as value.
    virtual int64_t bytes_reserved() const { return bytes_in_use(); }
    int64_t memory_budget() const { return m_budget; }
    EventStream* trace() const { return m_trace; }

    // ---- transfers (pointers in this device's memory unless said) ----
    virtual void upload(void* dst, const void* host_src, int64_t bytes) = 0;
    virtual void download(void* host_dst, const void* src, int64_t bytes) = 0;
    // dst on this device, src on `from` (which may be this device).
    virtual void copy_from(void* dst, const Device& from, const void* src, int64_t bytes) = 0;
    // Blocks until the device has finished every piece of work queued on it.
    virtual void synchronize() {}

    // ---- read-backs that do not wait (losses while the front end runs ahead) ----
    // Reads count floats at src back to the host without waiting for the device: `then`
    // gets the host copy once it has landed, on this device's worker, in the order the
    // read-backs were asked for; at the latest in finish_readbacks(). A `then` that throws
    // throws out of the call that runs it (a later download_then or finish_readbacks).
    // Default: download and call `then` at once (a CPU device has nothing to wait for).
    using ReadbackFn = std::function<void(std::vector<float>&)>;
    virtual void download_then(const float* src, int64_t count, ReadbackFn then);
    // Waits for every read-back asked for so far and runs their `then`s, in order.
    virtual void finish_readbacks() {}
    // Called once on the engine worker thread that runs this device's ops.
    virtual void bind_worker_thread() {}
    // Runs work (which queues transfers or kernels on this device), waits for it, and
    // returns how long the device spent on it in microseconds. CPU devices time the call;
    // CUDA devices time their stream with events. Used for allreduce step events.
    virtual double run_timed(const std::function<void()>& work);

    // ---- state a higher layer keeps per device ----
    // A CUDA device's kernel table (its cuDNN plans) lives here, so that the device layer
    // never includes the kernels above it. Made on first use, once; dropped before the
    // device's own handles go (derived destructors call drop_extension() first).
    struct Extension {
        virtual ~Extension() = default;
    };
    Extension& extension(const std::function<std::unique_ptr<Extension>()>& make) const;

protected:
    friend class Buffer;
    virtual void* raw_allocate(int64_t bytes) = 0; // nullptr when the device has no room
    virtual void raw_release(void* ptr, int64_t bytes) = 0;
    void release(void* ptr, int64_t bytes);
    void drop_extension();

private:
    int m_index;
    int64_t m_budget;
    EventStream* m_trace;
    mutable std::mutex m_mutex;
    int64_t m_in_use = 0;
    int64_t m_peak = 0;
    mutable std::mutex m_extension_mutex;
    mutable std::unique_ptr<Extension> m_extension;
};

} // namespace gpulab
