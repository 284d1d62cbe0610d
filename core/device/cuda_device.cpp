// CudaDevice: stream, handles, caching pool, transfers ordered with events; and the
// backend's availability check, which must answer (not crash) where there is no driver.
#include "device/cuda_device.h"

#include "device/cuda_check.h"
#include "device/device_factory.h"
#include "error/error.h"
#include "device/cuda_probe.h"
#include "kernels/cuda_elementwise.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

namespace gpulab {

// ---- the checking macro's failure path ---------------------------------------------------

namespace cuda_check_detail {

[[noreturn]] void fail(const char* call, const char* file, int line, int code, const std::string& why)
{
    // Paths relative to the source tree read better than the build machine's absolute ones.
    std::string where = file;
    for (const char* top : {"/core/", "/app/", "/tests/"})
        if (auto at = where.rfind(top); at != std::string::npos) {
            where = where.substr(at + 1);
            break;
        }
    throw CudaError(std::string(call) + " failed at " + where + ":" + std::to_string(line) + ": " + why,
                    code);
}

} // namespace cuda_check_detail

namespace {
// Pinned blocks (CudaDevice::take_pinned): uploads larger than kStagingMax take the plain
// path; a device keeps at most about kPinnedCap bytes of pinned memory.
constexpr size_t kStagingMax = size_t(16) << 20;
constexpr size_t kPinnedCap = size_t(256) << 20;
constexpr size_t kPinnedGranularity = 4096;

// GPULAB_CUDA_PINNED=0 turns the pinned blocks off: uploads from pageable memory go straight
// to cudaMemcpyAsync and read-backs wait (Device::download_then's default). A switch to tell,
// on a GPU machine, whether a fault lies in that machinery.
bool pinned_transfers()
{
    static const bool on = [] {
        const char* v = std::getenv("GPULAB_CUDA_PINNED");
        return !(v && std::string(v) == "0");
    }();
    return on;
}

// Sets a GPU current on this thread for a scope and restores the previous one.
class ScopedGpu {
public:
    explicit ScopedGpu(int gpu)
    {
        GPULAB_CUDA_CHECK(cudaGetDevice(&m_prev));
        if (m_prev != gpu)
            GPULAB_CUDA_CHECK(cudaSetDevice(gpu));
        m_changed = m_prev != gpu;
    }
    ~ScopedGpu()
    {
        if (m_changed)
            (void)cudaSetDevice(m_prev);
    }
    ScopedGpu(const ScopedGpu&) = delete;
    ScopedGpu& operator=(const ScopedGpu&) = delete;

private:
    int m_prev = 0;
    bool m_changed = false;
};

// An event created on the current GPU, destroyed at scope end. Destroying an event that
// is recorded but not reached yet is allowed: CUDA frees it once it completes.
class ScopedEvent {
public:
    explicit ScopedEvent(bool timing = false)
    {
        GPULAB_CUDA_CHECK(cudaEventCreateWithFlags(&m_event, timing ? cudaEventDefault : cudaEventDisableTiming));
    }
    ~ScopedEvent() { (void)cudaEventDestroy(m_event); }
    ScopedEvent(const ScopedEvent&) = delete;
    ScopedEvent& operator=(const ScopedEvent&) = delete;
    cudaEvent_t get() const { return m_event; }

private:
    cudaEvent_t m_event = nullptr;
};

// run_timed's start event, re-recorded by copy_from once the copy's inputs are ready.
struct TimedSpan {
    const CudaDevice* device = nullptr;
    cudaEvent_t start = nullptr;
};
thread_local TimedSpan t_span;

std::string version_string(int v) // 12040 -> "12.4"
{
    return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

struct Availability {
    bool usable = false;
    int count = 0;
    std::string why;
    Error error; // the same as a code and its facts
};

Availability probe()
{
    Availability a;
    int driver = 0, runtime = 0;
    (void)cudaDriverGetVersion(&driver); // 0 when no driver is installed
    (void)cudaRuntimeGetVersion(&runtime);
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    (void)cudaGetLastError();
    if (err == cudaSuccess && count > 0) {
        const cudaError_t img = cuda_kernel_image_status();
        (void)cudaGetLastError();
        if (img == cudaSuccess) {
            a.usable = true;
            a.count = count;
            return a;
        }
        cudaDeviceProp p{};
        (void)cudaGetDeviceProperties(&p, 0);
        (void)cudaGetLastError();
        a.why = "GPU 0 (" + std::string(p.name) + ", compute capability " + std::to_string(p.major) + "."
                + std::to_string(p.minor) + ") cannot run this build's kernels (" + cudaGetErrorString(img)
                + "): rebuild with -DCMAKE_CUDA_ARCHITECTURES=" + std::to_string(p.major * 10 + p.minor);
        a.error = Error(ErrorCode::CudaNotUsable, {{"why", a.why}});
        return a;
    }
    if (driver == 0) {
        a.error = Error(ErrorCode::CudaNoDriver);
    } else if (err == cudaErrorInsufficientDriver || driver < runtime) {
        a.error = Error(ErrorCode::CudaDriverTooOld,
                        {{"driver", version_string(driver)}, {"needs", version_string(runtime)}});
    } else if (err == cudaErrorNoDevice || (err == cudaSuccess && count == 0)) {
        a.error = Error(ErrorCode::CudaNoDevice, {{"version", version_string(driver)}});
    } else {
        a.error = Error(ErrorCode::CudaNotUsable,
                        {{"why", std::string("the CUDA runtime could not start (") + cudaGetErrorName(err) + ": "
                                     + cudaGetErrorString(err) + ")"}});
    }
    a.why = english(a.error);
    return a;
}

const Availability& availability()
{
    static const Availability a = probe();
    return a;
}

// cudaMalloc and its kin, each under the process-wide lock (cuda_global_mutex says why).
cudaError_t locked_malloc(void** p, size_t bytes)
{
    std::lock_guard lock(cuda_global_mutex());
    return cudaMalloc(p, bytes);
}

cudaError_t locked_free(void* p)
{
    std::lock_guard lock(cuda_global_mutex());
    return cudaFree(p);
}

cudaError_t locked_malloc_host(void** p, size_t bytes)
{
    std::lock_guard lock(cuda_global_mutex());
    return cudaMallocHost(p, bytes);
}

cudaError_t locked_free_host(void* p)
{
    std::lock_guard lock(cuda_global_mutex());
    return cudaFreeHost(p);
}

// The pairs (from, to) whose peer access is on: kernels on GPU `from` may read GPU `to`.
std::mutex g_peer_mutex;
std::set<std::pair<int, int>> g_peer_on;

bool peer_on(int from, int to)
{
    std::lock_guard lock(g_peer_mutex);
    return g_peer_on.count({from, to}) > 0;
}

// Peer access between `gpu` and every GPU that already holds a device, once per pair and
// process: peer copies and NCCL then go GPU to GPU instead of through host memory. GPUs
// that hold no device are left alone (peer access costs each GPU some memory and makes
// cudaFree and its kin synchronise the peers too).
void enable_peer_access_for(int gpu)
{
    static std::mutex mutex;
    static std::vector<int> held; // GPUs that hold a device, in the order they first did
    std::lock_guard lock(mutex);
    if (std::find(held.begin(), held.end(), gpu) != held.end())
        return;
    for (const auto& [from, to] : peer_pairs_to_enable(held, gpu)) {
        int can = 0;
        if (cudaDeviceCanAccessPeer(&can, from, to) != cudaSuccess || !can) {
            (void)cudaGetLastError();
            continue;
        }
        ScopedGpu on(from);
        std::lock_guard global(cuda_global_mutex());
        const cudaError_t e = cudaDeviceEnablePeerAccess(to, 0);
        if (e != cudaSuccess && e != cudaErrorPeerAccessAlreadyEnabled)
            GPULAB_CUDA_CHECK(e);
        (void)cudaGetLastError();
        std::lock_guard on_lock(g_peer_mutex);
        g_peer_on.insert({from, to});
    }
    held.push_back(gpu);
}

constexpr size_t kPoolGranularity = 512; // bytes; cudaMalloc aligns to 256 anyway

} // namespace

// ---- the backend ----------------------------------------------------------------------------

std::mutex& cuda_global_mutex()
{
    static std::mutex m;
    return m;
}

std::vector<std::pair<int, int>> peer_pairs_to_enable(const std::vector<int>& held_before, int gpu)
{
    std::vector<std::pair<int, int>> pairs;
    if (std::find(held_before.begin(), held_before.end(), gpu) != held_before.end())
        return pairs; // enabled when it first held a device
    for (int other : held_before) {
        if (other == gpu || std::find(pairs.begin(), pairs.end(), std::pair{gpu, other}) != pairs.end())
            continue;
        pairs.emplace_back(gpu, other);
        pairs.emplace_back(other, gpu);
    }
    return pairs;
}

bool cuda_usable(std::string* why_not)
{
    const Availability& a = availability();
    if (!a.usable && why_not)
        *why_not = a.why;
    return a.usable;
}

bool cuda_usable(Error* why_not)
{
    const Availability& a = availability();
    if (!a.usable && why_not)
        *why_not = a.error;
    return a.usable;
}

int cuda_device_count()
{
    return availability().count;
}

std::vector<GpuInfo> cuda_gpus()
{
    std::vector<GpuInfo> gpus;
    for (int i = 0; i < cuda_device_count(); ++i) {
        cudaDeviceProp p{};
        GPULAB_CUDA_CHECK(cudaGetDeviceProperties(&p, i));
        GpuInfo g;
        g.index = i;
        g.name = p.name;
        g.major = p.major;
        g.minor = p.minor;
        g.total_bytes = static_cast<int64_t>(p.totalGlobalMem);
        g.multiprocessors = p.multiProcessorCount;
        {
            ScopedGpu on(i);
            size_t free_b = 0, total_b = 0;
            if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
                g.free_bytes = static_cast<int64_t>(free_b);
            (void)cudaGetLastError();
        }
        gpus.push_back(std::move(g));
    }
    return gpus;
}

std::string cuda_versions()
{
    int driver = 0, runtime = 0;
    (void)cudaDriverGetVersion(&driver);
    (void)cudaRuntimeGetVersion(&runtime);
    const size_t dnn = cudnnGetVersion(); // 90190 -> 9.19.0 (cuDNN 9 encodes M*10000+m*100+p)
    std::string s = "driver " + (driver ? "CUDA " + version_string(driver) : std::string("none")) + ", runtime CUDA "
                    + version_string(runtime) + ", cuDNN " + std::to_string(dnn / 10000) + "."
                    + std::to_string((dnn % 10000) / 100) + "." + std::to_string(dnn % 100);
#ifdef GPULAB_HAVE_NCCL
    int nccl = 0;
    if (ncclGetVersion(&nccl) == ncclSuccess) // 22809 -> 2.28.9
        s += ", NCCL " + std::to_string(nccl / 10000) + "." + std::to_string((nccl % 10000) / 100) + "."
             + std::to_string(nccl % 100);
#else
    s += ", no NCCL in this build";
#endif
    return s;
}

std::unique_ptr<Device> make_cuda_device(int logical_index, int64_t memory_budget, EventStream* trace, int on_gpu)
{
    Error why;
    if (!cuda_usable(&why))
        throw GpulabError(why);
    const int gpu = (on_gpu < 0 ? logical_index : on_gpu) % cuda_device_count();
    if (cuda_device_count() > 1)
        enable_peer_access_for(gpu);
    return std::make_unique<CudaDevice>(logical_index, gpu, memory_budget, trace);
}

// ---- device ------------------------------------------------------------------------------

CudaDevice::CudaDevice(int index, int gpu, int64_t memory_budget, EventStream* trace)
    : Device(index, memory_budget, trace), m_gpu(gpu)
{
    activate();
    try {
        GPULAB_CUDA_CHECK(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking));
        GPULAB_CUDA_CHECK(cublasCreate(&m_cublas));
        GPULAB_CUDA_CHECK(cublasSetStream(m_cublas, m_stream));
        // Plain FP32 (no TF32): results stay within float rounding of the CPU reference.
        GPULAB_CUDA_CHECK(cublasSetMathMode(m_cublas, CUBLAS_DEFAULT_MATH));
        GPULAB_CUDA_CHECK(cudnnCreate(&m_cudnn));
        GPULAB_CUDA_CHECK(cudnnSetStream(m_cudnn, m_stream));
        GPULAB_CUDA_CHECK(locked_malloc(reinterpret_cast<void**>(&m_async_dev), sizeof(CudaAsyncError)));
        GPULAB_CUDA_CHECK(cudaMemsetAsync(m_async_dev, 0, sizeof(CudaAsyncError), m_stream));
        GPULAB_CUDA_CHECK(locked_malloc_host(reinterpret_cast<void**>(&m_async_host), sizeof(CudaAsyncError)));
        *m_async_host = CudaAsyncError{};
        GPULAB_CUDA_CHECK(cudaStreamSynchronize(m_stream));
    } catch (...) {
        if (m_async_host)
            (void)locked_free_host(m_async_host);
        if (m_async_dev)
            (void)locked_free(m_async_dev);
        if (m_cudnn)
            (void)cudnnDestroy(m_cudnn);
        if (m_cublas)
            (void)cublasDestroy(m_cublas);
        if (m_stream)
            (void)cudaStreamDestroy(m_stream);
        throw;
    }
}

CudaDevice::~CudaDevice()
{
    (void)cudaSetDevice(m_gpu);
    (void)cudaStreamSynchronize(m_stream);
    m_nccl.reset();
    drop_extension(); // the kernel table's cuDNN descriptors go before the handles
    {
        std::lock_guard lock(m_pool_mutex);
        for (auto& [size, ptr] : m_free) // the stream was synchronised above
            (void)locked_free(ptr);
        m_free.clear();
        // Blocks still in m_in_use belong to buffers that outlive their device (a bug
        // elsewhere): leave them rather than free memory something may still use.
    }
    {
        std::lock_guard lock(m_pinned_mutex); // the stream is idle: every copy has landed
        for (const Readback& r : m_readbacks)
            m_pinned.push_back(r.block); // read-backs nobody waited for are dropped
        m_readbacks.clear();
        for (const PinnedBlock& b : m_pinned) {
            (void)cudaEventDestroy(b.landed);
            (void)locked_free_host(b.ptr);
        }
        m_pinned.clear();
    }
    (void)locked_free_host(m_async_host);
    (void)locked_free(m_async_dev);
    (void)cudnnDestroy(m_cudnn);
    (void)cublasDestroy(m_cublas);
    (void)cudaStreamDestroy(m_stream);
    (void)cudaGetLastError();
}

std::string CudaDevice::name() const
{
    return "cuda(" + std::to_string(index()) + " on GPU " + std::to_string(m_gpu) + ")";
}

void CudaDevice::activate() const
{
    GPULAB_CUDA_CHECK(cudaSetDevice(m_gpu));
}

// ---- transfers ----------------------------------------------------------------------------

void CudaDevice::upload(void* dst, const void* host_src, int64_t bytes)
{
    if (bytes <= 0)
        return;
    activate();
    cudaPointerAttributes attr{};
    const bool pinned = cudaPointerGetAttributes(&attr, host_src) == cudaSuccess && attr.type == cudaMemoryTypeHost;
    (void)cudaGetLastError();
    const size_t n = static_cast<size_t>(bytes);
    if (pinned) {
        // The caller's pinned buffer may still be read after we return: wait for the copy.
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, n, cudaMemcpyHostToDevice, m_stream));
        GPULAB_CUDA_CHECK(cudaStreamSynchronize(m_stream));
        return;
    }
    if (n > kStagingMax || !pinned_transfers()) {
        // From pageable memory the call returns once the data is staged (it may first wait
        // for the stream): the caller may free the buffer as soon as we return.
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, n, cudaMemcpyHostToDevice, m_stream));
        return;
    }
    // Through a pinned block of ours: queued without waiting for the stream, and the caller's
    // buffer is free once memcpy has read it.
    std::lock_guard lock(m_pinned_mutex);
    PinnedBlock b = take_pinned(n);
    std::memcpy(b.ptr, host_src, n);
    cudaError_t status = cudaMemcpyAsync(dst, b.ptr, n, cudaMemcpyHostToDevice, m_stream);
    if (status == cudaSuccess)
        status = cudaEventRecord(b.landed, m_stream);
    m_pinned.push_back(b); // free again once `landed` fires (a failed copy never queued)
    GPULAB_CUDA_CHECK(status);
}

