// CudaKernels: the Kernels table on one CudaDevice. Every call makes the device's GPU
// current, queues its work on the device's stream and returns without waiting (the
// engine's next op on this device is ordered after it by the stream).
//
// cuDNN: convolution descriptors and algorithms are chosen once per shape and cached
// (heuristics, no benchmarking: it allocates nothing behind our pool's back). Algorithms
// use plain FP32 FMA math (no TF32) and deterministic ones are tried first, so results stay
// within float rounding of the CPU reference and repeat run to run. An algorithm's
// workspace may not exceed min(64 MiB, the device's budget / 8): the model keeps one
// workspace per device (model/lenet.cpp), sized by conv_workspace_bytes.
//
// The host's cost per call. A cuDNN call costs the host far more than a kernel launch (tens
// of microseconds and more per convolution, measured on a machine with an NVIDIA GPU), and a
// LeNet minibatch is small enough for the host to set the pace. So:
// - Bias, bias + ReLU, the bias gradient, pooling forward and ReLU forward are our own
//   kernels (cuda_elementwise.cu): one launch each instead of a cuDNN call, and a
//   convolution's bias and ReLU are one pass over its output. GPULAB_CUDA_OWN_KERNELS=0
//   goes back to cuDNN for them (cudnnAddTensor, cudnnActivationForward,
//   cudnnConvolutionBackwardBias, cudnnPoolingForward).
// - Each convolution call (with its bias/ReLU epilogue, or its bias gradient) and each dense
//   layer call (cuBLAS GEMMs with their bias kernels) is captured once into a CUDA graph per
//   shape and per set of pointers, on a private stream that runs nothing, and replayed with
//   one cudaGraphLaunch on the device's stream when the same call comes again (a training
//   run's buffers come back from the caching pool at the same addresses). The graph holds
//   exactly the kernels the plain call queues, in the same order on the same stream. A call
//   whose capture fails runs plainly from then on; a shape that keeps bringing new pointers
//   stops capturing (kMaxCaptures, or when its captures stop paying for themselves). With
//   graphs on, cuBLAS works in a workspace of ours (cublasSetWorkspace), so that it never
//   allocates while a call is captured. GPULAB_CUDA_GRAPHS=0 turns the graphs off (every
//   call goes straight to cuDNN/cuBLAS); GPULAB_CUDA_GRAPH_STATS=1 prints each device's
//   counts (captured, replayed, plain, failed) to stderr when the device goes.
//
// Four switches, all off by default, for paths that are new:
// - GPULAB_CUDA_FUSED_GRAPHS=1 (with graphs on): the model pushes each layer's op together
//   with the small ops after it (pool, ReLU, the loss) as one engine op, and this table holds
//   that op's calls back (begin_fused ... end_fused) and queues them as ONE graph, captured
//   per sequence of calls, sizes and pointers, under the same rules as a single call's. No
//   plain kernel then follows a graph launch. =2: the whole forward, loss and backward of a
//   shard is one op and one graph. A unit that is not worth capturing (or whose capture
//   failed) runs call by call, each through its own graph cache, as with the switch off.
// - GPULAB_CUDA_SPLIT_SUMS=1: a convolution's bias gradient in two passes over k x slices
//   blocks (cuda::channel_sums_split) instead of one block per channel.
// - GPULAB_CUDA_GPU_TIMES=1: CUDA events around each call's (or unit's) work; each device
//   prints the GPU time per call, how busy the GPU was, and cuDNN's algorithms per shape, to
//   stderr when it goes.
// - GPULAB_CUDA_ANY_ALGO=1: cuDNN's algorithms in its heuristics' order, deterministic or not
//   (results may then differ run to run within float rounding).
#include "kernels/cuda_kernels.h"

