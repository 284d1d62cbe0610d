// tst_cuda_allreduce: naive, ring and NCCL allreduce on CUDA devices (several logical
// devices per GPU where there is one GPU), and short training runs against the CPU
// reference. Skips only where there is no NVIDIA driver or no GPU (require_cuda.h). Plain C++, no Qt.
#include "support/plain_test.h"
#include "support/pushed_allreduce.h"
#include "support/scoped_env.h"
#include "support/require_cuda.h"

#include "device/device_factory.h"
#include "trace/event_stream.h"
#include "verify/verify.h"

#ifdef GPULAB_HAVE_NCCL
#include "comm/nccl_allreduce.h"
#include "rank/kv_store.h"
#include "rank/nccl_rank.h"
#include "rank/rank_group.h"
#endif

#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_device.h"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
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

// The fused exchange of a ring of two (GPULAB_CUDA_FUSED_EXCHANGE=1): both devices end with
// the sum, bit for bit the float sum a + b (what the ring computes), for odd counts too (chunk
// 1 then starts off 16 bytes: the element-wise path); one op per device, named for both steps,
// and the ring's four step events.
PT_TEST(fused_exchange_sums_exactly_on_both_devices)
{
    require_cuda();
    auto devs = make_devices(DeviceKind::Cuda, 2, kDefaultMemoryBudget, 1, nullptr);
    const std::vector<Device*> two = {devs[0].get(), devs[1].get()};
#ifdef GPULAB_HAVE_CUDA
    auto* d0 = dynamic_cast<CudaDevice*>(devs[0].get());
    auto* d1 = dynamic_cast<CudaDevice*>(devs[1].get());
    PT_VERIFY(d0 && d1);
    if (!d0->can_read_directly(*d1) || !d1->can_read_directly(*d0))
        PT_SKIP(d0->name() + " and " + d1->name() + " cannot read each other's memory (no peer access)");
#endif
    const std::vector<std::string> steps = {"0/2 reduce-scatter 0->1 chunk 0", "0/2 reduce-scatter 1->0 chunk 1",
                                            "1/2 all-gather 0->1 chunk 1", "1/2 all-gather 1->0 chunk 0"};
    for (const char* how : {"switch", "context"}) {
        const bool by_switch = std::string(how) == "switch";
        ScopedEnv env("GPULAB_CUDA_FUSED_EXCHANGE", by_switch ? "1" : "0");
        for (EngineKind e : {EngineKind::Threaded, EngineKind::Sync})
            for (int64_t count : {int64_t(1) << 20, int64_t(129071), int64_t(5), int64_t(3), int64_t(1)}) {
                const PushedAllreduce r = pushed_allreduce(two, AllreduceKind::Ring, e, by_switch ? -1 : 1, count);
                std::printf("  %s, %s engine, %lld floats: %zu ops (%s), %zu step events\n", how, engine_kind_name(e),
                            static_cast<long long>(count), r.ops.size(), r.ops.empty() ? "" : r.ops.front().c_str(),
                            r.steps.size());
                const std::vector<std::string> ops = {"reduce-scatter 0 + all-gather 1: 0->1->0",
                                                      "reduce-scatter 0 + all-gather 1: 1->0->1"};
                PT_VERIFY(r.ops == ops);
                std::vector<std::string> sorted = r.steps;
                std::sort(sorted.begin(), sorted.end());
                PT_VERIFY(sorted == steps);
                size_t wrong = 0;
                for (int64_t i = 0; i < count; ++i) {
                    const float want = float(1 + i % 1000) + float(2 + i % 1000);
                    for (int d = 0; d < 2; ++d)
                        wrong += std::memcmp(&r.sums[size_t(d)][size_t(i)], &want, 4) != 0;
                }
                PT_VERIFY2(wrong == 0, std::to_string(wrong) + " sums wrong");
            }
    }
    // Off (the default): the ring's own four ops.
    ScopedEnv off("GPULAB_CUDA_FUSED_EXCHANGE", "0");
    const PushedAllreduce plain = pushed_allreduce(two, AllreduceKind::Ring, EngineKind::Sync, -1, 1001);
    PT_VERIFY(plain.ops == (std::vector<std::string>{"reduce-scatter 0: 0->1", "reduce-scatter 0: 1->0",
                                                     "all-gather 1: 0->1", "all-gather 1: 1->0"}));
    // And verify's check of the sum, the copies and the step events' times, with it on.
    ScopedEnv on("GPULAB_CUDA_FUSED_EXCHANGE", "1");
    for (EngineKind e : {EngineKind::Threaded, EngineKind::Sync})
        require_ok(verify_allreduce(two, AllreduceKind::Ring, e, 129071, 13));
}

