// gpulab-bench: the C++ half of tests/bench (not a test: it prints, it never asserts).
//   kernels    each LeNet op, reference vs fast kernels, on one shard (CPU time per call)
//   allreduce  algbw and busbw per strategy for buffers 4 KiB .. 64 MiB (cpu-sim, cuda)
//   memory     sync-mode peak memory per device: predicted (params + grads + one shard's
//              activations and workspaces) beside the measured peak
//   floor      the GEMM's one-thread peak and the FLOP floor of an epoch (also after kernels)
//   engine     the engine's own cost: empty ops shaped like a LeNet minibatch (what is left
//              of a step when kernels take no time, as on a fast GPU)
// Run by tests/bench/run-bench.sh; usable alone (gpulab-bench --help).
#include "../support/random_values.h"
#include "../support/sync_peak_prediction.h"
#include "comm/allreduce.h"
#include "comm/link.h"
#include "data/batcher.h"
#include "data/fashion_mnist.h"
#include "data/synthetic.h"
#include "device/cpu_device.h"
#include "device/device_factory.h"
#include "engine/engine.h"
#include "engine/tensor.h"
#include "kernels/cpu_fast_gemm.h"
#include "kernels/cpu_fast_kernels.h"
#include "kernels/cpu_threads.h"
#include "kernels/kernels.h"
#include "model/lenet.h"
#include "trace/event_stream.h"
#include "train/trainer.h"
#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_device.h"
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace gpulab;