#include "device/cuda_check.h"
#include "device/cuda_device.h"
#include "kernels/cuda_elementwise.h"
#include "kernels/kernel_checks.h"
#include "kernels/kernels.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace gpulab {
namespace {

// ---- cuDNN descriptors, owned ---------------------------------------------------------------

struct TensorDesc {
    cudnnTensorDescriptor_t d = nullptr;
    TensorDesc() { GPULAB_CUDA_CHECK(cudnnCreateTensorDescriptor(&d)); }
    TensorDesc(int n, int c, int h, int w) : TensorDesc() { set(n, c, h, w); }
    ~TensorDesc() { (void)cudnnDestroyTensorDescriptor(d); }
    TensorDesc(const TensorDesc&) = delete;
    TensorDesc& operator=(const TensorDesc&) = delete;
    void set(int n, int c, int h, int w)
    {
        GPULAB_CUDA_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
    }
};

struct FilterDesc {
    cudnnFilterDescriptor_t d = nullptr;
    FilterDesc() { GPULAB_CUDA_CHECK(cudnnCreateFilterDescriptor(&d)); }
    ~FilterDesc() { (void)cudnnDestroyFilterDescriptor(d); }
    FilterDesc(const FilterDesc&) = delete;
    FilterDesc& operator=(const FilterDesc&) = delete;
};

struct ConvDesc {
    cudnnConvolutionDescriptor_t d = nullptr;
    ConvDesc() { GPULAB_CUDA_CHECK(cudnnCreateConvolutionDescriptor(&d)); }
    ~ConvDesc() { (void)cudnnDestroyConvolutionDescriptor(d); }
    ConvDesc(const ConvDesc&) = delete;
    ConvDesc& operator=(const ConvDesc&) = delete;
};

// A switch read from the environment when a device's kernel table is made: on unless "0".
bool env_on(const char* name)
{
    const char* v = std::getenv(name);
    return !(v && std::string(v) == "0");
}

// A switch read from the environment when a device's kernel table is made: its value as a
// number; `otherwise` when unset or not a number.
int env_int(const char* name, int otherwise)
{
    const char* v = std::getenv(name);
    if (!v || !*v)
        return otherwise;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    return *end == '\0' ? int(x) : otherwise;
}

// The calls of one convolution shape that are captured into graphs.
enum GraphOp { kFwdBias, kFwdBiasRelu, kBwdData, kBwdFilter, kGraphOps };
using GraphKey = std::array<const void*, 6>; // the call's pointers (unused ones null)
// What a call's kernels are given besides pointers (sizes, flags, a scale's bits), zero-filled:
// a graph replays with the values it was captured with, so they belong in its key.
using CallSig = std::array<int64_t, 8>;

int64_t float_bits(float f)
{
    uint32_t u = 0;
    std::memcpy(&u, &f, sizeof u);
    return int64_t(u);
}

// Graphs captured for one call of one shape (Key: its pointers), or for one sequence of fused
// calls (Key: every call's pointers).
template <class Key>
struct GraphCache {
    std::map<Key, cudaGraphExec_t> execs;
    long calls = 0;    // the first runs plainly: lazy loading and first-use set-up happen there
    long replays = 0;
    int captures = 0;  // tries so far (each new set of pointers is one)
    bool off = false;  // a capture failed: the call runs plainly from now on
    GraphCache() = default;
    GraphCache(const GraphCache&) = delete;
    GraphCache& operator=(const GraphCache&) = delete;
    ~GraphCache()
    {
        // An executable graph still running is freed once it completes.
        for (auto& [key, exec] : execs)
            (void)cudaGraphExecDestroy(exec);
    }
};

// Everything one convolution shape needs: descriptors and the three chosen algorithms.
struct ConvPlan {
    TensorDesc x, y, bias; // x (n,c,h,w), y (n,k,oh,ow), bias (1,k,1,1)
    FilterDesc w;          // (k,c,r,s)
    ConvDesc conv;         // stride 1, no padding, cross-correlation (as the CPU reference)
    cudnnConvolutionFwdAlgo_t fwd{};
    cudnnConvolutionBwdDataAlgo_t bwd_data{};
    cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
    size_t fwd_bytes = 0, bwd_data_bytes = 0, bwd_filter_bytes = 0;
    size_t workspace_bytes() const { return std::max({fwd_bytes, bwd_data_bytes, bwd_filter_bytes}); }
    mutable std::array<GraphCache<GraphKey>, kGraphOps> graphs; // declared last: destroyed first
};

std::string shape_text(const ConvShape& sh)
{
    return "x(" + std::to_string(sh.n) + "," + std::to_string(sh.c) + "," + std::to_string(sh.h) + ","
           + std::to_string(sh.w) + ") w(" + std::to_string(sh.k) + "," + std::to_string(sh.c) + ","
           + std::to_string(sh.r) + "," + std::to_string(sh.s) + ")";
}


bool tensor_core_math(cudnnMathType_t m)
{
    return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

// The workspace an algorithm may use on a device with this budget: min(64 MiB, budget / 8).
size_t workspace_cap(int64_t budget)
{
    return static_cast<size_t>(std::min<int64_t>(int64_t(64) << 20, std::max<int64_t>(0, budget) / 8));
}

// The first algorithm of the heuristics' ranking that succeeds, uses no tensor-core math,
// and whose workspace query (under FMA math) succeeds with at most `cap` bytes; every
// deterministic one before any other (with any_algo, in the heuristics' order whether
// deterministic or not: GPULAB_CUDA_ANY_ALGO=1). Should the heuristics offer none, the classic
// algorithms in `fallback` are tried in order (deterministic ones first; the last needs no
// workspace at all).
template <class Perf, class Algo, class WsQuery>
Algo choose(const Perf* perf, int count, const WsQuery& ws_query, size_t cap, size_t* bytes, const char* what,
            const ConvShape& sh, std::initializer_list<Algo> fallback, bool any_algo)
{
    for (int pass = any_algo ? 1 : 0; pass < 2; ++pass)
        for (int i = 0; i < count; ++i) {
            const Perf& p = perf[i];
            if (p.status != CUDNN_STATUS_SUCCESS || tensor_core_math(p.mathType))
                continue;
            if (pass == 0 && p.determinism != CUDNN_DETERMINISTIC)
                continue;
            size_t b = 0;
            if (ws_query(p.algo, &b) != CUDNN_STATUS_SUCCESS || b > cap)
                continue;
            *bytes = b;
            return p.algo;
        }
    for (Algo a : fallback) {
        size_t b = 0;
        if (ws_query(a, &b) == CUDNN_STATUS_SUCCESS && b <= cap) {
            *bytes = b;
            return a;
        }
    }
    throw std::runtime_error(std::string("cuDNN offers no FP32 ") + what + " algorithm for " + shape_text(sh)
                             + " within a workspace of " + std::to_string(cap) + " bytes");
}

// ---- the kernel table -------------------------------------------------------------------------

// GPULAB_CUDA_FUSED_GRAPHS: 1 Layers, 2 Step, anything else None; only with graphs on.
Kernels::Fusion fusion_from_env(bool graphs)
{
    if (!graphs)
        return Kernels::Fusion::None;
    switch (env_int("GPULAB_CUDA_FUSED_GRAPHS", 0)) {
    case 1: return Kernels::Fusion::Layers;
    case 2: return Kernels::Fusion::Step;
    default: return Kernels::Fusion::None;
    }
}

class CudaKernels final : public Kernels {
public:
    explicit CudaKernels(CudaDevice& device)
        : m_dev(device), m_ws_cap(workspace_cap(device.memory_budget())), m_own(env_on("GPULAB_CUDA_OWN_KERNELS")),
          m_graphs(env_on("GPULAB_CUDA_GRAPHS")), m_fusion(fusion_from_env(m_graphs)),
          m_split_sums(env_int("GPULAB_CUDA_SPLIT_SUMS", 0) == 1), m_gpu_times(env_int("GPULAB_CUDA_GPU_TIMES", 0) == 1),
          m_any_algo(env_int("GPULAB_CUDA_ANY_ALGO", 0) == 1)
    {
        m_dev.activate();
        if (m_graphs) { // captures only: nothing ever runs on it
            GPULAB_CUDA_CHECK(cudaStreamCreateWithFlags(&m_capture, cudaStreamNonBlocking));
            {
                std::lock_guard global(cuda_global_mutex());
                const cudaError_t e = cudaMalloc(&m_cublas_ws, kCublasWorkspace);
                if (e != cudaSuccess) {
                    m_cublas_ws = nullptr;
                    (void)cudaStreamDestroy(m_capture);
                    GPULAB_CUDA_CHECK(e);
                }
            }
            GPULAB_CUDA_CHECK(cublasSetWorkspace(m_dev.cublas(), m_cublas_ws, kCublasWorkspace));
        }
        if (m_split_sums) {
            // The bias gradient's partial sums (cuda::channel_sums_split). Allocated once and
            // kept: graphs captured with it hold its address.
            std::lock_guard global(cuda_global_mutex());
            const cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&m_sum_scratch), kSumScratch * sizeof(float));
            if (e != cudaSuccess)
                m_sum_scratch = nullptr; // the one-pass kernel then (channel_sum_slices sees no room)
            (void)cudaGetLastError();
        }
        GPULAB_CUDA_CHECK(cudnnCreatePoolingDescriptor(&m_pool));
        GPULAB_CUDA_CHECK(cudnnSetPooling2dDescriptor(m_pool, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING,
                                                      CUDNN_NOT_PROPAGATE_NAN, 2, 2, 0, 0, 2, 2));
        GPULAB_CUDA_CHECK(cudnnCreateActivationDescriptor(&m_relu));
        GPULAB_CUDA_CHECK(cudnnSetActivationDescriptor(m_relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    }
    ~CudaKernels() override
    {
        (void)cudaSetDevice(m_dev.gpu());
        (void)cudaStreamSynchronize(m_dev.stream()); // nothing of ours runs past here
        const char* say = std::getenv("GPULAB_CUDA_GRAPH_STATS");
        if (m_graphs && say && std::string(say) == "1") {
            std::fprintf(stderr, "%s: CUDA graphs: %ld captured, %ld replayed, %ld plain calls, %ld failed captures\n",
                         m_dev.name().c_str(), m_stats.captured, m_stats.replayed, m_stats.plain, m_stats.failed);
            if (m_fusion != Fusion::None)
                std::fprintf(stderr,
                             "%s: fused calls (GPULAB_CUDA_FUSED_GRAPHS=%d): %ld units captured, %ld replayed, %ld run "
                             "call by call, %ld failed captures\n",
                             m_dev.name().c_str(), m_fusion == Fusion::Layers ? 1 : 2, m_stats.fused_captured,
                             m_stats.fused_replayed, m_stats.fused_plain, m_stats.fused_failed);
        }
        if (m_gpu_times) {
            try {
                report_gpu_times();
            } catch (...) {
                std::fprintf(stderr, "%s: GPU times: could not be read back\n", m_dev.name().c_str());
            }
        }
        for (auto& p : m_time_pending) {
            (void)cudaEventDestroy(p.start);
            (void)cudaEventDestroy(p.end);
        }
        for (cudaEvent_t e : m_time_free)
            (void)cudaEventDestroy(e);
        if (m_time_origin)
            (void)cudaEventDestroy(m_time_origin);
        m_plans.clear(); // their graphs, before the stream they were captured on
        m_dense_graphs.clear();
        m_unit_graphs.clear();
        if (m_capture)
            (void)cudaStreamDestroy(m_capture);
        if (m_cublas_ws) {
            // The handle keeps pointing at it: back to cuBLAS's own workspace first (the
            // stream is done with every GEMM that used it: synchronised above).
            (void)cublasSetWorkspace(m_dev.cublas(), nullptr, 0);
            (void)cublasSetStream(m_dev.cublas(), m_dev.stream());
            std::lock_guard global(cuda_global_mutex());
            (void)cudaFree(m_cublas_ws);
        }
        if (m_sum_scratch) {
            std::lock_guard global(cuda_global_mutex());
            (void)cudaFree(m_sum_scratch);
        }
        (void)cudnnDestroyActivationDescriptor(m_relu);
        (void)cudnnDestroyPoolingDescriptor(m_pool);
        (void)cudaGetLastError();
    }

    CudaGraphStats graph_stats() const
    {
        std::lock_guard lock(m_cudnn_mutex);
        return m_stats;
    }

    const char* name() const override { return "cuda (cuDNN, cuBLAS)"; }

    // ---- calls queued as one unit ----

    Fusion fusion() const override { return m_fusion; }

    bool begin_fused() const override
    {
        if (m_fusion == Fusion::None)
            return false;
        std::lock_guard lock(m_cudnn_mutex);
        if (m_unit_depth > 0 && m_unit_owner != std::this_thread::get_id())
            return false; // another thread's unit is open: this thread's calls queue at once
        m_unit_owner = std::this_thread::get_id();
        ++m_unit_depth;
        return true;
    }

    void abandon_fused() const override
    {
        std::lock_guard lock(m_cudnn_mutex);
        if (!in_unit())
            return;
        if (--m_unit_depth == 0) {
            m_units.clear();
            m_unit_owner = {};
        }
    }

    // The held calls in order: replayed as one graph when this sequence (the same calls,
    // sizes and pointers) was captured before; captured when it is new; call by call (each
    // through its own graph cache, as without fusing) the first time a sequence of calls is
    // seen, when a capture failed, or when its pointer sets are too many (kMaxCaptures).
    void end_fused() const override
    {
        std::lock_guard lock(m_cudnn_mutex);
        if (!in_unit() || --m_unit_depth > 0)
            return;
        std::vector<Unit> units = std::move(m_units);
        m_units.clear();
        m_unit_owner = {};
        if (units.empty())
            return;
        m_dev.activate();
        std::vector<int64_t> shape, ptrs;
        shape.reserve(units.size() * 10);
        ptrs.reserve(units.size() * 6);
        for (const Unit& u : units) {
            shape.push_back(reinterpret_cast<intptr_t>(u.op));
            shape.push_back(reinterpret_cast<intptr_t>(u.cache));
            shape.insert(shape.end(), u.sig.begin(), u.sig.end());
            for (const void* q : u.key)
                ptrs.push_back(reinterpret_cast<intptr_t>(q));
        }
        auto& slot = m_unit_graphs[shape];
        if (!slot) {
            slot = std::make_unique<UnitGraphs>();
            for (const Unit& u : units) {
                if (!slot->name.empty())
                    slot->name += '+';
                slot->name += u.op;
            }
        }
        cudaStream_t s = m_dev.stream();
        const int timed = m_gpu_times ? time_index(slot->name) : -1;
        cudaEvent_t t0 = timed >= 0 ? time_start() : nullptr;
        run(
            slot->graphs, ptrs,
            [&](cudaStream_t cs) {
                for (const Unit& u : units)
                    u.work(cs);
            },
            [&] {
                for (const Unit& u : units) {
                    if (u.cache && m_graphs)
                        run(*u.cache, u.key, u.work, [&] { u.work(s); }, CallCounts());
                    else
                        u.work(s);
                }
            },
            UnitCounts());
        if (t0)
            time_stop(timed, t0);
    }

    // ---- convolution ----

    int64_t conv_workspace_bytes(const ConvShape& sh) const override
    {
        check_conv_shape("conv_workspace_bytes", sh);
        if (sh.n == 0)
            return 0;
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        return static_cast<int64_t>(plan(sh).workspace_bytes());
    }

    void conv2d_forward(const ConvShape& sh, const float* x, const float* w, const float* b, float* y,
                        float* ws) const override
    {
        forward(sh, x, w, b, y, ws, false);
    }

    void conv2d_relu_forward(const ConvShape& sh, const float* x, const float* w, const float* b, float* y,
                             float* ws) const override
    {
        forward(sh, x, w, b, y, ws, true);
    }

    void conv2d_backward_data(const ConvShape& sh, const float* dy, const float* w, float* dx,
                              float* ws) const override
    {
        check_conv_shape("conv2d_backward_data", sh);
        if (sh.n == 0)
            return;
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        const ConvPlan* p = &plan(sh);
        check_workspace("conv2d_backward_data", p->bwd_data_bytes, ws);
        queue(&p->graphs[kBwdData], {dy, w, dx, ws, nullptr, nullptr}, "conv2d_backward_data", conv_sig(sh, 0),
              [this, p, dy, w, dx, ws](cudaStream_t) {
                  const float one = 1.0f, zero = 0.0f;
                  GPULAB_CUDA_CHECK(cudnnConvolutionBackwardData(m_dev.cudnn(), &one, p->w.d, w, p->y.d, dy,
                                                                 p->conv.d, p->bwd_data, ws, p->bwd_data_bytes, &zero,
                                                                 p->x.d, dx));
              });
    }

    void conv2d_backward_weights(const ConvShape& sh, const float* x, const float* dy, float* dw, float* db,
                                 float* ws) const override
    {
        check_conv_shape("conv2d_backward_weights", sh);
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        if (sh.n == 0) { // nothing to sum: the gradients are zero
            const size_t wbytes = size_t(sh.k) * sh.c * sh.r * sh.s * sizeof(float);
            const size_t bbytes = size_t(sh.k) * sizeof(float);
            queue(nullptr, {dw, db, nullptr, nullptr, nullptr, nullptr}, "conv2d_backward_weights (empty)",
                  conv_sig(sh, 0), [dw, db, wbytes, bbytes](cudaStream_t s) {
                      GPULAB_CUDA_CHECK(cudaMemsetAsync(dw, 0, wbytes, s));
                      GPULAB_CUDA_CHECK(cudaMemsetAsync(db, 0, bbytes, s));
                  });
            return;
        }
        const ConvPlan* p = &plan(sh);
        check_workspace("conv2d_backward_weights", p->bwd_filter_bytes, ws);
        const int64_t plane = int64_t(sh.oh()) * sh.ow();
        const int slices = m_split_sums && m_sum_scratch ? cuda::channel_sum_slices(sh.n, sh.k, plane, kSumScratch) : 0;
        queue(&p->graphs[kBwdFilter], {x, dy, dw, db, ws, nullptr}, "conv2d_backward_weights", conv_sig(sh, 0),
              [this, p, sh, plane, slices, x, dy, dw, db, ws](cudaStream_t s) {
                  const float one = 1.0f, zero = 0.0f;
                  GPULAB_CUDA_CHECK(cudnnConvolutionBackwardFilter(m_dev.cudnn(), &one, p->x.d, x, p->y.d, dy,
                                                                   p->conv.d, p->bwd_filter, ws, p->bwd_filter_bytes,
                                                                   &zero, p->w.d, dw));
                  if (m_own && slices > 0)
                      cuda::channel_sums_split(s, sh.n, sh.k, plane, dy, db, m_sum_scratch, slices);
                  else if (m_own)
                      cuda::channel_sums(s, sh.n, sh.k, plane, dy, db);
                  else
                      GPULAB_CUDA_CHECK(
                          cudnnConvolutionBackwardBias(m_dev.cudnn(), &one, p->y.d, dy, &zero, p->bias.d, db));
              });
    }

    // ---- 2x2 average pooling, stride 2 (an odd last row/column is dropped) ----

    void avgpool2_forward(int n, int c, int h, int w, const float* x, float* y) const override
    {
        if (int64_t(n) * c == 0 || h < 2 || w < 2)
            return; // no output cells
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        const CallSig sig{n, c, h, w};
        if (m_own) {
            queue(nullptr, {x, y, nullptr, nullptr, nullptr, nullptr}, "avgpool2_forward", sig,
                  [n, c, h, w, x, y](cudaStream_t s) { cuda::avgpool2_forward(s, n, c, h, w, x, y); });
            return;
        }
        auto xd = std::make_shared<TensorDesc>(n, c, h, w), yd = std::make_shared<TensorDesc>(n, c, h / 2, w / 2);
        queue(nullptr, {x, y, nullptr, nullptr, nullptr, nullptr}, "avgpool2_forward (cuDNN)", sig,
              [this, xd, yd, x, y](cudaStream_t) {
                  const float one = 1.0f, zero = 0.0f;
                  GPULAB_CUDA_CHECK(cudnnPoolingForward(m_dev.cudnn(), m_pool, &one, xd->d, x, &zero, yd->d, y));
              });
    }

    // Our own kernel (cuda_avgpool2.h): average pooling's gradient needs neither x nor y,
    // and cuDNN documents no way to leave them out.
    void avgpool2_backward(int n, int c, int h, int w, const float* dy, float* dx) const override
    {
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        queue(nullptr, {dy, dx, nullptr, nullptr, nullptr, nullptr}, "avgpool2_backward", CallSig{n, c, h, w},
              [n, c, h, w, dy, dx](cudaStream_t s) { cuda::avgpool2_backward(s, n, c, h, w, dy, nullptr, dx); });
    }

    // The same kernel, zeroing where the ReLU's output y <= 0: one pass over dx.
    void avgpool2_relu_backward(int n, int c, int h, int w, const float* dy, const float* y,
                                float* dx) const override
    {
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        queue(nullptr, {dy, y, dx, nullptr, nullptr, nullptr}, "avgpool2_relu_backward", CallSig{n, c, h, w},
              [n, c, h, w, dy, y, dx](cudaStream_t s) { cuda::avgpool2_backward(s, n, c, h, w, dy, y, dx); });
    }

    // ---- ReLU (in place allowed: y == x, dx == dy) ----

    void relu_forward(int64_t count, const float* x, float* y) const override
    {
        if (count <= 0)
            return;
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        if (m_own) {
            queue(nullptr, {x, y, nullptr, nullptr, nullptr, nullptr}, "relu_forward", CallSig{count},
                  [count, x, y](cudaStream_t s) { cuda::relu_forward(s, count, x, y); });
            return;
        }
        queue(nullptr, {x, y, nullptr, nullptr, nullptr, nullptr}, "relu_forward (cuDNN)", CallSig{count},
              [this, count, x, y](cudaStream_t) {
                  const float one = 1.0f, zero = 0.0f;
                  for (int64_t off = 0; off < count; off += kMaxPart) {
                      TensorDesc d(1, 1, 1, int(std::min(kMaxPart, count - off)));
                      GPULAB_CUDA_CHECK(
                          cudnnActivationForward(m_dev.cudnn(), m_relu, &one, d.d, x + off, &zero, d.d, y + off));
                  }
              });
    }

    // A kernel of ours, as the CPU reference writes it (dx = y > 0 ? dy : 0): cuDNN's
    // activation backward asks for x as well, and documents no stand-in for it.
    void relu_backward(int64_t count, const float* y, const float* dy, float* dx) const override
    {
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        queue(nullptr, {y, dy, dx, nullptr, nullptr, nullptr}, "relu_backward", CallSig{count},
              [count, y, dy, dx](cudaStream_t s) { cuda::relu_backward(s, count, y, dy, dx); });
    }

    // ---- dense (row-major, so cuBLAS sees every matrix transposed) ----

    void dense_forward(int n, int in, int out, const float* x, const float* w, const float* b,
                       float* y) const override
    {
        if (n <= 0 || out <= 0)
            return;
        std::lock_guard lock(m_cudnn_mutex); // the graph caches
        m_dev.activate();
        queue(&dense_graphs(0, n, in, out), {x, w, b, y, nullptr, nullptr}, "dense_forward", CallSig{n, in, out},
              [this, n, in, out, x, w, b, y](cudaStream_t s) {
                  cuda::broadcast_rows(s, n, out, b, y);
                  if (in <= 0)
                      return;
                  // column-major: y^T (out,n) += w^T (out,in) . x^T (in,n)
                  const float one = 1.0f;
                  GPULAB_CUDA_CHECK(cublasSgemm(m_dev.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, out, n, in, &one, w, out, x,
                                                in, &one, y, out));
              });
    }

    void dense_backward(int n, int in, int out, const float* x, const float* w, const float* dy, float* dx,
                        float* dw, float* db) const override
    {
        std::lock_guard lock(m_cudnn_mutex); // the graph caches
        m_dev.activate();
        if (n <= 0 || in <= 0 || out <= 0) { // empty sums: zero gradients
            const size_t wbytes = size_t(std::max(in, 0)) * std::max(out, 0) * sizeof(float);
            const size_t bbytes = size_t(std::max(out, 0)) * sizeof(float);
            const size_t xbytes = size_t(std::max(n, 0)) * std::max(in, 0) * sizeof(float);
            queue(nullptr, {dw, db, dx, nullptr, nullptr, nullptr}, "dense_backward (empty)", CallSig{n, in, out},
                  [dw, db, dx, wbytes, bbytes, xbytes](cudaStream_t s) {
                      GPULAB_CUDA_CHECK(cudaMemsetAsync(dw, 0, wbytes, s));
                      GPULAB_CUDA_CHECK(cudaMemsetAsync(db, 0, bbytes, s));
                      if (dx)
                          GPULAB_CUDA_CHECK(cudaMemsetAsync(dx, 0, xbytes, s));
                  });
            return;
        }
        queue(&dense_graphs(dx ? 1 : 2, n, in, out), {x, w, dy, dx, dw, db}, "dense_backward",
              CallSig{n, in, out, dx ? 1 : 0}, [this, n, in, out, x, w, dy, dx, dw, db](cudaStream_t cs) {
                  const float one = 1.0f, zero = 0.0f;
                  // dx (n,in) = dy (n,out) . w^T    column-major: dx^T (in,n) = w (in,out) . dy^T (out,n)
                  if (dx)
                      GPULAB_CUDA_CHECK(cublasSgemm(m_dev.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, in, n, out, &one, w, out,
                                                    dy, out, &zero, dx, in));
                  // dw (in,out) = x^T . dy          column-major: dw^T (out,in) = dy^T (out,n) . x (n,in)
                  GPULAB_CUDA_CHECK(cublasSgemm(m_dev.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, out, in, n, &one, dy, out, x,
                                                in, &zero, dw, out));
                  cuda::column_sums(cs, n, out, dy, db);
              });
    }

    // ---- loss ----
    // A label out of range cannot throw here (the labels are on the GPU and we do not wait
    // for it): the kernel records the first one, and the device throws std::out_of_range
    // at its next synchronisation point (download or synchronize), as CUDA reports its own
    // asynchronous errors. The trainer reads every loss back, so a run stops there.

    void softmax_xent(int n, int classes, const float* logits, const int32_t* labels, float* loss_sum,
                      float* dlogits) const override
    {
        check_sizes("softmax_xent", n, classes);
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        CudaAsyncError* err = m_dev.async_error_slot(); // marks a check as due, at every call
        queue(nullptr, {logits, labels, loss_sum, dlogits, err, nullptr}, "softmax_xent", CallSig{n, classes},
              [n, classes, logits, labels, loss_sum, dlogits, err](cudaStream_t s) {
                  cuda::softmax_xent(s, n, classes, logits, labels, loss_sum, dlogits, err);
              });
    }

    void count_correct(int n, int classes, const float* logits, const int32_t* labels,
                       float* correct) const override
    {
        check_sizes("count_correct", n, std::max(classes, 1));
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        queue(nullptr, {logits, labels, correct, nullptr, nullptr, nullptr}, "count_correct", CallSig{n, classes},
              [n, classes, logits, labels, correct](cudaStream_t s) {
                  cuda::count_correct(s, n, classes, logits, labels, correct);
              });
    }

    // ---- elementwise ----

    void sgd_update(int64_t count, float scale, const float* grad, float* w) const override
    {
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        queue(nullptr, {grad, w, nullptr, nullptr, nullptr, nullptr}, "sgd_update", CallSig{count, float_bits(scale)},
              [count, scale, grad, w](cudaStream_t s) { cuda::sgd(s, count, scale, grad, w); });
    }

    void add(int64_t count, const float* a, float* y) const override
    {
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        queue(nullptr, {a, y, nullptr, nullptr, nullptr, nullptr}, "add", CallSig{count},
              [count, a, y](cudaStream_t s) { cuda::add(s, count, a, y); });
    }

    // src and dst may be equal, not partly overlapping.
    void copy(int64_t count, const float* src, float* dst) const override
    {
        if (count <= 0 || src == dst)
            return;
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        const size_t bytes = size_t(count) * sizeof(float);
        queue(nullptr, {src, dst, nullptr, nullptr, nullptr, nullptr}, "copy", CallSig{count},
              [src, dst, bytes](cudaStream_t s) {
                  GPULAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s));
              });
    }