void CudaDevice::download(void* host_dst, const void* src, int64_t bytes)
{
    activate();
    if (bytes > 0)
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, size_t(bytes), cudaMemcpyDeviceToHost, m_stream));
    sync_and_check(); // the host reads host_dst right after we return
}

void CudaDevice::copy_from(void* dst, const Device& from, const void* src, int64_t bytes)
{
    if (bytes <= 0)
        return;
    const auto* source = dynamic_cast<const CudaDevice*>(&from);
    if (!source)
        throw std::invalid_argument("copy_from: " + name() + " cannot copy from " + from.name()
                                    + " (not a CUDA device)");
    activate();
    if (source == this) {
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice, m_stream));
        return;
    }
    // 1. The copy waits for everything queued on the source's stream so far (which holds
    //    the work that produced src: the engine completed those ops before this one ran).
    {
        ScopedGpu on(source->m_gpu);
        ScopedEvent ready;
        GPULAB_CUDA_CHECK(cudaEventRecord(ready.get(), source->m_stream));
        activate();
        GPULAB_CUDA_CHECK(cudaStreamWaitEvent(m_stream, ready.get(), 0));
    }
    if (t_span.device == this) // a run_timed span starts once the inputs are ready
        GPULAB_CUDA_CHECK(cudaEventRecord(t_span.start, m_stream));
    // 2. The copy, on this (the receiving) device's stream.
    if (source->m_gpu == m_gpu)
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice, m_stream));
    else
        GPULAB_CUDA_CHECK(cudaMemcpyPeerAsync(dst, m_gpu, src, source->m_gpu, static_cast<size_t>(bytes), m_stream));
    // 3. Fence back: later work on the source's stream (a write to src, or a new buffer
    //    from its pool in src's place) waits until the copy has read src.
    ScopedEvent copied;
    GPULAB_CUDA_CHECK(cudaEventRecord(copied.get(), m_stream));
    {
        ScopedGpu on(source->m_gpu);
        GPULAB_CUDA_CHECK(cudaStreamWaitEvent(source->m_stream, copied.get(), 0));
    }
}

