// CudaDevice: a logical device on an NVIDIA GPU (logical i on GPU i mod P) with its own
// stream, cuBLAS and cuDNN handles, and a caching memory pool accounted like a simulated
// device's budget. Built only with the CUDA backend (GPULAB_HAVE_CUDA).
#pragma once

#include "device/cuda_async_error.h"
#include "device/device.h"
#include "device/device_factory.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

struct cublasContext; // cublasHandle_t = cublasContext*
struct cudnnContext;  // cudnnHandle_t  = cudnnContext*

namespace gpulab {

struct NcclComms; // comm/nccl_allreduce.cpp

// ---- the backend as a whole -----------------------------------------------------------
// cuda_usable(), cuda_device_count() and cuda_gpus() are declared in device_factory.h.

// One logical device on physical GPU (gpu mod cuda_device_count(); gpu < 0: logical_index
// instead). Peer access is enabled between its GPU and every other GPU that already holds a
// device, and only between those: GPUs the run does not use are left alone.
std::unique_ptr<Device> make_cuda_device(int logical_index, int64_t memory_budget,
                                         EventStream* trace, int gpu = -1);

// The pairs (from, to) of GPUs whose peer access must be enabled when `gpu` first holds a
// device, given the GPUs that held one before (both directions with each). Plain logic,
// kept apart so that it can be checked without a GPU.
std::vector<std::pair<int, int>> peer_pairs_to_enable(const std::vector<int>& held_before, int gpu);

// ---- the process-wide lock --------------------------------------------------------------
// Held around every cudaMalloc, cudaFree, cudaMallocHost and cudaFreeHost, around each NCCL
// group (ncclGroupStart ... ncclGroupEnd), and around making and destroying communicators.
// With peer access on, cudaFree and its kin may synchronise every peer GPU. Should one run
// while another thread is inside an NCCL group, with some ranks' kernels launched and not
// yet the others', the launched ones wait for ranks that cannot launch: a hang. PyTorch's
// caching allocator holds one mutex for the same reason. Never held while waiting for
// another thread; take it last (after a device's own mutexes).
std::mutex& cuda_global_mutex();

// ---- device -----------------------------------------------------------------------------
class CudaDevice final : public Device {
public:
    CudaDevice(int index, int gpu, int64_t memory_budget, EventStream* trace);
    ~CudaDevice() override;

    DeviceKind kind() const override { return DeviceKind::Cuda; }
    std::string name() const override; // "cuda(1 on GPU 0)"

    int gpu() const { return m_gpu; }
    cudaStream_t stream() const { return m_stream; }
    cublasContext* cublas() const { return m_cublas; }
    cudnnContext* cudnn() const { return m_cudnn; }

    // Makes this device's GPU current on the calling thread (every entry point does).
    void activate() const;
    void bind_worker_thread() override { activate(); }

    // ---- transfers: ordered on this device's stream ----
    // upload returns once the host buffer may be reused; download once the data is in
    // host memory; copy_from orders the source's stream before the copy and the copy
    // before the source's later work with events (no host synchronisation).
    void upload(void* dst, const void* host_src, int64_t bytes) override;
    void download(void* host_dst, const void* src, int64_t bytes) override;
    void copy_from(void* dst, const Device& from, const void* src, int64_t bytes) override;
    // dst = src (+ dst with accumulate), count floats, src on `from`: one kernel of ours on
    // this device's stream reads src where it lies, ordered against from's stream as
    // copy_from is. For the allreduce: no receive buffer, no second pass over the data.
    // Needs can_read_directly(from); std::invalid_argument otherwise.
    void reduce_from(float* dst, const Device& from, const float* src, int64_t count, bool accumulate);
    // Whether this device's kernels can read from's memory: from is a CUDA device on this
    // GPU, or on a GPU this one has peer access to.
    bool can_read_directly(const Device& from) const;
    // mine = theirs = mine + theirs, count floats, mine on this device, theirs on `peer`: one
    // kernel of ours on this device's stream reads both and writes the sum into both, ordered
    // against peer's stream as reduce_from is (after the work that produced theirs; the
    // peer's later work waits for the write). The allreduce's fused exchange for a ring of
    // two. Needs can_read_directly(peer); std::invalid_argument otherwise.
    void exchange_sum(float* mine, const Device& peer, float* theirs, int64_t count);
    // Waits for the stream; reports a pending CudaAsyncError (std::out_of_range).
    void synchronize() override;
    // The copy lands in a pinned block of ours; `then` runs when a later download_then
    // finds it landed, or in finish_readbacks (which waits). A due CudaAsyncError check
    // travels with the copy and is reported before `then` runs.
    void download_then(const float* src, int64_t count, ReadbackFn then) override;
    void finish_readbacks() override;
    // Times work on the stream with CUDA events, from when its inputs were ready (after
    // the wait of a copy_from inside it) to when it ended; waits for it.
    double run_timed(const std::function<void()>& work) override;