    void fill(int64_t count, float value, float* y) const override
    {
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        queue(nullptr, {y, nullptr, nullptr, nullptr, nullptr, nullptr}, "fill", CallSig{count, float_bits(value)},
              [count, value, y](cudaStream_t s) { cuda::fill(s, count, value, y); });
    }

    void gather_rows(int n, int64_t row_bytes, const int32_t* index, int64_t src_rows, const void* src,
                     void* dst) const override
    {
        if (n < 0 || row_bytes < 0 || row_bytes % 4 != 0)
            throw std::invalid_argument("gather_rows: bad shape (n " + std::to_string(n) + ", row of "
                                        + std::to_string(row_bytes) + " bytes)");
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        queue(nullptr, {index, src, dst, nullptr, nullptr, nullptr}, "gather_rows", CallSig{n, row_bytes, src_rows},
              [n, row_bytes, index, src_rows, src, dst](cudaStream_t s) {
                  cuda::gather_rows(s, n, row_bytes / 4, index, src_rows, static_cast<const uint32_t*>(src),
                                    static_cast<uint32_t*>(dst));
              });
    }

private:
    static constexpr int64_t kMaxPart = int64_t(1) << 30; // elements per cuDNN call (int dims)
    // New pointer sets a call may bring before it stops capturing (and runs plainly for
    // any further new set; the sets captured so far keep replaying). Past kFreeCaptures,
    // it captures only while its graphs have replayed at least as often as it captured.
    static constexpr int kMaxCaptures = 256;
    static constexpr int kFreeCaptures = 32;
    // The bias gradient's scratch with GPULAB_CUDA_SPLIT_SUMS=1: channels x slices floats.
    static constexpr int64_t kSumScratch = 64 * 1024;

