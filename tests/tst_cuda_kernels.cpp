// tst_cuda_kernels: the CUDA kernel table against the CPU reference, the CUDA device's
// pool, transfers and error reporting. Skips only where there is no NVIDIA driver or no GPU
// (require_cuda.h); runs for real on the GPU machine (tests/gpu/run-gpu-checks.sh). Plain C++, no Qt.
#include "support/plain_test.h"
#include "support/scoped_env.h"
#include "support/require_cuda.h"

#include "data/synthetic.h"
#include "device/device_factory.h"
#include "kernels/kernels.h"
#include "trace/event_stream.h"
#include "train/trainer.h"
#include "verify/verify.h"

#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_check.h"
#include "device/cuda_device.h"
#include "kernels/cuda_kernels.h"
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

using namespace gpulab;

namespace {

std::vector<std::unique_ptr<Device>> cuda_devices(int n, int64_t budget = kDefaultMemoryBudget,
                                                  EventStream* trace = nullptr)
{
    return make_devices(DeviceKind::Cuda, n, budget, 1, trace);
}

std::string shape_text_for_test(const ConvShape& sh)
{
    return "x(" + std::to_string(sh.n) + "," + std::to_string(sh.c) + "," + std::to_string(sh.h) + "," +
           std::to_string(sh.w) + ") w(" + std::to_string(sh.k) + "," + std::to_string(sh.c) + "," +
           std::to_string(sh.r) + "," + std::to_string(sh.s) + ")";
}

void require_all_ok(const std::vector<VerifyCheck>& checks)
{
    PT_VERIFY(!checks.empty());
    for (const auto& c : checks) {
        std::printf("  %s %s %s: worst %.3g (allowed %.0e + %.0e*|ref|) %s\n", c.ok ? "OK  " : "FAIL", c.group.c_str(),
                    c.name.c_str(), c.worst, c.tol, c.eps, c.note.c_str());
        PT_VERIFY2(c.ok, c.group + " " + c.name + ": " + c.note);
    }
}


} // namespace

PT_TEST(devices_map_logical_to_physical_gpus)
{
    require_cuda();
    const int gpus = cuda_device_count();
    PT_VERIFY(gpus >= 1);
    PT_COMPARE(int(cuda_gpus().size()), gpus);
    for (const GpuInfo& g : cuda_gpus()) {
        std::printf("  GPU %d: %s, cc %d.%d, %s\n", g.index, g.name.c_str(), g.major, g.minor,
                    format_bytes(g.total_bytes).c_str());
        PT_VERIFY(g.total_bytes > 0);
        PT_VERIFY(g.major >= 7);
    }
    auto devs = cuda_devices(gpus + 1);
    PT_COMPARE(devs.back()->name(), "cuda(" + std::to_string(gpus) + " on GPU 0)");
    PT_VERIFY(devs.front()->kind() == DeviceKind::Cuda);
    PT_VERIFY(kernels_for(*devs.front()).name() != std::string(cpu_reference_kernels().name()));
    PT_VERIFY(&kernels_for(*devs[0]) != &kernels_for(*devs[1])); // each device its own handles
}

PT_TEST(every_kernel_matches_the_cpu_reference)
{
    require_cuda();
    auto devs = cuda_devices(cuda_device_count());
    for (auto& d : devs) // once per physical GPU
        require_all_ok(verify_kernels(*d, 1));
}

PT_TEST(every_kernel_matches_with_other_inputs)
{
    require_cuda();
    auto devs = cuda_devices(1);
    require_all_ok(verify_kernels(*devs.front(), 12345));
}

// Each setting of the two switches: every kernel still matches the CPU reference.
PT_TEST(every_kernel_matches_with_graphs_and_own_kernels_on_or_off)
{
    require_cuda();
    for (const char* graphs : {"1", "0"})
        for (const char* own : {"1", "0"}) {
            ScopedEnv g("GPULAB_CUDA_GRAPHS", graphs), o("GPULAB_CUDA_OWN_KERNELS", own);
            std::printf("  GPULAB_CUDA_GRAPHS=%s GPULAB_CUDA_OWN_KERNELS=%s\n", graphs, own);
            auto devs = cuda_devices(1);
            require_all_ok(verify_kernels(*devs.front(), 7));
        }
}