    // ---- memory ----
    int64_t bytes_reserved() const override; // taken from cudaMalloc, in use or cached
    void release_cached();                   // gives every cached free block back

    // Device pointer where kernels report a CudaAsyncError; marks a check as due.
    CudaAsyncError* async_error_slot();

    // NCCL communicators this device belongs to (comm/nccl_allreduce.cpp manages them).
    std::shared_ptr<NcclComms> nccl_comms() const;
    void set_nccl_comms(std::shared_ptr<NcclComms> comms);

protected:
    // Queues launch() on this device's stream between source's earlier work and its later
    // work (events both ways; no host wait); a run_timed span starts after the first wait.
    void between_source_work(const CudaDevice& source, const std::function<void()>& launch);
    void* raw_allocate(int64_t bytes) override;
    void raw_release(void* ptr, int64_t bytes) override;

private:
    void sync_and_check();
    [[noreturn]] void report_async_error(const CudaAsyncError& e);

    // Pinned host memory for transfers that do not wait: uploads are staged through a
    // block (from pageable memory CUDA may wait for the stream first), read-backs land in
    // one. A block is free again once the event recorded after its last copy has fired.
    struct PinnedBlock {
        void* ptr = nullptr;
        size_t bytes = 0;
        cudaEvent_t landed = nullptr;
    };
    struct Readback {
        PinnedBlock block;
        int64_t count = 0;
        size_t error_offset = 0; // where the CudaAsyncError copy is; 0: none travels
        ReadbackFn then;
    };
    PinnedBlock take_pinned(size_t bytes); // m_pinned_mutex held
    void run_landed_readbacks(bool wait);
    std::mutex m_pinned_mutex;
    std::vector<PinnedBlock> m_pinned; // free blocks (their last copy may be in flight)
    std::deque<Readback> m_readbacks;  // asked for, `then` not yet run
    size_t m_pinned_bytes = 0;         // every block, free or holding a read-back
    void free_cached_locked(); // m_pool_mutex held

    int m_gpu;
    cudaStream_t m_stream = nullptr;
    cublasContext* m_cublas = nullptr;
    cudnnContext* m_cudnn = nullptr;

    // Caching pool: freed blocks wait in m_free for a request of about their size. A block
    // is only ever used by work queued on m_stream (or fenced into it), so handing it out
    // again to later work on the same stream needs no synchronisation.
    mutable std::mutex m_pool_mutex;
    std::multimap<size_t, void*> m_free;          // capacity -> block
    std::unordered_map<void*, size_t> m_in_use;   // block -> capacity
    int64_t m_reserved = 0;

    CudaAsyncError* m_async_dev = nullptr;  // device memory
    CudaAsyncError* m_async_host = nullptr; // pinned host copy
    bool m_async_check_due = false;         // guarded by m_async_mutex
    std::mutex m_async_mutex;

    mutable std::mutex m_nccl_mutex;
    std::shared_ptr<NcclComms> m_nccl;
};

// ---- the GPU time of work on several streams, without the host's time to queue it ----------
// For the benchmark. hold() parks the streams of the given devices (all on one GPU) behind a
// gate: a one-thread kernel on the first device's stream waits for a flag in pinned host
// memory (for 2 s at most) and the other streams wait for it. The caller then queues its work,
// and waits until it is queued, not done (no host wait on these streams meanwhile: it would
// last until the gate gives up). release_us() opens the gate, waits for every stream and
// returns the microseconds from the gate's opening to the end of the last stream's work: the
// time the GPU took with everything already queued. It returns a negative value when the gate
// gave up before it was opened (then the time would include that wait).
class CudaGpuSpan {
public:
    // std::invalid_argument when the devices are not all CUDA devices on one GPU.
    explicit CudaGpuSpan(const std::vector<Device*>& devices);
    ~CudaGpuSpan();
    CudaGpuSpan(const CudaGpuSpan&) = delete;
    CudaGpuSpan& operator=(const CudaGpuSpan&) = delete;

    void hold();
    double release_us();

private:
    std::vector<CudaDevice*> m_devices;
    int* m_flags = nullptr; // pinned, mapped: [0] open, [1] timed out (-1 until the gate ends)
    int* m_flags_dev = nullptr;
    cudaEvent_t m_start = nullptr;
    std::vector<cudaEvent_t> m_end;
    bool m_held = false;
};

} // namespace gpulab