namespace {

double wall_s()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of the calling thread: robust to other processes sharing the cores.
double thread_cpu_s()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

const char* arg(int argc, char** argv, const char* name, const char* def)
{
    for (int i = 0; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

// ---- kernels ------------------------------------------------------------------------

struct OpTime {
    double cpu_ms = 0, wall_ms = 0;
};

OpTime time_op(const std::function<void()>& f, int reps)
{
    f(); // warm-up: pages touched, JIT kernels made
    std::vector<double> cpu, wall;
    for (int r = 0; r < reps; ++r) {
        const double c0 = thread_cpu_s(), w0 = wall_s();
        f();
        cpu.push_back(1e3 * (thread_cpu_s() - c0));
        wall.push_back(1e3 * (wall_s() - w0));
    }
    // The fastest call: other processes on the cores only ever add time.
    return {*std::min_element(cpu.begin(), cpu.end()), *std::min_element(wall.begin(), wall.end())};
}

// ---- the FLOP floor ---------------------------------------------------------------------
// A training step's nominal FLOPs (forward, backward data where LeNet needs it, backward
// weights: 13.26 MFLOP per image) at the GEMM's peak, measured here on one thread with a
// large product. An epoch of 60,000 images can take no less on one core; on c cores, a
// c-th of it. The benchmark divides its measured epochs by these.
constexpr double kStepFlopPerImage = 2.0 * (2 * 20 * 9 * 676) + 3 * 2.0 * (50 * 500 * 81) + 3 * 2.0 * (800 * 128) +
                                     3 * 2.0 * (128 * 10);

void print_floor(std::mt19937& rng, int reps)
{
    const int m = 1024;
    auto A = random_vector(rng, size_t(m) * m), B = random_vector(rng, size_t(m) * m);
    std::vector<float> C(size_t(m) * m);
    const OpTime g = time_op([&] { fast_sgemm(false, false, m, m, m, 1.0f, A.data(), m, B.data(), m, 0.0f, C.data(), m, 1); },
                             reps);
    const double peak = 2.0 * m * m * m / (g.cpu_ms * 1e-3) * 1e-9; // GFLOP/s of one thread's CPU time
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    const double one_core_s = 60000.0 * kStepFlopPerImage / (peak * 1e9);
    std::printf("floor: GEMM peak %.1f GFLOP/s on one thread (%s, %dx%dx%d); %.2f MFLOP per image per step; "
                "an epoch of 60,000 images at that peak: %.2f s on one core, %.2f s on %d core(s)\n",
                peak, fast_sgemm_backend(), m, m, m, kStepFlopPerImage * 1e-6, one_core_s, one_core_s / cores, cores);
}

int cmd_kernels(int argc, char** argv)
{
    const int n = std::atoi(arg(argc, argv, "--n", "128"));
    const int reps = std::atoi(arg(argc, argv, "--reps", "15"));
    const int threads = std::atoi(arg(argc, argv, "--threads", "1"));
    set_cpu_kernel_threads(threads); // OpenBLAS (the reference) on as many threads as the fast kernels
    const Kernels& ref = cpu_reference_kernels();
    const Kernels& fast = cpu_fast_kernels(threads);
    std::printf("kernels: one shard of %d images, LeNet's ops; fastest of %d calls, CPU ms of the calling "
                "thread (wall ms in brackets); fast = %s, %d thread(s)\n",
                n, reps, cpu_fast_gemm_backend(), threads);
    std::printf("paths: %s\n", cpu_fast_kernel_paths(fast).c_str());
    std::mt19937 rng(1);
    const ConvShape c1{n, 1, 28, 28, 20, 3, 3}, c2{n, 20, 13, 13, 50, 5, 5};
    auto x = random_vector(rng, size_t(n) * 784, 0, 1);
    auto w1 = random_vector(rng, 180), b1 = random_vector(rng, 20), w2 = random_vector(rng, 25000), b2 = random_vector(rng, 50);
    auto w3 = random_vector(rng, 800 * 128), b3 = random_vector(rng, 128);
    auto a1 = random_vector(rng, size_t(n) * 13520), p1 = random_vector(rng, size_t(n) * 3380);
    auto a2 = random_vector(rng, size_t(n) * 4050), p2 = random_vector(rng, size_t(n) * 800);
    auto h3 = random_vector(rng, size_t(n) * 128);
    auto da1 = random_vector(rng, a1.size()), da2 = random_vector(rng, a2.size()); // activation gradients
    auto dp1 = random_vector(rng, p1.size()), dp2 = random_vector(rng, p2.size());
    std::vector<float> dw(25000), db(50), dw3(800 * 128), db3(128);
    auto ws_for = [](const Kernels& k, const ConvShape& sh) {
        return std::vector<float>(size_t(std::max<int64_t>(1, k.conv_workspace_bytes(sh) / 4)));
    };
    struct Row {
        const char* name;
        double mflop_per_image;
        std::function<void(const Kernels&, std::vector<float>&)> run;
        const ConvShape* sh;
    };
    // LeNet's ops as lenet.cpp pushes them (ReLUs fused into the conv and pool ops).
    const std::vector<Row> rows = {
        {"conv1_relu_fwd", 20 * 9 * 676 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_relu_forward(c1, x.data(), w1.data(), b1.data(), a1.data(), ws.data());
         },
         &c1},
        {"pool1_fwd", 0, [&](const Kernels& k, std::vector<float>&) { k.avgpool2_forward(n, 20, 26, 26, a1.data(), p1.data()); },
         nullptr},
        {"conv2_relu_fwd", 50 * 500 * 64 * 2e-6, // the 8 x 8 window pool2 reads, as lenet.cpp asks
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_relu_forward_window(c2, 8, 8, p1.data(), w2.data(), b2.data(), a2.data(), ws.data());
         },
         &c2},
        {"pool2_fwd", 0, [&](const Kernels& k, std::vector<float>&) { k.avgpool2_forward(n, 50, 9, 9, a2.data(), p2.data()); },
         nullptr},
        {"dense3_fwd", 800 * 128 * 2e-6,
         [&](const Kernels& k, std::vector<float>&) { k.dense_forward(n, 800, 128, p2.data(), w3.data(), b3.data(), h3.data()); },
         nullptr},
        {"dense3_bwd", 800 * 128 * 4e-6,
         [&](const Kernels& k, std::vector<float>&) {
             k.dense_backward(n, 800, 128, p2.data(), w3.data(), h3.data(), dp2.data(), dw3.data(), db3.data());
         },
         nullptr},
        {"pool2_relu_bwd", 0,
         [&](const Kernels& k, std::vector<float>&) { k.avgpool2_relu_backward(n, 50, 9, 9, dp2.data(), a2.data(), da2.data()); },
         nullptr},
        {"conv2_bwd_w", 50 * 500 * 64 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_backward_weights(c2, p1.data(), da2.data(), dw.data(), db.data(), ws.data());
         },
         &c2},
        {"conv2_bwd_x", 50 * 500 * 64 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_backward_data(c2, da2.data(), w2.data(), dp1.data(), ws.data());
         },
         &c2},
        {"pool1_relu_bwd", 0,
         [&](const Kernels& k, std::vector<float>&) { k.avgpool2_relu_backward(n, 20, 26, 26, dp1.data(), a1.data(), da1.data()); },
         nullptr},
        {"conv1_bwd_w", 20 * 9 * 676 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_backward_weights(c1, x.data(), da1.data(), dw.data(), db.data(), ws.data());
         },
         &c1},
    };
    std::printf("%-15s %18s %18s %8s %10s\n", "op", "reference ms", "fast ms", "speedup", "fast GF/s");
    double tr = 0, tf = 0;
    for (const auto& row : rows) {
        auto wr = row.sh ? ws_for(ref, *row.sh) : std::vector<float>(1);
        auto wf = row.sh ? ws_for(fast, *row.sh) : std::vector<float>(1);
        const OpTime r = time_op([&] { row.run(ref, wr); }, reps);
        const OpTime f = time_op([&] { row.run(fast, wf); }, reps);
        tr += r.cpu_ms;
        tf += f.cpu_ms;
        char gf[32] = "";
        if (row.mflop_per_image > 0)
            std::snprintf(gf, sizeof gf, "%.1f", row.mflop_per_image * n / f.wall_ms);
        std::printf("%-15s %8.3f [%7.3f] %8.3f [%7.3f] %7.2fx %10s\n", row.name, r.cpu_ms, r.wall_ms, f.cpu_ms,
                    f.wall_ms, r.cpu_ms / std::max(1e-9, f.cpu_ms), gf);
    }
    std::printf("%-15s %8.3f            %8.3f            %7.2fx   (%.0f vs %.0f images/s of these ops per thread)\n",
                "total", tr, tf, tr / std::max(1e-9, tf), n / tr * 1e3, n / tf * 1e3);

    print_floor(rng, std::max(3, reps / 3));
    return 0;
}