bool CudaDevice::can_read_directly(const Device& from) const
{
    const auto* source = dynamic_cast<const CudaDevice*>(&from);
    return source && (source->m_gpu == m_gpu || peer_on(m_gpu, source->m_gpu));
}

void CudaDevice::reduce_from(float* dst, const Device& from, const float* src, int64_t count, bool accumulate)
{
    if (count <= 0)
        return;
    const auto* source = dynamic_cast<const CudaDevice*>(&from);
    if (!source || !can_read_directly(from))
        throw std::invalid_argument("reduce_from: " + name() + " cannot read " + from.name()
                                    + "'s memory directly (not a CUDA device on this GPU or a peer GPU)");
    activate();
    if (source == this) {
        cuda::add_or_copy(m_stream, count, src, dst, accumulate);
        return;
    }
    between_source_work(*source, [&] { cuda::add_or_copy(m_stream, count, src, dst, accumulate); });
}

void CudaDevice::exchange_sum(float* mine, const Device& peer, float* theirs, int64_t count)
{
    if (count <= 0)
        return;
    const auto* source = dynamic_cast<const CudaDevice*>(&peer);
    if (!source || !can_read_directly(peer))
        throw std::invalid_argument("exchange_sum: " + name() + " cannot reach " + peer.name()
                                    + "'s memory directly (not a CUDA device on this GPU or a peer GPU)");
    activate();
    if (source == this) {
        cuda::exchange_sum(m_stream, count, mine, theirs);
        return;
    }
    // As reduce_from: after the work that produced theirs, and before the peer's later work
    // (which reads the sum written into theirs, writes theirs, or takes a new buffer in its place).
    between_source_work(*source, [&] { cuda::exchange_sum(m_stream, count, mine, theirs); });
}