#ifdef GPULAB_HAVE_CUDA
// The fused exchange's ordering on the GPU, made visible by holding one device's stream
// (CudaGpuSpan's gate) while everything is queued: the inputs are written on each device's
// stream, the exchange runs, then each device copies its whole buffer on its own stream.
// Device d's buffer is written by both kernels, one of them on the other stream: the copy
// must wait for both (and each kernel for the writes of the inputs on both streams). Held
// on either side, with the other stream free to run ahead, every copy holds the sum.
PT_TEST(fused_exchange_orders_later_work_on_both_streams)
{
    require_cuda();
    auto devs = make_devices(DeviceKind::Cuda, 2, kDefaultMemoryBudget, 1, nullptr);
    auto* d0 = dynamic_cast<CudaDevice*>(devs[0].get());
    auto* d1 = dynamic_cast<CudaDevice*>(devs[1].get());
    PT_VERIFY(d0 && d1);
    if (!d0->can_read_directly(*d1) || !d1->can_read_directly(*d0))
        PT_SKIP(d0->name() + " and " + d1->name() + " cannot read each other's memory (no peer access)");
    const int64_t count = (int64_t(16) << 20) + 3; // 64 MiB and a bit: long kernels, an odd split
    std::vector<std::vector<float>> host(2, std::vector<float>(size_t(count)));
    for (int d = 0; d < 2; ++d)
        for (int64_t i = 0; i < count; ++i)
            host[size_t(d)][size_t(i)] = float((i * (d + 3)) % 4099) * 0.25f - float(d);
    for (int held = 0; held < 2; ++held) {
        auto eng = make_engine(EngineKind::Threaded, 2, nullptr);
        std::vector<Tensor> input, buf, out;
        std::vector<std::vector<Tensor>> chunks(2);
        for (int d = 0; d < 2; ++d) {
            Device& dev = *devs[size_t(d)];
            input.push_back(make_tensor(*eng, dev, {count}));
            buf.push_back(make_tensor(*eng, dev, {count}));
            out.push_back(make_tensor(*eng, dev, {count}));
            dev.upload(input.back().f(), host[size_t(d)].data(), count * 4);
            std::vector<float> stale(static_cast<size_t>(count), -7.0f);
            dev.upload(buf.back().f(), stale.data(), count * 4);
            dev.upload(out.back().f(), stale.data(), count * 4);
            dev.synchronize();
            const int64_t first = (count + 1) / 2;
            chunks[size_t(d)] = {buf.back().view(0, {first}, eng->new_var()),
                                 buf.back().view(first, {count - first}, eng->new_var())};
        }
        CudaGpuSpan gate({devs[size_t(held)].get()});
        gate.hold();
        for (int d = 0; d < 2; ++d) { // the inputs, written on each device's stream
            OpDesc op;
            op.device = d;
            op.name = "inputs";
            op.writes = {chunks[size_t(d)][0].var, chunks[size_t(d)][1].var};
            Tensor src = input[size_t(d)], dst = buf[size_t(d)];
            op.fn = [src, dst, count] { dst.device().copy_from(dst.f(), dst.device(), src.f(), count * 4); };
            eng->push(std::move(op));
        }
        AllreduceContext ctx;
        ctx.engine = eng.get();
        ctx.fused_exchange = 1;
        push_allreduce(AllreduceKind::Ring, ctx, chunks);
        for (int d = 0; d < 2; ++d) { // later work on each stream reads the whole buffer
            OpDesc op;
            op.device = d;
            op.name = "later";
            op.reads = {chunks[size_t(d)][0].var, chunks[size_t(d)][1].var};
            Tensor src = buf[size_t(d)], dst = out[size_t(d)];
            op.fn = [src, dst, count] { dst.device().copy_from(dst.f(), dst.device(), src.f(), count * 4); };
            eng->push(std::move(op));
        }
        eng->wait_all();
        const double us = gate.release_us();
        std::printf("  device %d held: the GPU took %.1f us once released\n", held, us);
        PT_VERIFY2(us >= 0, "the gate gave up: something waited for the held stream");
        for (int d = 0; d < 2; ++d) {
            std::vector<float> got(static_cast<size_t>(count)), later(static_cast<size_t>(count));
            devs[size_t(d)]->download(got.data(), buf[size_t(d)].f(), count * 4);
            devs[size_t(d)]->download(later.data(), out[size_t(d)].f(), count * 4);
            size_t wrong = 0, wrong_later = 0;
            for (int64_t i = 0; i < count; ++i) {
                const float want = host[0][size_t(i)] + host[1][size_t(i)];
                wrong += std::memcmp(&got[size_t(i)], &want, 4) != 0;
                wrong_later += std::memcmp(&later[size_t(i)], &want, 4) != 0;
            }
            PT_VERIFY2(wrong == 0, "device " + std::to_string(d) + ": " + std::to_string(wrong) + " sums wrong");
            PT_VERIFY2(wrong_later == 0, "device " + std::to_string(d) + "'s later copy: " + std::to_string(wrong_later)
                                             + " values not the sum (it ran before the exchange wrote them)");
        }
    }
}
#endif