// Convolutions called again and again on a few sets of buffers whose contents change before
// every call, as in training: a replayed graph computes from the data there now, into the
// buffers the call names, as the plain call and the CPU reference do. With graphs on, the
// calls after the first of each set must replay (a failed capture is reported here).
PT_TEST(convolution_graphs_replay_with_new_data_and_buffers)
{
    require_cuda();
#ifdef GPULAB_HAVE_CUDA
    for (const char* graphs : {"1", "0"}) {
        for (const char* own : {"1", "0"}) {
            ScopedEnv g("GPULAB_CUDA_GRAPHS", graphs), o("GPULAB_CUDA_OWN_KERNELS", own);
            auto devs = cuda_devices(1);
            Device& dev = *devs.front();
            const Kernels& k = kernels_for(dev);
            const Kernels& ref = cpu_reference_kernels();
            for (const ConvShape sh : {ConvShape{6, 20, 13, 13, 50, 5, 5}, ConvShape{5, 1, 28, 28, 20, 3, 3}}) {
                const int64_t xs = int64_t(sh.n) * sh.c * sh.h * sh.w, ys = int64_t(sh.n) * sh.k * sh.oh() * sh.ow();
                const int64_t wsz = int64_t(sh.k) * sh.c * sh.r * sh.s;
                auto WS = dev.allocate(std::max<int64_t>(4, k.conv_workspace_bytes(sh)));
                std::vector<float> hws(size_t(std::max<int64_t>(1, ref.conv_workspace_bytes(sh) / 4 + 1)));
                struct Set {
                    std::shared_ptr<Buffer> x, w, b, y, dy, dx, dw, db;
                };
                std::vector<Set> sets(3);
                for (Set& st : sets) {
                    st.x = dev.allocate(xs * 4);
                    st.w = dev.allocate(wsz * 4);
                    st.b = dev.allocate(sh.k * 4);
                    st.y = dev.allocate(ys * 4);
                    st.dy = dev.allocate(ys * 4);
                    st.dx = dev.allocate(xs * 4);
                    st.dw = dev.allocate(wsz * 4);
                    st.db = dev.allocate(sh.k * 4);
                }
                std::mt19937 rng(99);
                std::uniform_real_distribution<float> u(-1.0f, 1.0f);
                auto random = [&](int64_t count) {
                    std::vector<float> v(static_cast<size_t>(count));
                    for (float& f : v)
                        f = u(rng);
                    return v;
                };
                double worst = 0;
                auto compare = [&](const char* what, const std::vector<float>& got, const std::vector<float>& want) {
                    for (size_t i = 0; i < want.size(); ++i) {
                        const double err = std::fabs(double(got[i]) - want[i]);
                        worst = std::max(worst, err);
                        if (!(err <= 2e-4 + 2e-4 * std::fabs(want[i])))
                            PT_FAIL(std::string(what) + " differs from the CPU reference at " + std::to_string(i) + ": "
                                    + std::to_string(got[i]) + " vs " + std::to_string(want[i]));
                    }
                };
                auto f = [](const std::shared_ptr<Buffer>& b) { return static_cast<float*>(b->data()); };
                for (int round = 0; round < 4; ++round)
                    for (Set& st : sets) {
                        const auto x = random(xs), w = random(wsz), b = random(sh.k), dy = random(ys);
                        dev.upload(st.x->data(), x.data(), xs * 4);
                        dev.upload(st.w->data(), w.data(), wsz * 4);
                        dev.upload(st.b->data(), b.data(), sh.k * 4);
                        dev.upload(st.dy->data(), dy.data(), ys * 4);
                        const bool relu = round % 2 == 0;
                        if (relu)
                            k.conv2d_relu_forward(sh, f(st.x), f(st.w), f(st.b), f(st.y), f(WS));
                        else
                            k.conv2d_forward(sh, f(st.x), f(st.w), f(st.b), f(st.y), f(WS));
                        k.conv2d_backward_data(sh, f(st.dy), f(st.w), f(st.dx), f(WS));
                        k.conv2d_backward_weights(sh, f(st.x), f(st.dy), f(st.dw), f(st.db), f(WS));
                        std::vector<float> y(static_cast<size_t>(ys)), dx(static_cast<size_t>(xs)), dw(static_cast<size_t>(wsz)),
                            db(static_cast<size_t>(sh.k));
                        dev.download(y.data(), st.y->data(), ys * 4);
                        dev.download(dx.data(), st.dx->data(), xs * 4);
                        dev.download(dw.data(), st.dw->data(), wsz * 4);
                        dev.download(db.data(), st.db->data(), sh.k * 4);
                        std::vector<float> ry(y.size()), rdx(dx.size()), rdw(dw.size()), rdb(db.size());
                        if (relu)
                            ref.conv2d_relu_forward(sh, x.data(), w.data(), b.data(), ry.data(), hws.data());
                        else
                            ref.conv2d_forward(sh, x.data(), w.data(), b.data(), ry.data(), hws.data());
                        ref.conv2d_backward_data(sh, dy.data(), w.data(), rdx.data(), hws.data());
                        ref.conv2d_backward_weights(sh, x.data(), dy.data(), rdw.data(), rdb.data(), hws.data());
                        compare(relu ? "conv2d_relu_forward" : "conv2d_forward", y, ry);
                        compare("conv2d_backward_data", dx, rdx);
                        compare("conv2d_backward_weights (dw)", dw, rdw);
                        compare("conv2d_backward_weights (db)", db, rdb);
                    }
                std::printf("  GPULAB_CUDA_GRAPHS=%s GPULAB_CUDA_OWN_KERNELS=%s %s: 48 calls, worst %.3g\n", graphs,
                            own, sh.c == 1 ? "conv1" : "conv2", worst);
            }
            const CudaGraphStats st = cuda_graph_stats(k);
            std::printf("  graphs: %ld captured, %ld replayed, %ld plain, %ld failed captures\n", st.captured,
                        st.replayed, st.plain, st.failed);
            if (std::string(graphs) == "1") {
                PT_VERIFY2(st.failed == 0, "a convolution call could not be captured into a CUDA graph on this "
                                           "machine (it ran plainly, correctly); GPULAB_CUDA_GRAPHS=0 skips trying");
                PT_VERIFY2(st.replayed > 0, "no convolution call was replayed from a graph");
            } else {
                PT_VERIFY(st.captured == 0 && st.replayed == 0 && st.failed == 0);
            }
        }
    }
#endif
}

