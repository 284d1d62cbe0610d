// GPU ranks over NCCL. The communicator is non-blocking (ncclConfig_t::blocking = 0): every
// wait for it (its making, each allreduce's launch, the allreduce itself on the GPU) polls with
// a deadline and listens for a failed rank, and an NCCL that waits for a rank that will never
// come is aborted (ncclCommAbort) instead of hanging the process. Built with GPULAB_HAVE_NCCL.
#include "rank/nccl_rank.h"

#include "device/cuda_check.h"
#include "device/cuda_device.h"
#include "rank/nccl_rank_plan.h"

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace gpulab {

namespace {

using Clock = std::chrono::steady_clock;

std::string nccl_words(ncclResult_t r, ncclComm_t c)
{
    std::string s = ncclGetErrorString(r);
    const char* last = ncclGetLastError(c);
    if (last && *last)
        s += std::string(": ") + last;
    return s;
}

static_assert(sizeof(ncclUniqueId) == kNcclIdBytes, "NCCL's unique id changed size");

class NcclRankGroup final : public RankGroup {
public:
    NcclRankGroup(std::unique_ptr<RankGroup> joined, int gpu, std::chrono::milliseconds timeout)
        : m_host(std::move(joined)), m_gpu(gpu), m_timeout(timeout)
    {
        // A failure here is told to the other ranks in its own words (they would otherwise
        // hear only that this rank's connection dropped), and always as a GpulabError.
        Error failed;
        try {
            make();
            return;
        } catch (const GpulabError& e) {
            failed = e.error;
        } catch (const std::exception& e) {
            failed = init_failed(e.what());
        }
        abort_comm();
        release();
        if (failed.code != ErrorCode::RankLost)
            m_host->report_failure(english(failed));
        m_host->finish(); // rank 0 keeps the store up until the others have heard (or 5 s)
        throw GpulabError(failed);
    }

    ~NcclRankGroup() override
    {
        close_comm();
        release();
    }

private:
    // The unique id through the store, the communicator, the buffers of the value summed
    // beside the gradient.
    void make()
    {
        GPULAB_CUDA_CHECK(cudaSetDevice(m_gpu));
        std::vector<char> id(kNcclIdBytes);
        if (rank() == 0) {
            ncclUniqueId made;
            if (ncclResult_t r = ncclGetUniqueId(&made); r != ncclSuccess)
                throw GpulabError(init_failed(nccl_words(r, nullptr)));
            std::memcpy(id.data(), &made, kNcclIdBytes);
        }
        id = share_nccl_id(*m_host, id);
        ncclUniqueId shared;
        std::memcpy(&shared, id.data(), kNcclIdBytes);

        ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
        config.blocking = 0;
        ncclResult_t r;
        {
            std::lock_guard lock(cuda_global_mutex());
            r = ncclCommInitRankConfig(&m_comm, world(), shared, rank(), &config);
        }
        if (r != ncclSuccess && r != ncclInProgress) {
            const std::string why = nccl_words(r, m_comm);
            abort_comm();
            throw GpulabError(init_failed(why));
        }
        const auto deadline = Clock::now() + m_timeout;
        if (Error e = wait_ready(deadline, true))
            throw GpulabError(e);
        {
            std::lock_guard lock(cuda_global_mutex());
            GPULAB_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&m_value_dev), sizeof(float)));
            GPULAB_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&m_value_host), sizeof(float)));
        }
        GPULAB_CUDA_CHECK(cudaEventCreateWithFlags(&m_done, cudaEventDisableTiming));
    }

    void release()
    {
        (void)cudaSetDevice(m_gpu);
        if (m_done)
            (void)cudaEventDestroy(m_done);
        std::lock_guard lock(cuda_global_mutex());
        if (m_value_dev)
            (void)cudaFree(m_value_dev);
        if (m_value_host)
            (void)cudaFreeHost(m_value_host);
        m_done = nullptr;
        m_value_dev = m_value_host = nullptr;
    }