    using Work = std::function<void(cudaStream_t)>;
    // One call held inside a unit (begin_fused ... end_fused), with what identifies it.
    struct Unit {
        GraphCache<GraphKey>* cache = nullptr; // its own graphs (convolution and dense calls), or none
        GraphKey key{};                        // its pointers
        const char* op = nullptr;              // its name (a literal: its address identifies it)
        CallSig sig{};                         // its sizes and values
        Work work;                             // queues its kernels on the stream given
    };
    struct UnitGraphs {
        GraphCache<std::vector<int64_t>> graphs; // by every call's pointers
        std::string name;                        // "op+op+...", for the GPU times
    };
    // Which counters of CudaGraphStats a run() adds to.
    struct Counts {
        long* captured;
        long* replayed;
        long* plain;
        long* failed;
    };
    Counts CallCounts() const { return {&m_stats.captured, &m_stats.replayed, &m_stats.plain, &m_stats.failed}; }
    Counts UnitCounts() const
    {
        return {&m_stats.fused_captured, &m_stats.fused_replayed, &m_stats.fused_plain, &m_stats.fused_failed};
    }

    static CallSig conv_sig(const ConvShape& sh, int64_t flag)
    {
        return CallSig{sh.n, sh.c, sh.h, sh.w, sh.k, sh.r, sh.s, flag};
    }