// ---- allreduce ----------------------------------------------------------------------
// nccl-tests' convention: algbw = bytes / time, busbw = algbw * 2(n-1)/n (what each link
// carries). The yardstick is one device-to-device copy of the same buffer ("copy").

bool backend_is_cuda(int argc, char** argv)
{
    return std::string(arg(argc, argv, "--backend", "cpu")) == "cuda";
}

// The GPU's own time of a row's work on CUDA devices that share one GPU (CudaGpuSpan: the
// streams are held until every op is queued, then timed from their release to the end of
// the last one's work), or null where that cannot be measured, and why.
struct GpuTimer {
#ifdef GPULAB_HAVE_CUDA
    std::unique_ptr<CudaGpuSpan> span;
#endif
    std::string why_not;
    bool on() const { return why_not.empty(); }
    void hold()
    {
#ifdef GPULAB_HAVE_CUDA
        span->hold();
#endif
    }
    double release_us()
    {
#ifdef GPULAB_HAVE_CUDA
        return span->release_us();
#else
        return -1;
#endif
    }
};

GpuTimer gpu_timer(const std::vector<std::unique_ptr<Device>>& devices)
{
    GpuTimer t;
#ifdef GPULAB_HAVE_CUDA
    std::vector<Device*> ds;
    for (const auto& d : devices)
        ds.push_back(d.get());
    try {
        t.span = std::make_unique<CudaGpuSpan>(ds);
    } catch (const std::invalid_argument& e) {
        t.why_not = e.what();
    }
#else
    (void)devices;
    t.why_not = "this build has no CUDA";
#endif
    return t;
}

// Whether a ring of these two devices can take the fused exchange (comm/allreduce.h).
bool fused_exchange_possible(const std::vector<std::unique_ptr<Device>>& devices)
{
#ifdef GPULAB_HAVE_CUDA
    if (devices.size() != 2)
        return false;
    auto* a = dynamic_cast<CudaDevice*>(devices[0].get());
    auto* b = dynamic_cast<CudaDevice*>(devices[1].get());
    return a && b && a->can_read_directly(*b) && b->can_read_directly(*a);
#else
    (void)devices;
    return false;
#endif
}