public:

    int rank() const override { return m_host->rank(); }
    int world() const override { return m_host->world(); }
    void allreduce_sum(float* data, size_t count) override { m_host->allreduce_sum(data, count); }
    void broadcast_from_rank0(float* data, size_t count) override { m_host->broadcast_from_rank0(data, count); }
    void report_failure(const std::string& why) override { m_host->report_failure(why); }
    void finish() override
    {
        close_comm();
        m_host->finish();
    }
    double allreduce_seconds() const override { return m_host->allreduce_seconds() + m_seconds; }
    void store_set(const std::string& key, const std::string& value) override { m_host->store_set(key, value); }
    std::string store_get(const std::string& key) override { return m_host->store_get(key); }
    std::optional<std::string> store_try_get(const std::string& key) override { return m_host->store_try_get(key); }
    std::string host() const override { return m_host->host(); }
    std::string events_host() const override { return m_host->events_host(); }
    std::string master_host() const override { return m_host->master_host(); }
    std::string token() const override { return m_host->token(); }
    std::chrono::milliseconds timeout() const override { return m_host->timeout(); }
    void leave() override
    {
        abort_comm(); // an allreduce the others are in ends for them too
        m_host->leave();
    }
    std::optional<std::pair<int, std::string>> failure() override { return m_host->failure(); }
    int first_gpu() const override { return m_gpu; }

    bool device_allreduce_sum(Device& device, float* data, size_t count, float* value) override
    {
        auto* dev = dynamic_cast<CudaDevice*>(&device);
        if (!dev || dev->gpu() != m_gpu)
            throw std::invalid_argument("the ranks' NCCL allreduce runs on this rank's first device, on GPU " +
                                        std::to_string(m_gpu));
        if (!m_comm)
            throw GpulabError(lost("its NCCL communicator was aborted"));
        const auto t0 = Clock::now();
        const auto deadline = t0 + m_timeout;
        dev->activate();
        *m_value_host = *value;
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(m_value_dev, m_value_host, sizeof(float), cudaMemcpyHostToDevice,
                                          dev->stream()));
        ncclResult_t r;
        {
            // Around the group, as for every NCCL group (cuda_device.h). Not while NCCL
            // finishes the launch without blocking: that may wait for the other ranks (its
            // connections are made at the first allreduce), and ranks that are threads of one
            // process (the tests) would then wait for each other's lock.
            std::lock_guard lock(cuda_global_mutex());
            GPULAB_CUDA_CHECK(ncclGroupStart());
            r = ncclAllReduce(data, data, count, ncclFloat, ncclSum, m_comm, dev->stream());
            if (r == ncclSuccess || r == ncclInProgress)
                r = ncclAllReduce(m_value_dev, m_value_dev, 1, ncclFloat, ncclSum, m_comm, dev->stream());
            const ncclResult_t end = ncclGroupEnd();
            if (r == ncclSuccess || r == ncclInProgress)
                r = end;
        }
        if (r != ncclSuccess && r != ncclInProgress) {
            const std::string why = nccl_words(r, m_comm);
            abort_comm();
            throw GpulabError(lost(why));
        }
        if (Error e = wait_ready(deadline, false))
            throw GpulabError(e);
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(m_value_host, m_value_dev, sizeof(float), cudaMemcpyDeviceToHost,
                                          dev->stream()));
        GPULAB_CUDA_CHECK(cudaEventRecord(m_done, dev->stream()));
        // The sum on the GPU: a rank that never arrives leaves it waiting for ever.
        auto next_look = t0 + std::chrono::milliseconds(250);
        for (int spins = 0;; ++spins) {
            const cudaError_t q = cudaEventQuery(m_done);
            if (q == cudaSuccess)
                break;
            if (q != cudaErrorNotReady)
                GPULAB_CUDA_CHECK(q);
            ncclResult_t state = ncclSuccess;
            (void)ncclCommGetAsyncError(m_comm, &state);
            if (state != ncclSuccess && state != ncclInProgress) {
                const std::string why = nccl_words(state, m_comm);
                abort_comm();
                throw GpulabError(lost(why));
            }
            const auto now = Clock::now();
            if (now >= next_look) {
                next_look = now + std::chrono::milliseconds(250);
                if (auto f = m_host->failure()) {
                    abort_comm();
                    throw GpulabError(Error(ErrorCode::RankLost, {{"rank", std::to_string(f->first)}, {"why", f->second}}));
                }
            }
            if (now >= deadline) {
                abort_comm();
                throw GpulabError(lost("the NCCL allreduce did not finish within " + seconds_text() + " s"));
            }
            if (spins < 2000)
                std::this_thread::yield();
            else
                std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        *value = *m_value_host;
        m_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        return true;
    }