    bool in_unit() const { return m_unit_depth > 0 && m_unit_owner == std::this_thread::get_id(); }

    // Queues one call's work (m_cudnn_mutex held, GPU current). Inside a unit of this thread,
    // it is held for end_fused. Otherwise: through the call's graph cache where it has one and
    // graphs are on, else plainly on the device's stream; timed with GPULAB_CUDA_GPU_TIMES=1.
    // `work` copies what it uses: a held call runs after its caller has returned.
    void queue(GraphCache<GraphKey>* cache, const GraphKey& key, const char* op, const CallSig& sig, Work work) const
    {
        if (in_unit()) {
            m_units.push_back(Unit{cache, key, op, sig, std::move(work)});
            return;
        }
        cudaStream_t s = m_dev.stream();
        const int timed = m_gpu_times ? time_index(op, sig) : -1;
        cudaEvent_t t0 = timed >= 0 ? time_start() : nullptr;
        if (cache && m_graphs)
            run(*cache, key, work, [&] { work(s); }, CallCounts());
        else
            work(s);
        if (t0)
            time_stop(timed, t0);
    }

    // y = conv(x, w) + b, then ReLU with relu: one graph (or one plain pass) per call.
    void forward(const ConvShape& sh, const float* x, const float* w, const float* b, float* y, float* ws,
                 bool relu) const
    {
        const char* op = relu ? "conv2d_relu_forward" : "conv2d_forward";
        check_conv_shape(op, sh);
        if (sh.n == 0)
            return;
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        const ConvPlan* p = &plan(sh);
        check_workspace(op, p->fwd_bytes, ws);
        queue(&p->graphs[relu ? kFwdBiasRelu : kFwdBias], {x, w, b, y, ws, nullptr}, op, conv_sig(sh, relu ? 1 : 0),
              [this, p, sh, relu, x, w, b, y, ws](cudaStream_t s) {
                  const float one = 1.0f, zero = 0.0f;
                  GPULAB_CUDA_CHECK(cudnnConvolutionForward(m_dev.cudnn(), &one, p->x.d, x, p->w.d, w, p->conv.d,
                                                            p->fwd, ws, p->fwd_bytes, &zero, p->y.d, y));
                  if (m_own) {
                      cuda::bias_act(s, sh.n, sh.k, int64_t(sh.oh()) * sh.ow(), b, y, relu);
                      return;
                  }
                  GPULAB_CUDA_CHECK(cudnnAddTensor(m_dev.cudnn(), &one, p->bias.d, b, &one, p->y.d, y));
                  if (relu)
                      GPULAB_CUDA_CHECK(
                          cudnnActivationForward(m_dev.cudnn(), m_relu, &one, p->y.d, y, &zero, p->y.d, y));
              });
    }