int cmd_allreduce(int argc, char** argv)
{
    const DeviceKind kind = backend_is_cuda(argc, argv) ? DeviceKind::Cuda : DeviceKind::CpuSim;
    const int reps = std::atoi(arg(argc, argv, "--reps", "5"));
    const int64_t min_bytes = std::atoll(arg(argc, argv, "--min-bytes", "4096"));
    const int64_t max_bytes = std::atoll(arg(argc, argv, "--max-bytes", "67108864"));
    std::vector<int> counts;
    for (const char* p = arg(argc, argv, "--devices", "2,4"); *p;) {
        counts.push_back(std::atoi(p));
        while (*p && *p != ',')
            ++p;
        if (*p == ',')
            ++p;
    }
    // --link L: every transfer goes through the link model (comm/link.h); each row then also
    // gives the model's time for the whole allreduce and measured / model
    LinkModel link;
    try {
        link = parse_link(arg(argc, argv, "--link", "none"));
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "gpulab-bench allreduce: %s\n", e.what());
        return 2;
    }
    std::printf("allreduce on %s devices (threaded engine, one worker per device), median of %d; "
                "algbw = bytes/time, busbw = algbw*2(n-1)/n; copy = one device-to-device copy of the "
                "buffer (its bandwidth is bytes/time)\n",
                kind == DeviceKind::Cuda ? "cuda" : "cpu-sim", reps);
    if (!link.none())
        std::printf("link %s (alpha %g us, beta %g GB/s per direction): model = ring 2(n-1)a + 2(n-1)/n S/b, "
                    "naive 2(n-1)(a + S/b); ratio = measured / model (>= 1: the model is a lower bound)\n",
                    link.name.c_str(), link.latency_us, link.gb_per_s);
    // On CUDA devices: the GPU's own time beside the wall time, each row's busbw against the
    // copy's bandwidth by both, and the bound for devices that share one GPU's memory.
    const bool cuda = kind == DeviceKind::Cuda;
    if (cuda)
        std::printf("gpu us = the GPU's own time (median of %d): every stream held until the row's ops were all "
                    "queued, then CUDA events from their release to the end of the last stream's work (the wall "
                    "time adds the host's: waking workers, queueing, waiting); vs copy = busbw / the copy's "
                    "bandwidth at the same size, by wall time and by GPU time; ring-fx = ring with the fused "
                    "exchange (GPULAB_CUDA_FUSED_EXCHANGE=1), 2 devices\n"
                    "bound: when the n devices share one GPU's memory, an allreduce of S bytes reads and writes "
                    "2nS bytes where the copy moves 2S, so with both at the memory's bandwidth busbw / copy <= "
                    "2(n-1)/n^2 (0.50 for 2 devices, 0.375 for 4)\n",
                    reps);
    std::printf("%-8s %3s %10s %12s %12s %12s %8s", "strategy", "n", "bytes", "time us", "algbw GB/s",
                "busbw GB/s", "check");
    if (!link.none())
        std::printf(" %12s %8s", "model us", "ratio");
    if (cuda)
        std::printf(" %10s %10s %10s %7s", "gpu us", "vs copy", "(gpu)", "bound");
    std::printf("\n");
    std::map<int64_t, std::pair<double, double>> copy_us; // bytes -> the copy's wall and GPU time
    for (const int n : counts) {
        auto devices = make_devices(kind, n, int64_t(4) << 30, 1, nullptr);
        auto engine = make_engine(EngineKind::Threaded, n, nullptr);
        LinkClock clock(link);
        GpuTimer timer;
        if (cuda) {
            timer = gpu_timer(devices);
            if (!timer.on())
                std::printf("(no GPU time for %d devices: %s)\n", n, timer.why_not.c_str());
        }
        std::vector<const char*> strategies = {"copy", "naive", "ring"};
        if (cuda && link.none() && fused_exchange_possible(devices))
            strategies.push_back("ring-fx");
        for (int64_t bytes = min_bytes; bytes <= max_bytes; bytes *= 4) {
            const int64_t count = bytes / 4;
            for (const char* strategy : strategies) {
                const std::string st = strategy;
                if (st == "copy" && n != counts.front())
                    continue; // the yardstick does not depend on n
                const bool ring = st == "ring" || st == "ring-fx";
                const int chunks = ring ? n : 1;
                std::vector<std::vector<Tensor>> bufs(static_cast<size_t>(n));
                for (int d = 0; d < n; ++d) {
                    bufs[size_t(d)] =
                        split_chunks(*engine, make_tensor(*engine, *devices[size_t(d)], {count}), chunks);
                }
                auto fill = [&] { // device d holds d+1 everywhere: the sum is n(n+1)/2
                    for (int d = 0; d < n; ++d) {
                        const Tensor t = bufs[size_t(d)].front().view(0, {count}, nullptr);
                        std::vector<float> host(size_t(count), float(d + 1));
                        t.device().upload(t.f(), host.data(), bytes);
                    }
                    for (auto& d : devices)
                        d->synchronize();
                };
                std::vector<double> times;
                bool ok = true;
                auto push_row = [&] {
                    AllreduceContext ctx;
                    ctx.engine = engine.get();
                    ctx.link = link.none() ? nullptr : &clock;
                    if (st == "ring-fx")
                        ctx.fused_exchange = 1;
                    if (st == "copy") {
                        const Tensor src = bufs[1 % n].front().view(0, {count}, nullptr);
                        const Tensor dst = bufs[0].front().view(0, {count}, nullptr);
                        OpDesc op;
                        op.device = 0;
                        op.name = "copy";
                        op.fn = [src, dst, bytes] { dst.device().copy_from(dst.f(), src.device(), src.f(), bytes); };
                        engine->push(std::move(op));
                    } else {
                        push_allreduce(ring ? AllreduceKind::Ring : AllreduceKind::Naive, ctx, bufs);
                    }
                };
                for (int r = 0; r <= reps; ++r) { // the first is a warm-up
                    fill();
                    const double t0 = wall_s();
                    push_row();
                    engine->wait_all();
                    for (auto& d : devices)
                        d->synchronize();
                    if (r > 0)
                        times.push_back(wall_s() - t0);
                    if (r == 0 && st != "copy") { // every device holds the sum
                        const float want = float(n) * float(n + 1) / 2;
                        for (int d = 0; d < n && ok; ++d) {
                            const Tensor t = bufs[size_t(d)].front().view(0, {count}, nullptr);
                            std::vector<float> host(static_cast<size_t>(count));
                            t.device().download(host.data(), t.f(), bytes);
                            ok = std::all_of(host.begin(), host.end(), [&](float v) { return v == want; });
                        }
                    }
                }
                // The GPU's own time: the same work again, queued while the streams are held
                // (without the link model, which makes the workers wait).
                double gpu_us = -1;
                if (cuda && timer.on() && link.none()) {
                    std::vector<double> gpu;
                    for (int r = 0; r < reps; ++r) {
                        fill();
                        timer.hold();
                        push_row();
                        engine->wait_all();
                        const double us = timer.release_us();
                        if (us < 0) { // the gate gave up: something waited for the held streams
                            gpu.clear();
                            break;
                        }
                        gpu.push_back(us);
                    }
                    if (!gpu.empty())
                        gpu_us = median(gpu);
                }
                const double t = median(times);
                const double algbw = double(bytes) / t / 1e9;
                const double busbw = st == "copy" ? algbw : algbw * 2.0 * (n - 1) / n;
                std::printf("%-8s %3d %10lld %12.1f %12.2f %12.2f %8s", strategy, st == "copy" ? 2 : n,
                            static_cast<long long>(bytes), t * 1e6, algbw, busbw, st == "copy" ? "-" : ok ? "ok" : "WRONG");
                if (cuda) {
                    // busbw / copy = (S/t)(2(n-1)/n) / (S/t_copy)
                    const double share = st == "copy" ? 1.0 : 2.0 * (n - 1) / n;
                    if (st == "copy")
                        copy_us[bytes] = {t * 1e6, gpu_us};
                    const auto c = copy_us.find(bytes);
                    auto ratio = [&](double copy, double mine) {
                        char b[32] = "-";
                        if (c != copy_us.end() && copy > 0 && mine > 0)
                            std::snprintf(b, sizeof b, "%.3f", copy / mine * share);
                        return std::string(b);
                    };
                    char g[32] = "-";
                    if (gpu_us > 0)
                        std::snprintf(g, sizeof g, "%.1f", gpu_us);
                    char bound[32] = "-";
                    if (st != "copy")
                        std::snprintf(bound, sizeof bound, "%.3f", 2.0 * (n - 1) / (double(n) * n));
                    std::printf(" %10s %10s %10s %7s", g,
                                st == "copy" ? "-" : ratio(c == copy_us.end() ? 0 : c->second.first, t * 1e6).c_str(),
                                st == "copy" ? "-" : ratio(c == copy_us.end() ? 0 : c->second.second, gpu_us).c_str(),
                                bound);
                }
                if (!link.none()) {
                    // the copy yardstick is pushed without the link
                    const double model = st == "ring"    ? ring_allreduce_model_us(link, n, double(bytes))
                                         : st == "naive" ? naive_allreduce_model_us(link, n, double(bytes))
                                                         : 0.0;
                    if (model > 0)
                        std::printf(" %12.1f %8.3f", model, t * 1e6 / model);
                    else
                        std::printf(" %12s %8s", "-", "-");
                }
                std::printf("\n");
                std::fflush(stdout);
            }
        }
    }
    return 0;
}