void CudaDevice::between_source_work(const CudaDevice& source, const std::function<void()>& launch)
{
    // Ordered as copy_from: after the work that produced src, and before later work on the
    // source's stream (a write to src, or a new buffer in src's place).
    {
        ScopedGpu on(source.m_gpu);
        ScopedEvent ready;
        GPULAB_CUDA_CHECK(cudaEventRecord(ready.get(), source.m_stream));
        activate();
        GPULAB_CUDA_CHECK(cudaStreamWaitEvent(m_stream, ready.get(), 0));
    }
    if (t_span.device == this) // a run_timed span starts once the inputs are ready
        GPULAB_CUDA_CHECK(cudaEventRecord(t_span.start, m_stream));
    launch();
    ScopedEvent done;
    GPULAB_CUDA_CHECK(cudaEventRecord(done.get(), m_stream));
    {
        ScopedGpu on(source.m_gpu);
        GPULAB_CUDA_CHECK(cudaStreamWaitEvent(source.m_stream, done.get(), 0));
    }
}

void CudaDevice::synchronize()
{
    activate();
    sync_and_check();
}

// ---- pinned blocks and read-backs that do not wait ----------------------------------------

CudaDevice::PinnedBlock CudaDevice::take_pinned(size_t bytes)
{
    // The smallest free block with room whose last copy has landed.
    auto take_landed = [&](PinnedBlock* out) {
        size_t best = m_pinned.size();
        for (size_t i = 0; i < m_pinned.size(); ++i) {
            if (m_pinned[i].bytes < bytes || (best < m_pinned.size() && m_pinned[best].bytes <= m_pinned[i].bytes))
                continue;
            const cudaError_t q = cudaEventQuery(m_pinned[i].landed);
            if (q == cudaErrorNotReady)
                continue;
            GPULAB_CUDA_CHECK(q);
            best = i;
        }
        if (best == m_pinned.size())
            return false;
        *out = m_pinned[best];
        m_pinned.erase(m_pinned.begin() + static_cast<std::ptrdiff_t>(best));
        return true;
    };
    PinnedBlock b;
    if (take_landed(&b))
        return b;
    if (m_pinned_bytes + bytes > kPinnedCap) {
        GPULAB_CUDA_CHECK(cudaStreamSynchronize(m_stream)); // every copy has landed
        if (take_landed(&b))
            return b;
        for (const PinnedBlock& small : m_pinned) { // free, landed, all too small: drop them
            GPULAB_CUDA_CHECK(cudaEventDestroy(small.landed));
            GPULAB_CUDA_CHECK(locked_free_host(small.ptr));
            m_pinned_bytes -= small.bytes;
        }
        m_pinned.clear();
    }
    b.bytes = (std::max<size_t>(bytes, 1) + kPinnedGranularity - 1) / kPinnedGranularity * kPinnedGranularity;
    GPULAB_CUDA_CHECK(locked_malloc_host(&b.ptr, b.bytes));
    const cudaError_t made = cudaEventCreateWithFlags(&b.landed, cudaEventDisableTiming);
    if (made != cudaSuccess)
        (void)locked_free_host(b.ptr);
    GPULAB_CUDA_CHECK(made);
    m_pinned_bytes += b.bytes;
    return b;
}