// The same for the dense layers (cuBLAS GEMMs and our bias kernels, one graph per call).
PT_TEST(dense_graphs_replay_with_new_data_and_buffers)
{
    require_cuda();
#ifdef GPULAB_HAVE_CUDA
    for (const char* graphs : {"1", "0"}) {
        ScopedEnv g("GPULAB_CUDA_GRAPHS", graphs);
        auto devs = cuda_devices(1);
        Device& dev = *devs.front();
        const Kernels& k = kernels_for(dev);
        const Kernels& ref = cpu_reference_kernels();
        const int n = 37, in = 800, out = 128;
        struct Set {
            std::shared_ptr<Buffer> x, w, b, y, dy, dx, dw, db;
        };
        std::vector<Set> sets(3);
        for (Set& st : sets) {
            st.x = dev.allocate(int64_t(n) * in * 4);
            st.w = dev.allocate(int64_t(in) * out * 4);
            st.b = dev.allocate(out * 4);
            st.y = dev.allocate(int64_t(n) * out * 4);
            st.dy = dev.allocate(int64_t(n) * out * 4);
            st.dx = dev.allocate(int64_t(n) * in * 4);
            st.dw = dev.allocate(int64_t(in) * out * 4);
            st.db = dev.allocate(out * 4);
        }
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        auto random = [&](int64_t count) {
            std::vector<float> v(static_cast<size_t>(count));
            for (float& f : v)
                f = u(rng);
            return v;
        };
        auto f = [](const std::shared_ptr<Buffer>& b) { return static_cast<float*>(b->data()); };
        auto down = [&](const std::shared_ptr<Buffer>& b, int64_t count) {
            std::vector<float> v(static_cast<size_t>(count));
            dev.download(v.data(), b->data(), count * 4);
            return v;
        };
        double worst = 0;
        auto compare = [&](const char* what, const std::vector<float>& got, const std::vector<float>& want) {
            for (size_t i = 0; i < want.size(); ++i) {
                const double err = std::fabs(double(got[i]) - want[i]);
                worst = std::max(worst, err);
                if (!(err <= 2e-4 + 2e-4 * std::fabs(want[i])))
                    PT_FAIL(std::string(what) + " differs from the CPU reference at " + std::to_string(i) + ": "
                            + std::to_string(got[i]) + " vs " + std::to_string(want[i]));
            }
        };
        for (int round = 0; round < 4; ++round)
            for (Set& st : sets) {
                const auto x = random(int64_t(n) * in), w = random(int64_t(in) * out), b = random(out),
                           dy = random(int64_t(n) * out);
                dev.upload(st.x->data(), x.data(), int64_t(x.size()) * 4);
                dev.upload(st.w->data(), w.data(), int64_t(w.size()) * 4);
                dev.upload(st.b->data(), b.data(), int64_t(b.size()) * 4);
                dev.upload(st.dy->data(), dy.data(), int64_t(dy.size()) * 4);
                const bool with_dx = round % 2 == 0;
                k.dense_forward(n, in, out, f(st.x), f(st.w), f(st.b), f(st.y));
                k.dense_backward(n, in, out, f(st.x), f(st.w), f(st.dy), with_dx ? f(st.dx) : nullptr, f(st.dw),
                                 f(st.db));
                std::vector<float> ry(size_t(n) * out), rdx(size_t(n) * in), rdw(size_t(in) * out),
                    rdb(static_cast<size_t>(out));
                ref.dense_forward(n, in, out, x.data(), w.data(), b.data(), ry.data());
                ref.dense_backward(n, in, out, x.data(), w.data(), dy.data(), rdx.data(), rdw.data(), rdb.data());
                compare("dense_forward", down(st.y, int64_t(n) * out), ry);
                if (with_dx)
                    compare("dense_backward (dx)", down(st.dx, int64_t(n) * in), rdx);
                compare("dense_backward (dw)", down(st.dw, int64_t(in) * out), rdw);
                compare("dense_backward (db)", down(st.db, out), rdb);
            }
        const CudaGraphStats st = cuda_graph_stats(k);
        std::printf("  GPULAB_CUDA_GRAPHS=%s dense: 36 calls, worst %.3g; graphs: %ld captured, %ld replayed, %ld plain, "
                    "%ld failed captures\n",
                    graphs, worst, st.captured, st.replayed, st.plain, st.failed);
        if (std::string(graphs) == "1") {
            PT_VERIFY2(st.failed == 0, "a dense call could not be captured into a CUDA graph on this machine (it ran "
                                       "plainly, correctly); GPULAB_CUDA_GRAPHS=0 skips trying");
            PT_VERIFY2(st.replayed > 0, "no dense call was replayed from a graph");
        } else {
            PT_VERIFY(st.captured == 0 && st.replayed == 0 && st.failed == 0);
        }
    }
#endif
}

// The switches for the newer paths (off by default): every kernel still matches the CPU
// reference with each on. (GPULAB_CUDA_FUSED_GRAPHS changes nothing for calls made outside
// a unit, as here; the tests below hold calls in units.)
PT_TEST(every_kernel_matches_with_the_newer_switches_on)
{
    require_cuda();
    for (const char* sw :
         {"GPULAB_CUDA_SPLIT_SUMS", "GPULAB_CUDA_FUSED_GRAPHS", "GPULAB_CUDA_GPU_TIMES", "GPULAB_CUDA_ANY_ALGO"}) {
        ScopedEnv on(sw, "1");
        std::printf("  %s=1\n", sw);
        auto devs = cuda_devices(1);
        require_all_ok(verify_kernels(*devs.front(), 11));
    }
}