// ---- memory ---------------------------------------------------------------------------
// The prediction (predict_sync_peak) lives in tests/support/sync_peak_prediction.h, which
// tst_trainer also checks exactly on synthetic data.

int cmd_memory(int argc, char** argv)
{
    const std::string data_dir = arg(argc, argv, "--data", default_fashion_mnist_dir().c_str());
    std::shared_ptr<FashionMnist> data;
    try {
        data = std::make_shared<FashionMnist>(load_fashion_mnist(data_dir));
    } catch (const std::exception& e) {
        std::printf("memory: skipped (%s)\n", e.what());
        return 0;
    }
    std::printf("memory, sync mode, peak bytes per device: predicted (params + grads + the conv "
                "workspace + one shard's activations + allreduce receive buffers) vs measured (the device's "
                "accounting, 30 minibatches)\n");
    std::printf("%-32s %6s %12s %12s %12s %10s %10s %8s\n", "run", "device", "params+grads", "activations",
                "ws+receive", "predicted", "measured", "error");
    struct Case {
        int devices;
        int64_t batch;
        AllreduceKind ar;
    };
    for (const Case c : {Case{1, 256, AllreduceKind::Naive}, Case{2, 256, AllreduceKind::Naive},
                         Case{2, 512, AllreduceKind::Ring}, Case{4, 512, AllreduceKind::Naive}}) {
        TrainConfig cfg;
        cfg.devices = c.devices;
        cfg.batch_size = c.batch;
        cfg.epochs = 1;
        cfg.train_subset = c.batch * 30;
        cfg.test_subset = c.batch; // evaluation takes less than training: not the peak
        cfg.allreduce = c.ar;
        cfg.mode = ExecMode::Sync;
        EventStream trace;
        Trainer trainer(cfg, data, trace);
        const RunResult r = trainer.run();
        if (r.status != RunStatus::Completed) {
            std::printf("memory: run failed: %s\n", r.message.c_str());
            return 1;
        }
        const auto shards = split_even(c.batch, c.devices);
        for (int d = 0; d < c.devices; ++d) {
            CpuDevice probe(d, int64_t(1) << 30, nullptr, cfg.threads_per_device);
            const Prediction p = predict_sync_peak(kernels_for(probe), shards[size_t(d)].second, c.devices, d, c.ar);
            const double measured = double(r.peak_bytes[size_t(d)]);
            char name[64];
            std::snprintf(name, sizeof name, "%d dev, batch %lld, %s", c.devices, static_cast<long long>(c.batch),
                          allreduce_name(c.ar));
            std::printf("%-32s %6d %12s %12s %12s %10s %10s %+7.2f%%\n", name, d, format_bytes(p.params_grads).c_str(),
                        format_bytes(p.activations).c_str(),
                        format_bytes(p.workspaces + p.receive).c_str(), format_bytes(p.total()).c_str(),
                        format_bytes(int64_t(measured)).c_str(), 100.0 * (measured - double(p.total())) / double(p.total()));
        }
    }
    return 0;
}