void CudaDevice::download_then(const float* src, int64_t count, ReadbackFn then)
{
    if (!pinned_transfers()) {
        Device::download_then(src, count, std::move(then));
        return;
    }
    activate();
    run_landed_readbacks(false);
    bool check = false; // a kernel may have reported a CudaAsyncError: its copy goes along
    {
        std::lock_guard lock(m_async_mutex);
        check = m_async_check_due;
        m_async_check_due = false;
    }
    const size_t data = static_cast<size_t>(count) * sizeof(float);
    Readback r;
    r.count = count;
    r.then = std::move(then);
    r.error_offset = check ? (data + 15) / 16 * 16 + 16 : 0; // past the data, aligned, never 0
    std::lock_guard lock(m_pinned_mutex);
    r.block = take_pinned(check ? r.error_offset + sizeof(CudaAsyncError) : data);
    cudaError_t status = data > 0 ? cudaMemcpyAsync(r.block.ptr, src, data, cudaMemcpyDeviceToHost, m_stream)
                                  : cudaSuccess;
    if (status == cudaSuccess && check)
        status = cudaMemcpyAsync(static_cast<char*>(r.block.ptr) + r.error_offset, m_async_dev,
                                 sizeof(CudaAsyncError), cudaMemcpyDeviceToHost, m_stream);
    if (status == cudaSuccess)
        status = cudaEventRecord(r.block.landed, m_stream);
    if (status != cudaSuccess) {
        m_pinned.push_back(r.block);
        if (check) { // the check did not travel: leave it due
            std::lock_guard async_lock(m_async_mutex);
            m_async_check_due = true;
        }
        GPULAB_CUDA_CHECK(status);
    }
    m_readbacks.push_back(std::move(r));
}