#ifdef GPULAB_HAVE_CUDA
namespace {

// The buffers of one pass of a small network through the kernel table: conv (20 -> 50
// channels, 5x5) with ReLU, pool, dense 800 -> 16 with ReLU, softmax loss, and back.
struct NetBuffers {
    int n = 0;
    std::shared_ptr<Buffer> x, w, b, a, p, W3, b3, h, labels, loss, dl, dp, dW3, db3, da, dw, db, dx, u, ws;
};

ConvShape net_shape(int n) { return ConvShape{n, 20, 13, 13, 50, 5, 5}; }

NetBuffers net_buffers(Device& dev, const Kernels& k, int n)
{
    NetBuffers b;
    b.n = n;
    auto f = [&](int64_t count) { return dev.allocate(std::max<int64_t>(count, 1) * 4); };
    b.x = f(int64_t(n) * 20 * 13 * 13);
    b.w = f(50 * 20 * 5 * 5);
    b.b = f(50);
    b.a = f(int64_t(n) * 50 * 9 * 9);
    b.p = f(int64_t(n) * 800);
    b.W3 = f(800 * 16);
    b.b3 = f(16);
    b.h = f(int64_t(n) * 16);
    b.labels = f(n);
    b.loss = f(1);
    b.dl = f(int64_t(n) * 16);
    b.dp = f(int64_t(n) * 800);
    b.dW3 = f(800 * 16);
    b.db3 = f(16);
    b.da = f(int64_t(n) * 50 * 9 * 9);
    b.dw = f(50 * 20 * 5 * 5);
    b.db = f(50);
    b.dx = f(int64_t(n) * 20 * 13 * 13);
    b.u = f(800 * 16);
    b.ws = dev.allocate(std::max<int64_t>(4, k.conv_workspace_bytes(net_shape(n))));
    return b;
}

// Forward, loss, backward and an SGD step of scale `scale`, as one unit of fused calls (a
// table that does not fuse queues each call at once).
void net_pass(const Kernels& k, const NetBuffers& b, float scale)
{
    auto F = [](const std::shared_ptr<Buffer>& p) { return static_cast<float*>(p->data()); };
    const int n = b.n;
    const ConvShape sh = net_shape(n);
    FusedCalls unit(k);
    k.conv2d_relu_forward(sh, F(b.x), F(b.w), F(b.b), F(b.a), F(b.ws));
    k.avgpool2_forward(n, 50, 9, 9, F(b.a), F(b.p));
    k.dense_forward(n, 800, 16, F(b.p), F(b.W3), F(b.b3), F(b.h));
    k.relu_forward(int64_t(n) * 16, F(b.h), F(b.h));
    k.softmax_xent(n, 16, F(b.h), static_cast<const int32_t*>(b.labels->data()), F(b.loss), F(b.dl));
    k.relu_backward(int64_t(n) * 16, F(b.h), F(b.dl), F(b.dl));
    k.dense_backward(n, 800, 16, F(b.p), F(b.W3), F(b.dl), F(b.dp), F(b.dW3), F(b.db3));
    k.avgpool2_relu_backward(n, 50, 9, 9, F(b.dp), F(b.a), F(b.da));
    k.conv2d_backward_weights(sh, F(b.x), F(b.da), F(b.dw), F(b.db), F(b.ws));
    k.conv2d_backward_data(sh, F(b.da), F(b.w), F(b.dx), F(b.ws));
    k.sgd_update(800 * 16, scale, F(b.dW3), F(b.u));
    unit.end();
}

} // namespace
#endif