    // Queues the work behind a graph cache: replayed from a graph when these pointers were
    // captured before, captured first when they are new, plain() when the cache is past
    // capturing (its first call, a failed capture, too many pointer sets). call(stream) queues
    // the work on the stream given, through the device's cuDNN and cuBLAS handles (whose
    // stream is that stream while it runs). m_cudnn_mutex held, GPU current, graphs on.
    template <class Key, class Call, class Plain>
    void run(GraphCache<Key>& g, const Key& key, const Call& call, const Plain& plain, const Counts& counts) const
    {
        cudaStream_t s = m_dev.stream();
        if (auto it = g.execs.find(key); it != g.execs.end()) {
            GPULAB_CUDA_CHECK(cudaGraphLaunch(it->second, s));
            ++*counts.replayed;
            ++g.replays;
            return;
        }
        const bool worth = g.captures < kFreeCaptures || (g.captures < kMaxCaptures && g.replays >= g.captures);
        if (g.calls++ == 0 || g.off || !worth) {
            plain();
            ++*counts.plain;
            return;
        }
        ++g.captures;
        cudaGraphExec_t exec = capture(call);
        if (!exec) {
            g.off = true;
            ++*counts.failed;
            plain(); // as if graphs were off: a real error throws here
            return;
        }
        g.execs.emplace(key, exec);
        ++*counts.captured;
        GPULAB_CUDA_CHECK(cudaGraphLaunch(exec, s));
    }