// Runs the `then` of every read-back that has landed, in order; with wait, of every one.
void CudaDevice::run_landed_readbacks(bool wait)
{
    for (;;) {
        Readback r;
        std::vector<float> host;
        CudaAsyncError err{};
        {
            std::lock_guard lock(m_pinned_mutex);
            if (m_readbacks.empty())
                return;
            Readback& front = m_readbacks.front();
            const cudaError_t q = wait ? cudaEventSynchronize(front.block.landed) : cudaEventQuery(front.block.landed);
            if (q == cudaErrorNotReady)
                return;
            GPULAB_CUDA_CHECK(q);
            r = std::move(front);
            m_readbacks.pop_front();
            const float* f = static_cast<const float*>(r.block.ptr);
            host.assign(f, f + r.count);
            if (r.error_offset)
                std::memcpy(&err, static_cast<const char*>(r.block.ptr) + r.error_offset, sizeof err);
            m_pinned.push_back(r.block);
        }
        if (err.code != 0)
            report_async_error(err);
        r.then(host);
    }
}

void CudaDevice::finish_readbacks()
{
    activate();
    run_landed_readbacks(true);
    sync_and_check(); // a check due since the last read-back
}

double CudaDevice::run_timed(const std::function<void()>& work)
{
    activate();
    ScopedEvent start(true), end(true);
    GPULAB_CUDA_CHECK(cudaEventRecord(start.get(), m_stream));
    t_span = TimedSpan{this, start.get()};
    try {
        work();
    } catch (...) {
        t_span = TimedSpan{};
        throw;
    }
    t_span = TimedSpan{};
    activate();
    GPULAB_CUDA_CHECK(cudaEventRecord(end.get(), m_stream));
    sync_and_check();
    float ms = 0;
    GPULAB_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), end.get()));
    return double(ms) * 1000.0;
}