// Units of fused calls (GPULAB_CUDA_FUSED_GRAPHS=1) against the same calls queued one by
// one on another device whose table does not fuse: on three buffer sets (two of one batch
// size, one of another) whose inputs change before every pass, and with an SGD scale that
// changes every round (a graph replays the values it was captured with: the scale must be
// part of its key), every output is the same, bit for bit (the same kernels in the same
// order). The units must replay from graphs after their first passes. With split sums on
// both sides too (their bias gradients then come from the two-pass kernels).
PT_TEST(fused_units_match_the_calls_one_by_one)
{
    require_cuda();
#ifdef GPULAB_HAVE_CUDA
    for (const char* split : {"0", "1"}) {
        ScopedEnv sp("GPULAB_CUDA_SPLIT_SUMS", split);
        std::vector<std::unique_ptr<Device>> fused_devs, plain_devs;
        {
            ScopedEnv on("GPULAB_CUDA_FUSED_GRAPHS", "1");
            fused_devs = cuda_devices(1);
        }
        {
            ScopedEnv off("GPULAB_CUDA_FUSED_GRAPHS", "0");
            plain_devs = cuda_devices(1);
        }
        Device& fd = *fused_devs.front();
        Device& pd = *plain_devs.front();
        const Kernels& fk = kernels_for(fd);
        const Kernels& pk = kernels_for(pd);
        PT_VERIFY(fk.fusion() == Kernels::Fusion::Layers);
        PT_VERIFY(pk.fusion() == Kernels::Fusion::None);
        std::vector<NetBuffers> fsets, psets;
        for (int n : {6, 6, 5}) {
            fsets.push_back(net_buffers(fd, fk, n));
            psets.push_back(net_buffers(pd, pk, n));
        }
        std::mt19937 rng(5);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        auto both = [&](const std::shared_ptr<Buffer>& a, const std::shared_ptr<Buffer>& b, int64_t count) {
            std::vector<float> v(static_cast<size_t>(count));
            for (float& f : v)
                f = u(rng);
            fd.upload(a->data(), v.data(), count * 4);
            pd.upload(b->data(), v.data(), count * 4);
        };
        int compared = 0;
        for (int round = 0; round < 4; ++round)
            for (size_t i = 0; i < fsets.size(); ++i) {
                const NetBuffers& F = fsets[i];
                const NetBuffers& P = psets[i];
                const int n = F.n;
                both(F.x, P.x, int64_t(n) * 20 * 13 * 13);
                both(F.w, P.w, 50 * 20 * 5 * 5);
                both(F.b, P.b, 50);
                both(F.W3, P.W3, 800 * 16);
                both(F.b3, P.b3, 16);
                both(F.u, P.u, 800 * 16);
                std::vector<int32_t> labels(static_cast<size_t>(n));
                for (int32_t& l : labels)
                    l = int32_t(rng() % 16);
                fd.upload(F.labels->data(), labels.data(), n * 4);
                pd.upload(P.labels->data(), labels.data(), n * 4);
                const float scale = 0.1f * float(round + 1);
                net_pass(fk, F, scale);
                net_pass(pk, P, scale);
                struct Out {
                    const char* name;
                    std::shared_ptr<Buffer> NetBuffers::*buf;
                    int64_t count;
                };
                for (const Out& o : {Out{"a", &NetBuffers::a, int64_t(n) * 50 * 81}, Out{"p", &NetBuffers::p, int64_t(n) * 800},
                                     Out{"h", &NetBuffers::h, int64_t(n) * 16}, Out{"loss", &NetBuffers::loss, 1},
                                     Out{"dl", &NetBuffers::dl, int64_t(n) * 16}, Out{"dp", &NetBuffers::dp, int64_t(n) * 800},
                                     Out{"dW3", &NetBuffers::dW3, 800 * 16}, Out{"db3", &NetBuffers::db3, 16},
                                     Out{"da", &NetBuffers::da, int64_t(n) * 50 * 81}, Out{"dw", &NetBuffers::dw, 50 * 500},
                                     Out{"db", &NetBuffers::db, 50}, Out{"dx", &NetBuffers::dx, int64_t(n) * 20 * 169},
                                     Out{"u (after sgd)", &NetBuffers::u, 800 * 16}}) {
                    std::vector<float> got(static_cast<size_t>(o.count)), want(got.size());
                    fd.download(got.data(), (F.*o.buf)->data(), o.count * 4);
                    pd.download(want.data(), (P.*o.buf)->data(), o.count * 4);
                    PT_VERIFY2(std::memcmp(got.data(), want.data(), got.size() * 4) == 0,
                               std::string(o.name) + " differs between the fused unit and the calls one by one (round "
                                   + std::to_string(round) + ", set " + std::to_string(i) + ")");
                    ++compared;
                }
            }
        const CudaGraphStats fs = cuda_graph_stats(fk), ps = cuda_graph_stats(pk);
        std::printf("  GPULAB_CUDA_SPLIT_SUMS=%s: %d outputs equal; fused units: %ld captured, %ld replayed, %ld call by "
                    "call, %ld failed captures\n",
                    split, compared, fs.fused_captured, fs.fused_replayed, fs.fused_plain, fs.fused_failed);
        PT_VERIFY2(fs.fused_failed == 0, "a unit of fused calls could not be captured into a CUDA graph on this machine "
                                         "(it ran call by call, correctly)");
        PT_VERIFY2(fs.fused_captured > 0 && fs.fused_replayed > 0, "no unit of fused calls was replayed from a graph");
        PT_VERIFY(ps.fused_captured == 0 && ps.fused_replayed == 0 && ps.fused_plain == 0);
    }
#endif
}

// The two-pass bias gradient (GPULAB_CUDA_SPLIT_SUMS=1) on shapes that give it many slices
// per channel (LeNet's at batch 256, and an odd one), against the CPU reference; dw as well.
PT_TEST(split_bias_gradient_matches_the_reference)
{
    require_cuda();
#ifdef GPULAB_HAVE_CUDA
    ScopedEnv on("GPULAB_CUDA_SPLIT_SUMS", "1");
    auto devs = cuda_devices(1);
    Device& dev = *devs.front();
    const Kernels& k = kernels_for(dev);
    const Kernels& ref = cpu_reference_kernels();
    std::mt19937 rng(23);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (const ConvShape sh : {ConvShape{256, 1, 28, 28, 20, 3, 3}, ConvShape{256, 20, 13, 13, 50, 5, 5},
                               ConvShape{37, 3, 30, 17, 7, 2, 4}}) {
        const int64_t xs = int64_t(sh.n) * sh.c * sh.h * sh.w, ys = int64_t(sh.n) * sh.k * sh.oh() * sh.ow();
        const int64_t wsz = int64_t(sh.k) * sh.c * sh.r * sh.s;
        std::vector<float> x(static_cast<size_t>(xs)), dy(static_cast<size_t>(ys));
        for (float& v : x)
            v = u(rng);
        for (float& v : dy)
            v = 0.5f * (u(rng) + 1.0f); // in [0, 1]: every channel's sum is large, and a lost slice shows
        auto X = dev.allocate(xs * 4), DY = dev.allocate(ys * 4), DW = dev.allocate(wsz * 4), DB = dev.allocate(sh.k * 4);
        auto WS = dev.allocate(std::max<int64_t>(4, k.conv_workspace_bytes(sh)));
        dev.upload(X->data(), x.data(), xs * 4);
        dev.upload(DY->data(), dy.data(), ys * 4);
        for (int rep = 0; rep < 3; ++rep) // the second and third from a graph
            k.conv2d_backward_weights(sh, static_cast<const float*>(X->data()), static_cast<const float*>(DY->data()),
                                      static_cast<float*>(DW->data()), static_cast<float*>(DB->data()),
                                      static_cast<float*>(WS->data()));
        std::vector<float> dw(static_cast<size_t>(wsz)), db(static_cast<size_t>(sh.k));
        dev.download(dw.data(), DW->data(), wsz * 4);
        dev.download(db.data(), DB->data(), sh.k * 4);
        std::vector<float> rdw(dw.size()), rdb(db.size());
        std::vector<float> hws(size_t(std::max<int64_t>(1, ref.conv_workspace_bytes(sh) / 4 + 1)));
        ref.conv2d_backward_weights(sh, x.data(), dy.data(), rdw.data(), rdb.data(), hws.data());
        // Sums of up to 173,056 values, in another order than the CPU reference's: db (about
        // 86,500 for conv1) within 1e-4 relative, where one image's share is 4e-3 and a
        // slice's far more; dw (cuDNN's, as without the switch) loosely.
        VerifyCheck cb = compare_values(db, rdb, 0.05, 1e-4);
        cb.group = "kernels";
        cb.name = "channel sums db " + shape_text_for_test(sh);
        VerifyCheck cw = compare_values(dw, rdw, 0.05, 1e-3);
        cw.group = "kernels";
        cw.name = "dw " + shape_text_for_test(sh);
        require_all_ok({cb, cw});
    }
#endif
}