    // Captures call's work on m_capture (nothing runs) and instantiates it; nullptr when
    // any step fails (the handle's stream is the device's again either way).
    template <class Call>
    cudaGraphExec_t capture(const Call& call) const
    {
        cudnnHandle_t h = m_dev.cudnn();
        GPULAB_CUDA_CHECK(cudnnSetStream(h, m_capture));
        bool ok = set_cublas_stream(m_capture) == CUBLAS_STATUS_SUCCESS;
        cudaGraph_t graph = nullptr;
        // Thread-local mode: another device's worker may cudaMalloc meanwhile; only a call on
        // this thread that cannot be captured makes the capture fail.
        ok = ok && cudaStreamBeginCapture(m_capture, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
        if (ok) {
            try {
                call(m_capture);
            } catch (...) {
                ok = false;
            }
            const cudaError_t end = cudaStreamEndCapture(m_capture, &graph); // always ends it
            ok = ok && end == cudaSuccess && graph != nullptr;
        }
        (void)cudaGetLastError();
        const cudnnStatus_t back = cudnnSetStream(h, m_dev.stream());
        const cublasStatus_t back_blas = set_cublas_stream(m_dev.stream());
        cudaGraphExec_t exec = nullptr;
        if (ok) {
            // It may allocate on the GPU: under the lock that keeps such calls out of an NCCL
            // group (cuda_global_mutex says why).
            std::lock_guard global(cuda_global_mutex());
            if (cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess)
                exec = nullptr;
        }
        (void)cudaGetLastError();
        if (graph)
            (void)cudaGraphDestroy(graph);
        if (back != CUDNN_STATUS_SUCCESS || back_blas != CUBLAS_STATUS_SUCCESS) {
            if (exec)
                (void)cudaGraphExecDestroy(exec);
            GPULAB_CUDA_CHECK(back);
            GPULAB_CUDA_CHECK(back_blas);
        }
        return exec;
    }

    // cublasSetStream resets the handle's workspace to cuBLAS's own: ours goes back on.
    cublasStatus_t set_cublas_stream(cudaStream_t s) const
    {
        cublasStatus_t st = cublasSetStream(m_dev.cublas(), s);
        if (st == CUBLAS_STATUS_SUCCESS && m_cublas_ws)
            st = cublasSetWorkspace(m_dev.cublas(), m_cublas_ws, kCublasWorkspace);
        return st;
    }

    // The graph cache of one dense call and shape. m_cudnn_mutex held.
    GraphCache<GraphKey>& dense_graphs(int op, int n, int in, int out) const
    {
        auto& slot = m_dense_graphs[std::array<int, 4>{op, n, in, out}];
        if (!slot)
            slot = std::make_unique<GraphCache<GraphKey>>();
        return *slot;
    }

    // ---- GPU time per call (GPULAB_CUDA_GPU_TIMES=1) ----
    // A timing event before and after each call's work (or a unit's) on the stream; the pairs
    // are read as they complete, without waiting, and the rest when the table goes. A pair
    // measures the GPU's time from reaching the first event to reaching the second: the
    // call's kernels, plus any wait for the host between them (none when the GPU has work
    // queued ahead, as in bounded mode). m_cudnn_mutex held throughout.

    int time_index(const char* op, const CallSig& sig) const
    {
        auto [it, fresh] = m_time_calls.try_emplace(std::make_pair(op, sig), int(m_times.size()));
        if (fresh) {
            std::string name = std::string(op) + " (";
            int last = int(sig.size()) - 1;
            while (last > 0 && sig[size_t(last)] == 0)
                --last;
            for (int i = 0; i <= last; ++i) {
                if (i > 0)
                    name += ',';
                name += std::to_string(sig[size_t(i)]);
            }
            m_times.push_back(TimeTotal{name + ")"});
        }
        return it->second;
    }

    int time_index(const std::string& unit_name) const
    {
        auto [it, fresh] = m_time_units.try_emplace(unit_name, int(m_times.size()));
        if (fresh)
            m_times.push_back(TimeTotal{"[fused] " + unit_name});
        return it->second;
    }

    cudaEvent_t time_event() const
    {
        if (!m_time_free.empty()) {
            cudaEvent_t e = m_time_free.back();
            m_time_free.pop_back();
            return e;
        }
        cudaEvent_t e = nullptr;
        GPULAB_CUDA_CHECK(cudaEventCreate(&e));
        return e;
    }

    cudaEvent_t time_start() const
    {
        if (!m_time_origin) {
            GPULAB_CUDA_CHECK(cudaEventCreate(&m_time_origin));
            GPULAB_CUDA_CHECK(cudaEventRecord(m_time_origin, m_dev.stream()));
        }
        cudaEvent_t e = time_event();
        GPULAB_CUDA_CHECK(cudaEventRecord(e, m_dev.stream()));
        return e;
    }

    void time_stop(int index, cudaEvent_t start) const
    {
        cudaEvent_t end = time_event();
        GPULAB_CUDA_CHECK(cudaEventRecord(end, m_dev.stream()));
        m_time_pending.push_back(TimePending{index, start, end});
        collect_times(m_time_pending.size() > 4096); // wait only if the GPU is very far behind
    }

    // Adds every completed pair's time; with wait, waits for each.
    void collect_times(bool wait) const
    {
        while (!m_time_pending.empty()) {
            const TimePending p = m_time_pending.front();
            const cudaError_t q = wait ? cudaEventSynchronize(p.end) : cudaEventQuery(p.end);
            if (q == cudaErrorNotReady)
                return;
            GPULAB_CUDA_CHECK(q);
            float ms = 0, at = 0;
            GPULAB_CUDA_CHECK(cudaEventElapsedTime(&ms, p.start, p.end));
            GPULAB_CUDA_CHECK(cudaEventElapsedTime(&at, m_time_origin, p.end));
            TimeTotal& t = m_times[size_t(p.index)];
            ++t.count;
            t.ms += ms;
            t.max_ms = std::max(t.max_ms, double(ms));
            m_time_span_ms = std::max(m_time_span_ms, double(at));
            m_time_free.push_back(p.start);
            m_time_free.push_back(p.end);
            m_time_pending.pop_front();
        }
    }

    void report_gpu_times() const
    {
        std::lock_guard lock(m_cudnn_mutex);
        collect_times(true);
        double busy = 0;
        for (const TimeTotal& t : m_times)
            busy += t.ms;
        std::fprintf(stderr,
                     "%s: GPU time per call (CUDA events around each call's work; a unit of fused calls is one "
                     "entry): %.1f ms busy of the %.1f ms from the first call's start to the last call's end (%.0f%%)\n",
                     m_dev.name().c_str(), busy, m_time_span_ms, m_time_span_ms > 0 ? 100.0 * busy / m_time_span_ms : 0.0);
        std::vector<const TimeTotal*> order;
        for (const TimeTotal& t : m_times)
            if (t.count > 0)
                order.push_back(&t);
        std::sort(order.begin(), order.end(), [](const TimeTotal* a, const TimeTotal* b) { return a->ms > b->ms; });
        std::fprintf(stderr, "  %-64s %7s %10s %9s %9s %6s\n", "call (sizes)", "count", "total ms", "mean us",
                     "max us", "share");
        for (const TimeTotal* t : order)
            std::fprintf(stderr, "  %-64s %7ld %10.2f %9.1f %9.1f %5.1f%%\n", t->name.c_str(), t->count, t->ms,
                         1000.0 * t->ms / double(t->count), 1000.0 * t->max_ms, busy > 0 ? 100.0 * t->ms / busy : 0.0);
        // cuDNN's algorithms behind the convolution calls (the enums' values: cudnn_cnn.h)
        for (const auto& [key, plan] : m_plans)
            std::fprintf(stderr,
                         "  cuDNN algorithms for x(%d,%d,%d,%d) w(%d,%d,%d,%d): forward %d (workspace %zu B), backward "
                         "data %d (%zu B), backward filter %d (%zu B)%s\n",
                         key[0], key[1], key[2], key[3], key[4], key[1], key[5], key[6], int(plan->fwd),
                         plan->fwd_bytes, int(plan->bwd_data), plan->bwd_data_bytes, int(plan->bwd_filter),
                         plan->bwd_filter_bytes, m_any_algo ? " (GPULAB_CUDA_ANY_ALGO=1)" : "");
    }

    static void check_sizes(const char* op, int n, int classes)
    {
        if (n < 0 || classes <= 0)
            throw std::invalid_argument(std::string(op) + ": need n >= 0 and classes > 0 (got n " + std::to_string(n)
                                        + ", classes " + std::to_string(classes) + ")");
    }

    static void check_workspace(const char* op, size_t needed, const float* ws)
    {
        if (needed > 0 && ws == nullptr)
            throw std::invalid_argument(std::string(op)
                                        + ": needs a workspace of conv_workspace_bytes(shape) bytes, got nullptr");
    }

    // The cached plan for a shape; built on first use. m_cudnn_mutex held, GPU current.
    const ConvPlan& plan(const ConvShape& sh) const
    {
        const std::array<int, 7> key{sh.n, sh.c, sh.h, sh.w, sh.k, sh.r, sh.s};
        if (auto it = m_plans.find(key); it != m_plans.end())
            return *it->second;
        auto p = std::make_unique<ConvPlan>();
        cudnnHandle_t h = m_dev.cudnn();
        p->x.set(sh.n, sh.c, sh.h, sh.w);
        p->y.set(sh.n, sh.k, sh.oh(), sh.ow());
        p->bias.set(1, sh.k, 1, 1);
        GPULAB_CUDA_CHECK(cudnnSetFilter4dDescriptor(p->w.d, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, sh.k, sh.c, sh.r, sh.s));
        GPULAB_CUDA_CHECK(cudnnSetConvolution2dDescriptor(p->conv.d, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                                          CUDNN_DATA_FLOAT));
        GPULAB_CUDA_CHECK(cudnnSetConvolutionMathType(p->conv.d, CUDNN_FMA_MATH));
        int on = 0, oc = 0, ohh = 0, oww = 0;
        GPULAB_CUDA_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv.d, p->x.d, p->w.d, &on, &oc, &ohh, &oww));
        if (on != sh.n || oc != sh.k || ohh != sh.oh() || oww != sh.ow())
            throw std::logic_error("cuDNN's output shape for " + shape_text(sh) + " differs from gpulab's");