CudaAsyncError* CudaDevice::async_error_slot()
{
    std::lock_guard lock(m_async_mutex);
    m_async_check_due = true;
    return m_async_dev;
}

void CudaDevice::sync_and_check()
{
    bool due;
    {
        std::lock_guard lock(m_async_mutex);
        due = m_async_check_due;
        m_async_check_due = false;
    }
    if (due)
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(m_async_host, m_async_dev, sizeof(CudaAsyncError), cudaMemcpyDeviceToHost,
                                          m_stream));
    GPULAB_CUDA_CHECK(cudaStreamSynchronize(m_stream));
    if (due && m_async_host->code != 0) {
        const CudaAsyncError e = *m_async_host;
        *m_async_host = CudaAsyncError{};
        report_async_error(e);
    }
}

// Clears the device's error slot and throws what a kernel reported in it.
void CudaDevice::report_async_error(const CudaAsyncError& e)
{
    GPULAB_CUDA_CHECK(cudaMemsetAsync(m_async_dev, 0, sizeof(CudaAsyncError), m_stream));
    GPULAB_CUDA_CHECK(cudaStreamSynchronize(m_stream));
    throw std::out_of_range("softmax_xent on " + name() + ": label " + std::to_string(e.label) + " at row "
                            + std::to_string(e.row) + " is outside [0, " + std::to_string(e.classes)
                            + "); the labels do not match the number of classes");
}

// ---- memory ------------------------------------------------------------------------------

void* CudaDevice::raw_allocate(int64_t bytes)
{
    const size_t want = (std::max<size_t>(static_cast<size_t>(bytes), 1) + kPoolGranularity - 1) / kPoolGranularity
                        * kPoolGranularity;
    std::lock_guard lock(m_pool_mutex);
    // Reuse the smallest cached block that fits without wasting more than half of it.
    if (auto it = m_free.lower_bound(want); it != m_free.end() && it->first <= 2 * want) {
        void* p = it->second;
        m_in_use.emplace(p, it->first);
        m_free.erase(it);
        return p;
    }
    ScopedGpu on(m_gpu); // the front end allocates at push time, on its own thread
    if (m_reserved + static_cast<int64_t>(want) > memory_budget() && !m_free.empty())
        free_cached_locked(); // as on a simulated device, cached + in use stay within the budget
    void* p = nullptr;
    cudaError_t err = locked_malloc(&p, want);
    if (err == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        free_cached_locked(); // give the cache back to the GPU and try once more
        err = locked_malloc(&p, want);
    }
    if (err == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        return nullptr; // Device::allocate reports it as OutOfMemory, with an event
    }
    GPULAB_CUDA_CHECK(err);
    m_in_use.emplace(p, want);
    m_reserved += static_cast<int64_t>(want);
    return p;
}

void CudaDevice::raw_release(void* ptr, int64_t)
{
    // Called from Buffer's destructor, on any thread: no CUDA call, no throw. Every use of
    // the block is already queued on m_stream (or fenced into it), so later work queued on
    // m_stream may reuse it.
    std::lock_guard lock(m_pool_mutex);
    auto it = m_in_use.find(ptr);
    if (it == m_in_use.end())
        return;
    m_free.emplace(it->second, ptr);
    m_in_use.erase(it);
}

int64_t CudaDevice::bytes_reserved() const
{
    std::lock_guard lock(m_pool_mutex);
    return m_reserved;
}

void CudaDevice::release_cached()
{
    std::lock_guard lock(m_pool_mutex);
    ScopedGpu on(m_gpu);
    free_cached_locked();
}

void CudaDevice::free_cached_locked()
{
    if (m_free.empty())
        return;
    // Every use of a cached block is queued on m_stream (uses from another device's stream
    // are fenced into it by copy_from): once the stream is idle, none is pending. cudaFree
    // itself only *may* wait for the GPU, so we do not rely on it.
    GPULAB_CUDA_CHECK(cudaStreamSynchronize(m_stream));
    while (!m_free.empty()) { // one at a time: a failing cudaFree leaves no freed block behind
        const auto [size, ptr] = *m_free.begin();
        m_free.erase(m_free.begin());
        m_reserved -= static_cast<int64_t>(size);
        GPULAB_CUDA_CHECK(locked_free(ptr));
    }
}