private:
    std::string seconds_text() const
    {
        return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(m_timeout).count());
    }
    Error init_failed(const std::string& why) const
    {
        return Error(ErrorCode::RankNcclInitFailed,
                     {{"rank", std::to_string(rank())}, {"gpu", std::to_string(m_gpu)}, {"why", why}});
    }
    // Another rank is gone: the first that failed, as the rendezvous knows it.
    Error lost(const std::string& what)
    {
        // The rendezvous may hear of it a moment later than NCCL did.
        const auto until = Clock::now() + std::chrono::seconds(5);
        for (;;) {
            if (auto f = m_host->failure())
                return Error(ErrorCode::RankLost, {{"rank", std::to_string(f->first)}, {"why", f->second}});
            if (Clock::now() >= until)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return Error(ErrorCode::RankLost, {{"rank", "?"}, {"why", what}});
    }
    // Until the communicator has no operation in progress (made, or its launch done), a
    // rank failed, or the deadline passed; then aborted, with the error. init: while making it.
    Error wait_ready(Clock::time_point deadline, bool init)
    {
        auto next_look = Clock::now() + std::chrono::milliseconds(250);
        for (;;) {
            ncclResult_t state = ncclInProgress;
            const ncclResult_t r = ncclCommGetAsyncError(m_comm, &state);
            if (r != ncclSuccess)
                state = r;
            if (state == ncclSuccess)
                return {};
            if (state != ncclInProgress) {
                const std::string why = nccl_words(state, m_comm);
                abort_comm();
                return init ? init_failed(why) : lost(why);
            }
            const auto now = Clock::now();
            if (now >= next_look) {
                next_look = now + std::chrono::milliseconds(250);
                if (auto f = m_host->failure()) {
                    abort_comm();
                    return Error(ErrorCode::RankLost, {{"rank", std::to_string(f->first)}, {"why", f->second}});
                }
            }
            if (now >= deadline) {
                abort_comm();
                if (init)
                    return Error(ErrorCode::RankNcclInitTimeout, {{"seconds", seconds_text()}});
                return lost("NCCL did not launch the allreduce within " + seconds_text() + " s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    void abort_comm()
    {
        if (!m_comm)
            return;
        (void)ncclCommAbort(m_comm);
        m_comm = nullptr;
    }
    // Done with it: finalize (every operation has finished), then destroy; abort when that
    // does not end within a few seconds.
    void close_comm()
    {
        if (!m_comm)
            return;
        (void)cudaSetDevice(m_gpu);
        ncclResult_t state = ncclCommFinalize(m_comm);
        const auto deadline = Clock::now() + std::chrono::seconds(5);
        while (state == ncclInProgress && Clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            if (ncclCommGetAsyncError(m_comm, &state) != ncclSuccess)
                break;
        }
        if (state != ncclSuccess) {
            abort_comm();
            return;
        }
        std::lock_guard lock(cuda_global_mutex());
        (void)ncclCommDestroy(m_comm);
        m_comm = nullptr;
    }

    std::unique_ptr<RankGroup> m_host;
    int m_gpu = 0;
    std::chrono::milliseconds m_timeout;
    ncclComm_t m_comm = nullptr;
    float* m_value_dev = nullptr;  // the loss summed beside the gradient
    float* m_value_host = nullptr; // pinned
    cudaEvent_t m_done = nullptr;
    double m_seconds = 0;
};

} // namespace

std::unique_ptr<RankGroup> join_nccl_ranks(std::unique_ptr<RankGroup> joined, int first_gpu,
                                           std::chrono::milliseconds timeout)
{
    return std::make_unique<NcclRankGroup>(std::move(joined), first_gpu, timeout);
}

} // namespace gpulab