        {
            cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
            int got = 0;
            GPULAB_CUDA_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p->x.d, p->w.d, p->conv.d, p->y.d,
                                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
            p->fwd = choose<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(
                perf, got,
                [&](cudnnConvolutionFwdAlgo_t a, size_t* b) {
                    return cudnnGetConvolutionForwardWorkspaceSize(h, p->x.d, p->w.d, p->conv.d, p->y.d, a, b);
                },
                m_ws_cap, &p->fwd_bytes, "forward convolution", sh,
                {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
                 CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM}, m_any_algo);
        }
        {
            cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
            int got = 0;
            GPULAB_CUDA_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
                h, p->w.d, p->y.d, p->conv.d, p->x.d, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
            p->bwd_data = choose<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(
                perf, got,
                [&](cudnnConvolutionBwdDataAlgo_t a, size_t* b) {
                    return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w.d, p->y.d, p->conv.d, p->x.d, a, b);
                },
                m_ws_cap, &p->bwd_data_bytes, "backward-data convolution", sh,
                {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0}, m_any_algo);
        }
        {
            cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
            int got = 0;
            GPULAB_CUDA_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                h, p->x.d, p->y.d, p->conv.d, p->w.d, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf));
            p->bwd_filter = choose<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(
                perf, got,
                [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* b) {
                    return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x.d, p->y.d, p->conv.d, p->w.d, a, b);
                },
                m_ws_cap, &p->bwd_filter_bytes, "backward-filter convolution", sh,
                {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3,
                 CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0}, m_any_algo);
        }
        const ConvPlan& ref = *p;
        m_plans.emplace(key, std::move(p));
        return ref;
    }

    CudaDevice& m_dev;
    const size_t m_ws_cap; // workspace_cap(the device's budget)
    const bool m_own;      // GPULAB_CUDA_OWN_KERNELS: bias, ReLU, bias gradient, pooling forward
    const bool m_graphs;   // GPULAB_CUDA_GRAPHS: convolution and dense calls replayed from CUDA graphs
    const Fusion m_fusion; // GPULAB_CUDA_FUSED_GRAPHS (with graphs on): how the model groups ops
    const bool m_split_sums; // GPULAB_CUDA_SPLIT_SUMS: the bias gradient in two passes
    const bool m_gpu_times;  // GPULAB_CUDA_GPU_TIMES: each call's GPU time, printed when the table goes
    const bool m_any_algo;   // GPULAB_CUDA_ANY_ALGO: cuDNN's heuristics' order, deterministic or not
    cudaStream_t m_capture = nullptr;
    static constexpr size_t kCublasWorkspace = size_t(8) << 20;
    void* m_cublas_ws = nullptr;     // with graphs on: cuBLAS's workspace
    float* m_sum_scratch = nullptr;  // with split sums: kSumScratch floats
    mutable CudaGraphStats m_stats; // m_cudnn_mutex held
    // dense calls' graphs by (0 forward / 1 backward / 2 backward without dx, n, in, out)
    mutable std::map<std::array<int, 4>, std::unique_ptr<GraphCache<GraphKey>>> m_dense_graphs;
    // The unit being held (begin_fused ... end_fused) by one thread, and units' graphs by the
    // sequence of their calls (names, graph caches, sizes). m_cudnn_mutex held.
    mutable std::vector<Unit> m_units;
    mutable std::thread::id m_unit_owner;
    mutable int m_unit_depth = 0;
    mutable std::map<std::vector<int64_t>, std::unique_ptr<UnitGraphs>> m_unit_graphs;
    // GPU times. m_cudnn_mutex held.
    struct TimeTotal {
        std::string name;
        long count = 0;
        double ms = 0, max_ms = 0;
    };
    struct TimePending {
        int index;
        cudaEvent_t start, end;
    };
    mutable std::vector<TimeTotal> m_times;
    mutable std::map<std::pair<const char*, CallSig>, int> m_time_calls;
    mutable std::map<std::string, int> m_time_units;
    mutable std::deque<TimePending> m_time_pending;
    mutable std::vector<cudaEvent_t> m_time_free;
    mutable cudaEvent_t m_time_origin = nullptr;
    mutable double m_time_span_ms = 0;
    cudnnPoolingDescriptor_t m_pool = nullptr;
    cudnnActivationDescriptor_t m_relu = nullptr;
    // A cuDNN handle may not be used by two threads at once, and conv_workspace_bytes runs
    // on the front end (at push time) while the device's worker runs convolutions.
    mutable std::mutex m_cudnn_mutex;
    mutable std::map<std::array<int, 7>, std::unique_ptr<ConvPlan>> m_plans;
};

} // namespace

std::unique_ptr<Kernels> make_cuda_kernels(CudaDevice& device)
{
    return std::make_unique<CudaKernels>(device);
}

CudaGraphStats cuda_graph_stats(const Kernels& kernels)
{
    const auto* k = dynamic_cast<const CudaKernels*>(&kernels);
    return k ? k->graph_stats() : CudaGraphStats{};
}

} // namespace gpulab