// ---- engine -------------------------------------------------------------------------
// One "minibatch" of empty ops with LeNet's shape: per device a chain of 18 ops (load,
// forward, loss, backward, loss read-back), a naive allreduce (device 0 reads every
// device's gradients, then every device copies the sum back), an SGD op per device; in
// sync mode the front end then waits for all of it. The time per minibatch is the floor
// the engine puts under a step when the kernels cost nothing.
int cmd_engine(int argc, char** argv)
{
    const int steps = std::atoi(arg(argc, argv, "--steps", "2000"));
    const int chain = 18;
    std::printf("engine: empty ops shaped like a LeNet minibatch (%d ops per device + allreduce + sgd), "
                "%d minibatches, median of 5 runs\n",
                chain, steps);
    std::printf("%-8s %-6s %-6s %14s %12s %12s\n", "devices", "mode", "trace", "us/minibatch", "us/op", "ops/s");
    for (int n : {1, 2, 4, 8}) {
        for (bool sync_mode : {true, false}) {
            for (bool traced : {false, true}) {
                std::vector<double> per_mb;
                int64_t ops = 0;
                for (int run = 0; run < 5; ++run) {
                    EventStream trace;
                    auto eng = make_engine(EngineKind::Threaded, n, traced ? &trace : nullptr);
                    std::vector<Var> params(static_cast<size_t>(n)), grads(static_cast<size_t>(n));
                    for (int d = 0; d < n; ++d) {
                        params[size_t(d)] = eng->new_var();
                        grads[size_t(d)] = eng->new_var();
                    }
                    auto push = [&](int d, std::vector<Var> r, std::vector<Var> w) {
                        OpDesc op;
                        op.device = d;
                        op.name = "op";
                        op.reads = std::move(r);
                        op.writes = std::move(w);
                        op.fn = [] {};
                        eng->push(std::move(op));
                        ++ops;
                    };
                    ops = 0;
                    const double t0 = wall_s();
                    for (int s = 0; s < steps; ++s) {
                        for (int d = 0; d < n; ++d) {
                            Var a = eng->new_var();
                            push(d, {}, {a});
                            for (int i = 1; i < chain - 1; ++i)
                                push(d, {a, params[size_t(d)]}, {a});
                            push(d, {a}, {grads[size_t(d)]});
                        }
                        if (n > 1) {
                            push(0, grads, {grads[0]});
                            for (int d = 1; d < n; ++d)
                                push(d, {grads[0]}, {grads[size_t(d)]});
                        }
                        for (int d = 0; d < n; ++d)
                            push(d, {grads[size_t(d)]}, {params[size_t(d)]});
                        if (sync_mode)
                            eng->wait_all();
                    }
                    eng->wait_all();
                    per_mb.push_back(1e6 * (wall_s() - t0) / steps);
                }
                const double us = median(per_mb);
                const double us_op = us * double(steps) / double(ops);
                std::printf("%-8d %-6s %-6s %14.1f %12.2f %12.0f\n", n, sync_mode ? "sync" : "async",
                            traced ? "on" : "off", us, us_op, 1e6 / us_op);
            }
        }
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    const std::string cmd = argc > 1 ? argv[1] : "--help";
    if (cmd == "kernels")
        return cmd_kernels(argc - 1, argv + 1);
    if (cmd == "allreduce") {
        try {
            return cmd_allreduce(argc - 1, argv + 1);
        } catch (const GpulabError& e) { // e.g. --backend cuda where no GPU is usable
            std::fprintf(stderr, "gpulab-bench allreduce: %s\n", english(e.error).c_str());
            return 2;
        }
    }
    if (cmd == "memory")
        return cmd_memory(argc - 1, argv + 1);
    if (cmd == "engine")
        return cmd_engine(argc - 1, argv + 1);
    if (cmd == "floor") { // the GEMM's one-thread peak and an epoch's FLOP floor
        std::mt19937 rng(1);
        print_floor(rng, std::max(1, std::atoi(arg(argc - 1, argv + 1, "--reps", "5"))));
        return 0;
    }
    if (cmd == "paths") { // the paths a simulated device's fast kernels take on this CPU
        try {
            std::printf("%s\n", cpu_fast_kernel_paths(cpu_fast_kernels(1)).c_str());
        } catch (const std::exception& e) {
            std::printf("gpulab-bench: %s\n", e.what());
            return 2;
        }
        return 0;
    }
    std::printf("usage: gpulab-bench kernels [--n 128] [--reps 15] [--threads 1]\n"
                "       gpulab-bench paths (which kernel paths this CPU takes; GPULAB_CPU_ISA caps them)\n"
                "       gpulab-bench floor [--reps 5] (the GEMM's one-thread peak; an epoch's FLOP floor)\n"
                "       gpulab-bench allreduce [--backend cpu|cuda] [--devices 2,4] [--min-bytes 4096]\n"
                "                              [--max-bytes 67108864] [--reps 5] [--link L]\n"
                "       gpulab-bench memory [--data DIR]\n"
                "       gpulab-bench engine [--steps 2000]\n");
    return cmd == "--help" ? 0 : 2;
}
