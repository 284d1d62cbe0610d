// tst_cuda_allreduce: naive, ring and NCCL allreduce on CUDA devices (several logical
// devices per GPU where there is one GPU), and short training runs against the CPU
// reference. Skips only where there is no NVIDIA driver or no GPU (require_cuda.h). Plain C++, no Qt.
#include "support/plain_test.h"
#include "support/scoped_env.h"
#include "support/require_cuda.h"

#include "device/device_factory.h"
#include "trace/event_stream.h"
#include "verify/verify.h"

#ifdef GPULAB_HAVE_NCCL
#include "comm/nccl_allreduce.h"
#endif

#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_device.h"
#endif

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <stdexcept>
#include <thread>

using namespace gpulab;

namespace {

void require_ok(const VerifyCheck& c)
{
    std::printf("  %s %s: worst %.3g (allowed %.0e + %.0e*|ref|) %s\n", c.ok ? "OK  " : "FAIL", c.name.c_str(), c.worst,
                c.tol, c.eps, c.note.c_str());
    PT_VERIFY2(c.ok, c.name + ": " + c.note);
}

std::vector<Device*> first(const std::vector<std::unique_ptr<Device>>& devs, int n)
{
    std::vector<Device*> p;
    for (int i = 0; i < n; ++i)
        p.push_back(devs[size_t(i)].get());
    return p;
}

} // namespace

PT_TEST(naive_and_ring_match_the_host_sum)
{
    require_cuda();
    auto devs = make_devices(DeviceKind::Cuda, 4, kDefaultMemoryBudget, 1, nullptr);
    for (int n : {1, 2, 3, 4})
        for (EngineKind e : {EngineKind::Threaded, EngineKind::Sync})
            for (AllreduceKind k : {AllreduceKind::Naive, AllreduceKind::Ring})
                require_ok(verify_allreduce(first(devs, n), k, e, 129068, 7));
}


// The fused transfer (one kernel reads the sender's chunk in place and adds or copies it)
// and copy + add give the host's sum, for sizes whose chunks start 16-byte aligned (vector
// loads) and for sizes whose chunks do not (the element-wise tail).
PT_TEST(fused_and_copy_add_transfers_match_the_host_sum)
{
    require_cuda();
    const int gpus = cuda_device_count();
    auto devs = make_devices(DeviceKind::Cuda, std::max(4, gpus + 1), kDefaultMemoryBudget, 1, nullptr);
#ifdef GPULAB_HAVE_CUDA
    auto* d0 = dynamic_cast<CudaDevice*>(devs[0].get());
    PT_VERIFY(d0 != nullptr);
    // device `gpus` is on GPU 0 as well (logical i on GPU i mod P)
    PT_VERIFY2(d0->can_read_directly(*devs[size_t(gpus)]), "logical devices on one GPU read each other's memory");
    PT_VERIFY(d0->can_read_directly(*devs[0]));
#endif
    for (const char* fused : {"1", "0"}) {
        ScopedEnv env("GPULAB_CUDA_FUSED_REDUCE", fused);
        std::printf("  GPULAB_CUDA_FUSED_REDUCE=%s\n", fused);
        for (int n : {2, 3, 4})
            for (AllreduceKind k : {AllreduceKind::Naive, AllreduceKind::Ring})
                for (int64_t count : {int64_t(1) << 20, int64_t(129071), int64_t(5)})
                    require_ok(verify_allreduce(first(devs, n), k, EngineKind::Threaded, count, 11));
    }
}

PT_TEST(step_events_time_the_transfers)
{
    require_cuda();
    auto devs = make_devices(DeviceKind::Cuda, 4, kDefaultMemoryBudget, 1, nullptr);
    // verify_allreduce checks the count and order of every step event's times; this also
    // checks that a step's span is the transfer's, not the whole queue's.
    require_ok(verify_allreduce(first(devs, 4), AllreduceKind::Ring, EngineKind::Threaded, 1 << 22, 9));
}

PT_TEST(nccl_over_one_device_per_gpu)
{
    require_cuda();
    std::string why;
    if (!nccl_available(&why))
        PT_SKIP(why);
    const int gpus = cuda_device_count();
    auto devs = make_devices(DeviceKind::Cuda, gpus, kDefaultMemoryBudget, 1, nullptr);
    for (int n = 1; n <= gpus; ++n)
        require_ok(verify_allreduce(first(devs, n), AllreduceKind::Nccl, EngineKind::Threaded, 129068, 5));
}