// A unit whose call throws (a bad shape) is dropped whole: the calls held before the throw
// never run, the table holds nothing afterwards, and the next unit runs.
PT_TEST(a_unit_that_throws_is_dropped)
{
    require_cuda();
#ifdef GPULAB_HAVE_CUDA
    ScopedEnv on("GPULAB_CUDA_FUSED_GRAPHS", "1");
    auto devs = cuda_devices(1);
    Device& dev = *devs.front();
    const Kernels& k = kernels_for(dev);
    auto buf = dev.allocate(64 * 4);
    float* y = static_cast<float*>(buf->data());
    k.fill(64, 1.0f, y);
    bool threw = false;
    try {
        FusedCalls unit(k);
        k.fill(64, 7.0f, y); // held
        k.conv_workspace_bytes(ConvShape{1, 1, 2, 2, 1, 3, 3}); // filter larger than the image: throws
        unit.end();
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    PT_VERIFY(threw);
    std::vector<float> v(64);
    dev.download(v.data(), y, 64 * 4);
    PT_COMPARE(v[0], 1.0f); // the held fill was dropped
    {
        FusedCalls unit(k);
        k.fill(64, 3.0f, y);
        unit.end();
    }
    dev.download(v.data(), y, 64 * 4);
    PT_COMPARE(v[63], 3.0f);
    k.fill(64, 4.0f, y); // outside any unit: at once
    dev.download(v.data(), y, 64 * 4);
    PT_COMPARE(v[5], 4.0f);
#endif
}

PT_TEST(transfers_between_logical_devices_on_one_or_more_gpus)
{
    require_cuda();
    auto devs = cuda_devices(std::max(3, cuda_device_count()));
    std::vector<Device*> all;
    for (auto& d : devs)
        all.push_back(d.get());
    require_all_ok(verify_transfers(all, 3));
}

PT_TEST(pool_accounting_and_out_of_memory)
{
    require_cuda();
    require_all_ok(verify_memory(DeviceKind::Cuda));
}

PT_TEST(conv_workspace_is_planned_once_per_shape)
{
    require_cuda();
    auto devs = cuda_devices(1);
    const Kernels& k = kernels_for(*devs.front());
    const ConvShape a{64, 20, 13, 13, 50, 5, 5}, b{7, 20, 13, 13, 50, 5, 5};
    const int64_t wa = k.conv_workspace_bytes(a);
    PT_VERIFY(wa >= 0);
    PT_COMPARE(k.conv_workspace_bytes(a), wa); // cached: the same answer
    PT_VERIFY(k.conv_workspace_bytes(b) >= 0);
    PT_COMPARE(k.conv_workspace_bytes(ConvShape{0, 20, 13, 13, 50, 5, 5}), int64_t(0));
    bool threw = false;
    try {
        k.conv_workspace_bytes(ConvShape{1, 1, 2, 2, 1, 3, 3}); // filter larger than the image
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    PT_VERIFY(threw);
}

PT_TEST(a_failing_call_throws_with_call_file_and_line)
{
    require_cuda();
#ifdef GPULAB_HAVE_CUDA
    try {
        GPULAB_CUDA_CHECK(cudaSetDevice(1 << 20));
        PT_VERIFY2(false, "no throw");
    } catch (const CudaError& e) {
        const std::string what = e.what();
        std::printf("  %s\n", what.c_str());
        PT_VERIFY2(what.find("cudaSetDevice(1 << 20)") != std::string::npos, what);
        PT_VERIFY2(what.find("tst_cuda_kernels.cpp:") != std::string::npos, what);
    }
    // The device is still usable after the failed call.
    auto devs = cuda_devices(1);
    require_all_ok(verify_memory(DeviceKind::Cuda));
#endif
}

// Uploads from pageable memory go through pinned blocks that are reused once their copy has
// landed; read-backs land later, in order. Many of both in a row must not mix up data.
PT_TEST(pinned_uploads_and_readbacks_that_land_later)
{
    require_cuda();
    auto devs = cuda_devices(1);
    Device& dev = *devs.front();
    const int parts = 40;
    const int64_t count = 200000; // 800 KB: a minibatch of images
    std::vector<std::shared_ptr<Buffer>> bufs;
    std::vector<float> host(static_cast<size_t>(count));
    for (int p = 0; p < parts; ++p) {
        bufs.push_back(dev.allocate(count * 4));
        for (int64_t i = 0; i < count; ++i)
            host[size_t(i)] = float(p * 1000 + i % 997);
        dev.upload(bufs.back()->data(), host.data(), count * 4);
        std::fill(host.begin(), host.end(), -1.0f); // the caller reuses its buffer at once
    }
    std::vector<int> order;
    std::vector<float> firsts, lasts;
    for (int p = 0; p < parts; ++p)
        dev.download_then(static_cast<const float*>(bufs[size_t(p)]->data()), count, [&, p](std::vector<float>& v) {
            PT_COMPARE(int64_t(v.size()), count);
            order.push_back(p);
            firsts.push_back(v.front());
            lasts.push_back(v.back());
        });
    dev.finish_readbacks();
    PT_COMPARE(int(order.size()), parts);
    for (int p = 0; p < parts; ++p) {
        PT_COMPARE(order[size_t(p)], p);
        PT_COMPARE(firsts[size_t(p)], float(p * 1000));
        PT_COMPARE(lasts[size_t(p)], float(p * 1000 + (count - 1) % 997));
    }
    std::vector<float> check(static_cast<size_t>(count));
    dev.download(check.data(), bufs[7]->data(), count * 4);
    PT_COMPARE(check[12345], float(7 * 1000 + 12345 % 997));
    dev.finish_readbacks(); // nothing left: returns at once
}

// A corrupt label is reported at the loss read-back that follows it (not as divergence),
// whether the front end waits for every minibatch or runs ahead, and wherever the data is;
// also where the loss is computed inside a graph of fused calls (GPULAB_CUDA_FUSED_GRAPHS=1
// and 2: the kernel's error slot is marked at each call, replayed or not).
PT_TEST(a_bad_label_ends_a_training_run_cleanly)
{
    require_cuda();
    FashionMnist data = make_synthetic_dataset(256, 64, 3);
    data.train.labels[100] = 12;
    struct Case {
        int devices;
        ExecMode mode;
        DataPlacement placement;
    };
    for (const char* fused : {"0", "1", "2"})
    for (const Case k : {Case{2, ExecMode::Sync, DataPlacement::Auto}, Case{1, ExecMode::Bounded, DataPlacement::Host},
                         Case{1, ExecMode::Bounded, DataPlacement::Device}}) {
        ScopedEnv f("GPULAB_CUDA_FUSED_GRAPHS", fused);
        std::printf("  GPULAB_CUDA_FUSED_GRAPHS=%s\n", fused);
        TrainConfig cfg = verify_train_config(Backend::Cuda, k.devices, AllreduceKind::Naive);
        cfg.mode = k.mode;
        cfg.data = k.placement;
        cfg.epochs = 1;
        EventStream trace;
        Trainer t(cfg, std::make_shared<const FashionMnist>(data), trace);
        const RunResult r = t.run();
        std::printf("  %s, data %s: %s: %s\n", cfg.describe().c_str(), data_placement_name(k.placement),
                    run_status_name(r.status), r.message.c_str());
        PT_VERIFY(r.status == RunStatus::Failed);
        PT_VERIFY2(r.message.find("label 12") != std::string::npos, r.message);
        for (int64_t b : r.bytes_in_use_after)
            PT_COMPARE(b, int64_t(0));
    }
}

PT_TEST(an_unbounded_async_run_reports_out_of_memory)
{
    require_cuda();
    const FashionMnist data = make_synthetic_dataset(4096, 64, 3);
    TrainConfig cfg = verify_train_config(Backend::Cuda, 2, AllreduceKind::Ring);
    cfg.mode = ExecMode::Async;
    cfg.epochs = 1;
    cfg.memory_budget = int64_t(24) << 20;
    EventStream trace;
    Trainer t(cfg, std::make_shared<const FashionMnist>(data), trace);
    const RunResult r = t.run();
    std::printf("  %s: %s\n", run_status_name(r.status), r.message.c_str());
    PT_VERIFY(r.status == RunStatus::Failed);
    PT_VERIFY(r.out_of_memory);
    int ooms = 0;
    for (const Event& e : trace.all())
        ooms += e.is<ev::MemOom>();
    PT_VERIFY(ooms >= 1);
    for (int64_t b : r.bytes_in_use_after)
        PT_COMPARE(b, int64_t(0));
}

// Our own pool backward kernel (cuda_avgpool2.h), alone and fused with the ReLU before the
// pool, against the CPU reference: the same bits. dx starts dirty: every cell is written.
PT_TEST(pool_backward_kernel_matches_the_reference_bit_for_bit)
{
    require_cuda();
    auto devs = cuda_devices(1);
    Device& dev = *devs.front();
    const Kernels& k = kernels_for(dev);
    const Kernels& ref = cpu_reference_kernels();
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (const auto& shape : {std::vector<int>{4, 20, 26, 26}, {3, 50, 9, 9}, {1, 2, 5, 8}, {2, 1, 1, 5}}) {
        const int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        const size_t cells = size_t(n) * c * h * w, out = size_t(n) * c * (h / 2) * (w / 2);
        std::vector<float> dy(out), y(cells);
        for (float& v : dy)
            v = u(rng);
        for (float& v : y)
            v = std::max(0.0f, u(rng));
        y[0] = std::nanf("");
        std::vector<float> dx_ref(cells), dr_ref(cells), dx(cells), dr(cells);
        ref.avgpool2_backward(n, c, h, w, dy.data(), dx_ref.data());
        ref.avgpool2_relu_backward(n, c, h, w, dy.data(), y.data(), dr_ref.data());
        auto DY = dev.allocate(int64_t(std::max<size_t>(out, 1)) * 4), Y = dev.allocate(int64_t(cells) * 4);
        auto DX = dev.allocate(int64_t(cells) * 4), DR = dev.allocate(int64_t(cells) * 4);
        dev.upload(DY->data(), dy.data(), int64_t(out) * 4);
        dev.upload(Y->data(), y.data(), int64_t(cells) * 4);
        const std::vector<float> dirty(cells, 123.5f);
        dev.upload(DX->data(), dirty.data(), int64_t(cells) * 4);
        dev.upload(DR->data(), dirty.data(), int64_t(cells) * 4);
        const auto* dyp = static_cast<const float*>(DY->data());
        k.avgpool2_backward(n, c, h, w, dyp, static_cast<float*>(DX->data()));
        k.avgpool2_relu_backward(n, c, h, w, dyp, static_cast<const float*>(Y->data()), static_cast<float*>(DR->data()));
        dev.download(dx.data(), DX->data(), int64_t(cells) * 4);
        dev.download(dr.data(), DR->data(), int64_t(cells) * 4);
        const std::string what = "(" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + ","
                                 + std::to_string(w) + ")";
        PT_VERIFY2(std::memcmp(dx.data(), dx_ref.data(), cells * 4) == 0, "avgpool2_backward " + what);
        PT_VERIFY2(std::memcmp(dr.data(), dr_ref.data(), cells * 4) == 0, "avgpool2_relu_backward " + what);
    }
}

// An algorithm's workspace is at most min(64 MiB, budget / 8), and the algorithms chosen
// repeat bit for bit (deterministic ones come first).
PT_TEST(conv_workspace_is_capped_and_results_repeat)
{
    require_cuda();
    for (const int64_t budget : {int64_t(16) << 20, int64_t(64) << 20, kDefaultMemoryBudget}) {
        auto devs = cuda_devices(1, budget);
        const Kernels& k = kernels_for(*devs.front());
        const int64_t cap = std::min<int64_t>(int64_t(64) << 20, budget / 8);
        for (const ConvShape sh : {ConvShape{1024, 1, 28, 28, 20, 3, 3}, ConvShape{1024, 20, 13, 13, 50, 5, 5}}) {
            const int64_t ws = k.conv_workspace_bytes(sh);
            std::printf("  budget %s: workspace %s for n %d c %d (cap %s)\n", format_bytes(budget).c_str(),
                        format_bytes(ws).c_str(), sh.n, sh.c, format_bytes(cap).c_str());
            PT_VERIFY(ws >= 0 && ws <= cap);
        }
    }
    auto devs = cuda_devices(1);
    Device& dev = *devs.front();
    const Kernels& k = kernels_for(dev);
    const ConvShape sh{64, 20, 13, 13, 50, 5, 5};
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    auto fill = [&](int64_t count) {
        std::vector<float> v(static_cast<size_t>(count));
        for (float& f : v)
            f = u(rng);
        auto b = dev.allocate(count * 4);
        dev.upload(b->data(), v.data(), count * 4);
        return b;
    };
    const int64_t xs = int64_t(sh.n) * sh.c * sh.h * sh.w, ys = int64_t(sh.n) * sh.k * sh.oh() * sh.ow();
    const int64_t wsz = int64_t(sh.k) * sh.c * sh.r * sh.s;
    auto X = fill(xs), DY = fill(ys), W = fill(wsz);
    auto WS = dev.allocate(std::max<int64_t>(4, k.conv_workspace_bytes(sh)));
    auto DW = dev.allocate(wsz * 4), DB = dev.allocate(sh.k * 4), DX = dev.allocate(xs * 4);
    std::vector<float> first_dw(static_cast<size_t>(wsz)), first_dx(static_cast<size_t>(xs)), dw(first_dw), dx(first_dx);
    for (int round = 0; round < 3; ++round) {
        k.conv2d_backward_weights(sh, static_cast<const float*>(X->data()), static_cast<const float*>(DY->data()),
                                  static_cast<float*>(DW->data()), static_cast<float*>(DB->data()),
                                  static_cast<float*>(WS->data()));
        k.conv2d_backward_data(sh, static_cast<const float*>(DY->data()), static_cast<const float*>(W->data()),
                               static_cast<float*>(DX->data()), static_cast<float*>(WS->data()));
        dev.download(round == 0 ? first_dw.data() : dw.data(), DW->data(), wsz * 4);
        dev.download(round == 0 ? first_dx.data() : dx.data(), DX->data(), xs * 4);
        if (round > 0) {
            PT_VERIFY2(std::memcmp(dw.data(), first_dw.data(), size_t(wsz) * 4) == 0, "backward-filter differs");
            PT_VERIFY2(std::memcmp(dx.data(), first_dx.data(), size_t(xs) * 4) == 0, "backward-data differs");
        }
    }
}

PT_MAIN()