// ---- NCCL communicators -------------------------------------------------------------------

std::shared_ptr<NcclComms> CudaDevice::nccl_comms() const
{
    std::lock_guard lock(m_nccl_mutex);
    return m_nccl;
}

void CudaDevice::set_nccl_comms(std::shared_ptr<NcclComms> comms)
{
    std::lock_guard lock(m_nccl_mutex);
    m_nccl = std::move(comms);
}

// ---- the GPU time of work on several streams ------------------------------------------------

CudaGpuSpan::CudaGpuSpan(const std::vector<Device*>& devices)
{
    for (Device* d : devices) {
        auto* cuda = dynamic_cast<CudaDevice*>(d);
        if (!cuda)
            throw std::invalid_argument("CudaGpuSpan: " + (d ? d->name() : std::string("(none)")) + " is not a CUDA device");
        if (!m_devices.empty() && cuda->gpu() != m_devices.front()->gpu())
            throw std::invalid_argument("CudaGpuSpan: " + m_devices.front()->name() + " and " + cuda->name()
                                        + " are on different GPUs (their events cannot be compared)");
        m_devices.push_back(cuda);
    }
    if (m_devices.empty())
        throw std::invalid_argument("CudaGpuSpan: no device");
    ScopedGpu on(m_devices.front()->gpu());
    {
        std::lock_guard lock(cuda_global_mutex());
        GPULAB_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&m_flags), 2 * sizeof(int),
                                        cudaHostAllocMapped | cudaHostAllocPortable));
    }
    m_flags[0] = 1;
    m_flags[1] = 0;
    GPULAB_CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&m_flags_dev), m_flags, 0));
    GPULAB_CUDA_CHECK(cudaEventCreate(&m_start));
    m_end.resize(m_devices.size(), nullptr);
    for (auto& e : m_end)
        GPULAB_CUDA_CHECK(cudaEventCreate(&e));
}

CudaGpuSpan::~CudaGpuSpan()
{
    if (m_flags) {
        reinterpret_cast<volatile int*>(m_flags)[0] = 1; // a gate still held ends now
        for (CudaDevice* d : m_devices) {
            (void)cudaSetDevice(d->gpu());
            (void)cudaStreamSynchronize(d->stream());
        }
    }
    for (cudaEvent_t e : m_end)
        if (e)
            (void)cudaEventDestroy(e);
    if (m_start)
        (void)cudaEventDestroy(m_start);
    if (m_flags) {
        std::lock_guard lock(cuda_global_mutex());
        (void)cudaFreeHost(m_flags);
    }
    (void)cudaGetLastError();
}

void CudaGpuSpan::hold()
{
    if (m_held)
        throw std::logic_error("CudaGpuSpan::hold: already held");
    volatile int* flags = m_flags;
    flags[0] = 0;
    flags[1] = -1;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    CudaDevice& first = *m_devices.front();
    first.activate();
    cuda::gate(first.stream(), m_flags_dev, m_flags_dev + 1, uint64_t(2'000'000'000));
    GPULAB_CUDA_CHECK(cudaEventRecord(m_start, first.stream()));
    for (size_t i = 1; i < m_devices.size(); ++i)
        GPULAB_CUDA_CHECK(cudaStreamWaitEvent(m_devices[i]->stream(), m_start, 0));
    m_held = true;
}

double CudaGpuSpan::release_us()
{
    if (!m_held)
        throw std::logic_error("CudaGpuSpan::release_us: not held");
    m_held = false;
    m_devices.front()->activate();
    for (size_t i = 0; i < m_devices.size(); ++i)
        GPULAB_CUDA_CHECK(cudaEventRecord(m_end[i], m_devices[i]->stream()));
    std::atomic_thread_fence(std::memory_order_seq_cst);
    reinterpret_cast<volatile int*>(m_flags)[0] = 1;
    for (CudaDevice* d : m_devices)
        d->synchronize();
    if (reinterpret_cast<volatile int*>(m_flags)[1] != 0)
        return -1; // the gate gave up before it was opened
    float worst = 0;
    for (cudaEvent_t e : m_end) {
        float ms = 0;
        GPULAB_CUDA_CHECK(cudaEventElapsedTime(&ms, m_start, e));
        worst = std::max(worst, ms);
    }
    return double(worst) * 1000.0;
}

} // namespace gpulab