// NCCL groups on one thread while another allocates and gives cached blocks back with
// cudaFree: with peer access on, an unguarded cudaFree between a group's launches could
// hang the group. Both run under cuda_global_mutex(); this must finish.
PT_TEST(nccl_groups_and_frees_on_another_thread_finish)
{
    require_cuda();
    std::string why;
    if (!nccl_available(&why))
        PT_SKIP(why);
    const int gpus = cuda_device_count();
    if (gpus < 2)
        PT_SKIP("needs two GPUs (this machine has " + std::to_string(gpus) + ")");
#ifdef GPULAB_HAVE_CUDA
    auto devs = make_devices(DeviceKind::Cuda, gpus + 1, kDefaultMemoryBudget, 1, nullptr); // the last shares GPU 0
    auto* churn = dynamic_cast<CudaDevice*>(devs.back().get());
    PT_VERIFY(churn != nullptr);
    std::atomic<bool> stop{false};
    std::thread freer([&] {
        while (!stop) {
            for (int i = 0; i < 8; ++i)
                (void)churn->allocate(int64_t(4 + i) << 20); // freed at once: to the cache
            churn->release_cached(); // cudaFree of every cached block
        }
    });
    bool ok = true;
    for (int round = 0; round < 30 && ok; ++round)
        ok = verify_allreduce(first(devs, gpus), AllreduceKind::Nccl, EngineKind::Threaded, 1 << 20, 11).ok;
    stop = true;
    freer.join();
    PT_VERIFY(ok);
#endif
}

PT_TEST(nccl_is_refused_when_devices_share_a_gpu)
{
    require_cuda();
    std::string why;
    if (!nccl_available(&why))
        PT_SKIP(why);
    const int gpus = cuda_device_count();
    auto devs = make_devices(DeviceKind::Cuda, gpus + 1, kDefaultMemoryBudget, 1, nullptr);
    const VerifyCheck c = verify_allreduce(first(devs, gpus + 1), AllreduceKind::Nccl, EngineKind::Sync, 1024);
    PT_VERIFY(!c.ok);
    PT_VERIFY2(c.note.find("share GPU") != std::string::npos, c.note);
    TrainConfig cfg = verify_train_config(Backend::Cuda, gpus + 1, AllreduceKind::Nccl);
    const std::string err = validate(cfg);
    std::printf("  validate: %s\n", err.c_str());
    PT_VERIFY2(err.find("one GPU per device") != std::string::npos, err);
}

PT_TEST(training_matches_the_cpu_reference)
{
    require_cuda();
    const FashionMnist data = verify_dataset();
    const double tol = 1e-5, eps = 1e-3;
    require_ok(verify_training("1 device", verify_train_config(Backend::Cuda, 1, AllreduceKind::Naive),
                               verify_train_config(Backend::Cpu, 1, AllreduceKind::Naive), data, tol, eps));
    for (AllreduceKind k : {AllreduceKind::Naive, AllreduceKind::Ring})
        require_ok(verify_training(std::string("4 devices, ") + allreduce_name(k),
                                   verify_train_config(Backend::Cuda, 4, k), verify_train_config(Backend::Cpu, 4, k),
                                   data, tol, eps));
    if (nccl_available()) {
        const int gpus = cuda_device_count();
        require_ok(verify_training(std::to_string(gpus) + " devices, nccl",
                                   verify_train_config(Backend::Cuda, gpus, AllreduceKind::Nccl),
                                   verify_train_config(Backend::Cpu, gpus, AllreduceKind::Naive), data, tol, eps));
    }
}

PT_TEST(async_and_bounded_modes_train_like_sync)
{
    require_cuda();
    const FashionMnist data = verify_dataset();
    TrainConfig sync = verify_train_config(Backend::Cuda, 4, AllreduceKind::Ring);
    TrainConfig async = sync, bounded = sync;
    async.mode = ExecMode::Async;
    bounded.mode = ExecMode::Bounded;
    bounded.inflight = 2;
    // Same ops in the same order on each stream: the same results (bit for bit with
    // deterministic cuDNN algorithms; a race between streams would be far outside this).
    require_ok(verify_training("4 devices, async = sync", async, sync, data, 1e-6, 1e-5, 1e-4));
    require_ok(verify_training("4 devices, bounded = sync", bounded, sync, data, 1e-6, 1e-5, 1e-4));
}

PT_MAIN()
