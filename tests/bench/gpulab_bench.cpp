// gpulab-bench: the C++ half of tests/bench (not a test: it prints, it never asserts).
//   kernels    each LeNet op, reference vs fast kernels, on one shard (CPU time per call)
//   allreduce  algbw and busbw per strategy for buffers 4 KiB .. 64 MiB (cpu-sim, cuda)
//   memory     sync-mode peak memory per device: predicted (params + grads + one shard's
//              activations and workspaces) beside the measured peak
// Run by tests/bench/run-bench.sh; usable alone (gpulab-bench --help).
#include "comm/allreduce.h"
#include "data/fashion_mnist.h"
#include "data/synthetic.h"
#include "device/cpu_device.h"
#include "device/device_factory.h"
#include "engine/tensor.h"
#include "kernels/cpu_fast_kernels.h"
#include "kernels/cpu_threads.h"
#include "kernels/kernels.h"
#include "model/lenet.h"
#include "trace/event_stream.h"
#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <random>
#include <string>
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

std::vector<float> randv(std::mt19937& rng, size_t n, float lo = -1, float hi = 1)
{
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v)
        x = d(rng);
    return v;
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
    return {median(cpu), median(wall)};
}

int cmd_kernels(int argc, char** argv)
{
    const int n = std::atoi(arg(argc, argv, "--n", "128"));
    const int reps = std::atoi(arg(argc, argv, "--reps", "9"));
    const int threads = std::atoi(arg(argc, argv, "--threads", "1"));
    set_cpu_kernel_threads(threads); // OpenBLAS (the reference) on as many threads as the fast kernels
    const Kernels& ref = cpu_reference_kernels();
    const Kernels& fast = cpu_fast_kernels(threads);
    std::printf("kernels: one shard of %d images, LeNet's ops; median of %d calls, CPU ms of the calling "
                "thread (wall ms in brackets); fast = %s, %d thread(s)\n",
                n, reps, cpu_fast_gemm_backend(), threads);
    std::mt19937 rng(1);
    const ConvShape c1{n, 1, 28, 28, 20, 3, 3}, c2{n, 20, 13, 13, 50, 5, 5};
    auto x = randv(rng, size_t(n) * 784, 0, 1);
    auto w1 = randv(rng, 180), b1 = randv(rng, 20), w2 = randv(rng, 25000), b2 = randv(rng, 50);
    auto w3 = randv(rng, 800 * 128), b3 = randv(rng, 128);
    auto a1 = randv(rng, size_t(n) * 13520), p1 = randv(rng, size_t(n) * 3380);
    auto a2 = randv(rng, size_t(n) * 4050), p2 = randv(rng, size_t(n) * 800);
    auto h3 = randv(rng, size_t(n) * 128);
    auto da1 = randv(rng, a1.size()), da2 = randv(rng, a2.size()); // gradients: in place, as lenet does
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
    const std::vector<Row> rows = {
        {"conv1_fwd", 20 * 9 * 676 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_forward(c1, x.data(), w1.data(), b1.data(), a1.data(), ws.data());
         },
         &c1},
        {"relu1_fwd", 0, [&](const Kernels& k, std::vector<float>&) { k.relu_forward(int64_t(a1.size()), a1.data(), a1.data()); },
         nullptr},
        {"pool1_fwd", 0, [&](const Kernels& k, std::vector<float>&) { k.avgpool2_forward(n, 20, 26, 26, a1.data(), p1.data()); },
         nullptr},
        {"conv2_fwd", 50 * 500 * 81 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_forward(c2, p1.data(), w2.data(), b2.data(), a2.data(), ws.data());
         },
         &c2},
        {"relu2_fwd", 0, [&](const Kernels& k, std::vector<float>&) { k.relu_forward(int64_t(a2.size()), a2.data(), a2.data()); },
         nullptr},
        {"pool2_fwd", 0, [&](const Kernels& k, std::vector<float>&) { k.avgpool2_forward(n, 50, 9, 9, a2.data(), p2.data()); },
         nullptr},
        {"dense3_fwd", 800 * 128 * 2e-6,
         [&](const Kernels& k, std::vector<float>&) { k.dense_forward(n, 800, 128, p2.data(), w3.data(), b3.data(), h3.data()); },
         nullptr},
        {"dense3_bwd", 800 * 128 * 4e-6,
         [&](const Kernels& k, std::vector<float>&) {
             k.dense_backward(n, 800, 128, p2.data(), w3.data(), h3.data(), p2.data(), dw3.data(), db3.data());
         },
         nullptr},
        {"pool2_bwd", 0, [&](const Kernels& k, std::vector<float>&) { k.avgpool2_backward(n, 50, 9, 9, p2.data(), da2.data()); },
         nullptr},
        {"relu2_bwd", 0,
         [&](const Kernels& k, std::vector<float>&) { k.relu_backward(int64_t(a2.size()), a2.data(), da2.data(), da2.data()); },
         nullptr},
        {"conv2_bwd_w", 50 * 500 * 81 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_backward_weights(c2, p1.data(), da2.data(), dw.data(), db.data(), ws.data());
         },
         &c2},
        {"conv2_bwd_x", 50 * 500 * 81 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_backward_data(c2, da2.data(), w2.data(), p1.data(), ws.data());
         },
         &c2},
        {"pool1_bwd", 0, [&](const Kernels& k, std::vector<float>&) { k.avgpool2_backward(n, 20, 26, 26, p1.data(), da1.data()); },
         nullptr},
        {"relu1_bwd", 0,
         [&](const Kernels& k, std::vector<float>&) { k.relu_backward(int64_t(a1.size()), a1.data(), da1.data(), da1.data()); },
         nullptr},
        {"conv1_bwd_w", 20 * 9 * 676 * 2e-6,
         [&](const Kernels& k, std::vector<float>& ws) {
             k.conv2d_backward_weights(c1, x.data(), da1.data(), dw.data(), db.data(), ws.data());
         },
         &c1},
    };
    std::printf("%-12s %18s %18s %8s %10s\n", "op", "reference ms", "fast ms", "speedup", "fast GF/s");
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
        std::printf("%-12s %8.3f [%7.3f] %8.3f [%7.3f] %7.2fx %10s\n", row.name, r.cpu_ms, r.wall_ms, f.cpu_ms,
                    f.wall_ms, r.cpu_ms / std::max(1e-9, f.cpu_ms), gf);
    }
    std::printf("%-12s %8.3f            %8.3f            %7.2fx   (%.0f vs %.0f images/s of these ops per thread)\n",
                "total", tr, tf, tr / std::max(1e-9, tf), n / tr * 1e3, n / tf * 1e3);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    const std::string cmd = argc > 1 ? argv[1] : "--help";
    if (cmd == "kernels")
        return cmd_kernels(argc - 1, argv + 1);
    std::printf("usage: gpulab-bench kernels [--n 128] [--reps 9] [--threads 1]\n");
    return cmd == "--help" ? 0 : 2;
}