// Training with the fused exchange (2 devices, ring): as the CPU reference trains, and a
// bounded run (the front end running ahead, SGD queued right behind the exchange on both
// streams) as a sync run does.
PT_TEST(training_with_the_fused_exchange_matches_the_cpu_reference)
{
    require_cuda();
    const FashionMnist data = verify_dataset();
    ScopedEnv on("GPULAB_CUDA_FUSED_EXCHANGE", "1");
    require_ok(verify_training("2 devices, ring, GPULAB_CUDA_FUSED_EXCHANGE=1",
                               verify_train_config(Backend::Cuda, 2, AllreduceKind::Ring),
                               verify_train_config(Backend::Cpu, 2, AllreduceKind::Ring), data, 1e-5, 1e-3));
    TrainConfig sync = verify_train_config(Backend::Cuda, 2, AllreduceKind::Ring);
    TrainConfig bounded = sync;
    bounded.mode = ExecMode::Bounded;
    bounded.inflight = 2;
    require_ok(verify_training("2 devices, ring, bounded = sync, GPULAB_CUDA_FUSED_EXCHANGE=1", bounded, sync, data,
                               1e-6, 1e-5, 1e-4));
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

// The newer paths, each off by default, switched on: fused units of calls (the model's ops
// grouped per layer, =1, or the whole step, =2; one CUDA graph per unit) with the two-pass
// bias gradient, the two-pass bias gradient alone, and cuDNN's algorithms deterministic or
// not, train as the CPU reference does (1
// device; 4 devices with ring). And with fused units (and the GPU times' events between
// them) a bounded run equals a sync run as tightly as the test above: the front end running
// ahead must not reorder a unit's work. (That a unit equals its calls one by one, bit for
// bit, tst_cuda_kernels checks.)
PT_TEST(training_with_the_newer_switches_matches_the_cpu_reference)
{
    require_cuda();
    const FashionMnist data = verify_dataset();
    const double tol = 1e-5, eps = 1e-3;
    struct Setting {
        const char* fused;
        const char* split;
        const char* any_algo;
    };
    for (const Setting st : {Setting{"1", "1", "0"}, Setting{"2", "1", "0"}, Setting{"0", "1", "0"},
                             Setting{"0", "0", "1"}}) {
        ScopedEnv f("GPULAB_CUDA_FUSED_GRAPHS", st.fused), sp("GPULAB_CUDA_SPLIT_SUMS", st.split),
            aa("GPULAB_CUDA_ANY_ALGO", st.any_algo);
        const std::string tag = std::string("GPULAB_CUDA_FUSED_GRAPHS=") + st.fused + " GPULAB_CUDA_SPLIT_SUMS=" + st.split
                                + " GPULAB_CUDA_ANY_ALGO=" + st.any_algo;
        require_ok(verify_training(tag + ", 1 device", verify_train_config(Backend::Cuda, 1, AllreduceKind::Naive),
                                   verify_train_config(Backend::Cpu, 1, AllreduceKind::Naive), data, tol, eps));
        require_ok(verify_training(tag + ", 4 devices, ring", verify_train_config(Backend::Cuda, 4, AllreduceKind::Ring),
                                   verify_train_config(Backend::Cpu, 4, AllreduceKind::Ring), data, tol, eps));
    }
    TrainConfig sync = verify_train_config(Backend::Cuda, 4, AllreduceKind::Ring);
    TrainConfig bounded = sync;
    bounded.mode = ExecMode::Bounded;
    bounded.inflight = 2;
    for (const char* fused : {"1", "2"}) {
        ScopedEnv f("GPULAB_CUDA_FUSED_GRAPHS", fused), t("GPULAB_CUDA_GPU_TIMES", "1");
        require_ok(verify_training(std::string("4 devices, bounded with GPULAB_CUDA_FUSED_GRAPHS=") + fused
                                       + " and GPU times = sync",
                                   bounded, sync, data, 1e-6, 1e-5, 1e-4));
    }
}

// ---- GPU ranks: NCCL across ranks (here threads of one process, each its own rank, meeting
// through the TCP store on loopback; gpulab-cli launch runs them as processes) ----
#ifdef GPULAB_HAVE_NCCL
namespace {

using namespace std::chrono_literals;

void require_nccl_ranks()
{
    require_cuda();
    std::string why;
    if (!nccl_available(&why))
        PT_SKIP(why);
    if (!ranks_available(&why))
        PT_SKIP(why);
}

int free_port()
{
    KvServer s("127.0.0.1", 0, {});
    return s.port();
}

RankOptions rank_options(int rank, int world, int port, std::chrono::milliseconds timeout)
{
    RankOptions o;
    o.world = world;
    o.rank = rank;
    o.master = "127.0.0.1:" + std::to_string(port);
    o.token = "nccl-test";
    o.timeout = timeout;
    return o;
}

// Each rank adds (i mod 97) x (rank + 1) at i, and rank + 0.5 as the value beside it, on
// `gpu`; every rank must end with the sums (whole numbers: exact in float).
void sum_on_gpu(RankGroup& g, int gpu)
{
    auto dev = make_cuda_device(0, kDefaultMemoryBudget, nullptr, gpu);
    auto* cuda = dynamic_cast<CudaDevice*>(dev.get());
    PT_VERIFY(cuda && cuda->gpu() == gpu);
    const size_t n = 61706 + 3;
    std::vector<float> mine(n), back(n);
    for (size_t i = 0; i < n; ++i)
        mine[i] = float(i % 97) * float(g.rank() + 1);
    auto memory = dev->allocate(int64_t(n * 4));
    float* buf = static_cast<float*>(memory->data());
    for (int round = 0; round < 3; ++round) {
        dev->upload(buf, mine.data(), int64_t(n * 4));
        float value = float(g.rank()) + 0.5f;
        PT_VERIFY(g.device_allreduce_sum(*dev, buf, n, &value));
        dev->download(back.data(), buf, int64_t(n * 4));
        const int w = g.world();
        size_t wrong = 0;
        for (size_t i = 0; i < n; ++i)
            wrong += back[i] != float(i % 97) * float(w * (w + 1) / 2);
        PT_VERIFY2(wrong == 0, std::to_string(wrong) + " of " + std::to_string(n) + " sums wrong");
        PT_COMPARE(value, float(w * w) / 2.0f);
    }
}

} // namespace

PT_TEST(nccl_rank_of_one_sums_on_its_gpu)
{
    require_nccl_ranks();
    const int port = free_port();
    auto g = join_nccl_ranks(join_ranks(rank_options(0, 1, port, 60s), "backend=cuda\n"), 0, 60s);
    PT_COMPARE(g->first_gpu(), 0);
    sum_on_gpu(*g, 0);
    g->finish();
}

// Two ranks, one GPU each, as two threads of this process.
PT_TEST(nccl_ranks_sum_across_two_gpus)
{
    require_nccl_ranks();
    const int gpus = cuda_device_count();
    if (gpus < 2)
        PT_SKIP("needs 2 GPUs, found " + std::to_string(gpus));
    const int port = free_port();
    std::string failed[2];
    auto rank = [&](int r) {
        try {
            auto g = join_nccl_ranks(join_ranks(rank_options(r, 2, port, 60s), "backend=cuda\n"), r, 60s);
            sum_on_gpu(*g, r);
            g->finish();
        } catch (const plain_test::Failure& f) {
            failed[r] = f.what;
        } catch (const GpulabError& e) {
            failed[r] = english(e.error);
        } catch (const std::exception& e) {
            failed[r] = e.what();
        }
    };
    std::thread one(rank, 1);
    rank(0);
    one.join();
    PT_VERIFY2(failed[0].empty() && failed[1].empty(), "rank 0: " + failed[0] + "; rank 1: " + failed[1]);
}

// Rank 1 joins the ranks but never makes the NCCL communicator: rank 0's NCCL would wait for
// it for ever. It must give up within its timeout, say so, and tell rank 1.
PT_TEST(nccl_init_gives_up_when_a_rank_never_comes)
{
    require_nccl_ranks();
    const int port = free_port();
    std::atomic<bool> done{false};
    std::optional<std::pair<int, std::string>> heard;
    std::thread absent([&] {
        try {
            auto g = join_ranks(rank_options(1, 2, port, 60s), "backend=cuda\n");
            for (int i = 0; i < 600 && !heard; ++i) {
                heard = g->failure();
                std::this_thread::sleep_for(100ms);
            }
            g->finish();
        } catch (const std::exception&) {
        }
    });
    const auto t0 = std::chrono::steady_clock::now();
    Error got;
    try {
        auto joined = join_ranks(rank_options(0, 2, port, 3s), "backend=cuda\n");
        auto g = join_nccl_ranks(std::move(joined), 0, 3s);
    } catch (const GpulabError& e) {
        got = e.error;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    absent.join();
    std::printf("  after %.1f s: %s\n  rank 1 heard: %s\n", s, english(got).c_str(),
                heard ? heard->second.c_str() : "(nothing)");
    PT_VERIFY2(got.code == ErrorCode::RankNcclInitTimeout, english(got));
    PT_COMPARE(english(got), std::string("the ranks' NCCL communicator was not ready within 3 s; start every rank, "
                                         "or allow more time with --timeout"));
    PT_VERIFY(s < 20);
    PT_VERIFY(heard && heard->first == 0 && heard->second == english(got));
}

// Two ranks on one GPU: NCCL 2.28 is expected to refuse them ("Duplicate GPU detected"). Either
// way each rank must end promptly: both refused with NCCL's words, or (should an NCCL allow
// it) both summing right. It prints which. (gpulab-cli refuses such a job before NCCL sees
// it: nccl_rank_plan.h.)
PT_TEST(two_ranks_on_one_gpu_end_promptly)
{
    require_nccl_ranks();
    const int port = free_port();
    Error got[2];
    bool summed[2] = {false, false};
    std::string failed[2];
    auto rank = [&](int r) {
        try {
            auto g = join_nccl_ranks(join_ranks(rank_options(r, 2, port, 30s), "backend=cuda\n"), 0, 30s);
            sum_on_gpu(*g, 0);
            summed[r] = true;
            g->finish();
        } catch (const GpulabError& e) {
            got[r] = e.error;
        } catch (const plain_test::Failure& f) {
            failed[r] = f.what;
        }
    };
    const auto t0 = std::chrono::steady_clock::now();
    std::thread one(rank, 1);
    rank(0);
    one.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int r = 0; r < 2; ++r)
        std::printf("  rank %d after %.1f s: %s\n", r, s,
                    summed[r] ? "NCCL accepted it; the sums are right" : (failed[r] + english(got[r])).c_str());
    PT_VERIFY(s < 60);
    PT_VERIFY2(failed[0].empty() && failed[1].empty(), failed[0] + failed[1]);
    for (int r = 0; r < 2; ++r)
        PT_VERIFY2(summed[r] || got[r].code == ErrorCode::RankNcclInitFailed || got[r].code == ErrorCode::RankLost,
                   english(got[r]));
    PT_VERIFY2(summed[0] == summed[1], "one rank summed, the other did not");
}
#endif

PT_MAIN()
