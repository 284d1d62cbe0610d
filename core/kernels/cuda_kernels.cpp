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

// The calls of one convolution shape that are captured into graphs.
enum GraphOp { kFwdBias, kFwdBiasRelu, kBwdData, kBwdFilter, kGraphOps };
using GraphKey = std::array<const void*, 6>; // the call's pointers (unused ones null)

// Graphs captured for one call of one shape, by pointers.
struct GraphCache {
    std::map<GraphKey, cudaGraphExec_t> execs;
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
    mutable std::array<GraphCache, kGraphOps> graphs; // declared last: destroyed first
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
// deterministic one before any other. Should the heuristics offer none, the classic
// algorithms in `fallback` are tried in order (deterministic ones first; the last needs no
// workspace at all).
template <class Perf, class Algo, class WsQuery>
Algo choose(const Perf* perf, int count, const WsQuery& ws_query, size_t cap, size_t* bytes, const char* what,
            const ConvShape& sh, std::initializer_list<Algo> fallback)
{
    for (int pass = 0; pass < 2; ++pass)
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

class CudaKernels final : public Kernels {
public:
    explicit CudaKernels(CudaDevice& device)
        : m_dev(device), m_ws_cap(workspace_cap(device.memory_budget())), m_own(env_on("GPULAB_CUDA_OWN_KERNELS")),
          m_graphs(env_on("GPULAB_CUDA_GRAPHS"))
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
        GPULAB_CUDA_CHECK(cudnnCreatePoolingDescriptor(&m_pool));
        GPULAB_CUDA_CHECK(cudnnSetPooling2dDescriptor(m_pool, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING,
                                                      CUDNN_NOT_PROPAGATE_NAN, 2, 2, 0, 0, 2, 2));
        GPULAB_CUDA_CHECK(cudnnCreateActivationDescriptor(&m_relu));
        GPULAB_CUDA_CHECK(cudnnSetActivationDescriptor(m_relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    }
    ~CudaKernels() override
    {
        const char* say = std::getenv("GPULAB_CUDA_GRAPH_STATS");
        if (m_graphs && say && std::string(say) == "1")
            std::fprintf(stderr, "%s: CUDA graphs: %ld captured, %ld replayed, %ld plain calls, %ld failed captures\n",
                         m_dev.name().c_str(), m_stats.captured, m_stats.replayed, m_stats.plain, m_stats.failed);
        (void)cudaSetDevice(m_dev.gpu());
        m_plans.clear(); // their graphs, before the stream they were captured on
        m_dense_graphs.clear();
        if (m_capture)
            (void)cudaStreamDestroy(m_capture);
        if (m_cublas_ws) {
            // The handle keeps pointing at it: back to cuBLAS's own workspace first, and only
            // once the stream is done with every GEMM that used it.
            (void)cudaStreamSynchronize(m_dev.stream());
            (void)cublasSetWorkspace(m_dev.cublas(), nullptr, 0);
            (void)cublasSetStream(m_dev.cublas(), m_dev.stream());
            std::lock_guard global(cuda_global_mutex());
            (void)cudaFree(m_cublas_ws);
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
        const ConvPlan& p = plan(sh);
        check_workspace("conv2d_backward_data", p.bwd_data_bytes, ws);
        run(p.graphs[kBwdData], {dy, w, dx, ws, nullptr, nullptr}, [&](cudaStream_t) {
            const float one = 1.0f, zero = 0.0f;
            GPULAB_CUDA_CHECK(cudnnConvolutionBackwardData(m_dev.cudnn(), &one, p.w.d, w, p.y.d, dy, p.conv.d,
                                                           p.bwd_data, ws, p.bwd_data_bytes, &zero, p.x.d, dx));
        });
    }

    void conv2d_backward_weights(const ConvShape& sh, const float* x, const float* dy, float* dw, float* db,
                                 float* ws) const override
    {
        check_conv_shape("conv2d_backward_weights", sh);
        m_dev.activate();
        if (sh.n == 0) { // nothing to sum: the gradients are zero
            const size_t wbytes = size_t(sh.k) * sh.c * sh.r * sh.s * sizeof(float);
            GPULAB_CUDA_CHECK(cudaMemsetAsync(dw, 0, wbytes, m_dev.stream()));
            GPULAB_CUDA_CHECK(cudaMemsetAsync(db, 0, size_t(sh.k) * sizeof(float), m_dev.stream()));
            return;
        }
        std::lock_guard lock(m_cudnn_mutex);
        const ConvPlan& p = plan(sh);
        check_workspace("conv2d_backward_weights", p.bwd_filter_bytes, ws);
        run(p.graphs[kBwdFilter], {x, dy, dw, db, ws, nullptr}, [&](cudaStream_t s) {
            const float one = 1.0f, zero = 0.0f;
            GPULAB_CUDA_CHECK(cudnnConvolutionBackwardFilter(m_dev.cudnn(), &one, p.x.d, x, p.y.d, dy, p.conv.d,
                                                             p.bwd_filter, ws, p.bwd_filter_bytes, &zero, p.w.d, dw));
            if (m_own)
                cuda::channel_sums(s, sh.n, sh.k, int64_t(sh.oh()) * sh.ow(), dy, db);
            else
                GPULAB_CUDA_CHECK(cudnnConvolutionBackwardBias(m_dev.cudnn(), &one, p.y.d, dy, &zero, p.bias.d, db));
        });
    }

    // ---- 2x2 average pooling, stride 2 (an odd last row/column is dropped) ----

    void avgpool2_forward(int n, int c, int h, int w, const float* x, float* y) const override
    {
        if (int64_t(n) * c == 0 || h < 2 || w < 2)
            return; // no output cells
        if (m_own) {
            m_dev.activate();
            cuda::avgpool2_forward(m_dev.stream(), n, c, h, w, x, y);
            return;
        }
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        TensorDesc xd(n, c, h, w), yd(n, c, h / 2, w / 2);
        const float one = 1.0f, zero = 0.0f;
        GPULAB_CUDA_CHECK(cudnnPoolingForward(m_dev.cudnn(), m_pool, &one, xd.d, x, &zero, yd.d, y));
    }

    // Our own kernel (cuda_avgpool2.h): average pooling's gradient needs neither x nor y,
    // and cuDNN documents no way to leave them out.
    void avgpool2_backward(int n, int c, int h, int w, const float* dy, float* dx) const override
    {
        m_dev.activate();
        cuda::avgpool2_backward(m_dev.stream(), n, c, h, w, dy, nullptr, dx);
    }

    // The same kernel, zeroing where the ReLU's output y <= 0: one pass over dx.
    void avgpool2_relu_backward(int n, int c, int h, int w, const float* dy, const float* y,
                                float* dx) const override
    {
        m_dev.activate();
        cuda::avgpool2_backward(m_dev.stream(), n, c, h, w, dy, y, dx);
    }

    // ---- ReLU (in place allowed: y == x, dx == dy) ----

    void relu_forward(int64_t count, const float* x, float* y) const override
    {
        if (count <= 0)
            return;
        if (m_own) {
            m_dev.activate();
            cuda::relu_forward(m_dev.stream(), count, x, y);
            return;
        }
        std::lock_guard lock(m_cudnn_mutex);
        m_dev.activate();
        const float one = 1.0f, zero = 0.0f;
        for (int64_t off = 0; off < count; off += kMaxPart) {
            TensorDesc d(1, 1, 1, int(std::min(kMaxPart, count - off)));
            GPULAB_CUDA_CHECK(cudnnActivationForward(m_dev.cudnn(), m_relu, &one, d.d, x + off, &zero, d.d, y + off));
        }
    }

    // A kernel of ours, as the CPU reference writes it (dx = y > 0 ? dy : 0): cuDNN's
    // activation backward asks for x as well, and documents no stand-in for it.
    void relu_backward(int64_t count, const float* y, const float* dy, float* dx) const override
    {
        m_dev.activate();
        cuda::relu_backward(m_dev.stream(), count, y, dy, dx);
    }

    // ---- dense (row-major, so cuBLAS sees every matrix transposed) ----

    void dense_forward(int n, int in, int out, const float* x, const float* w, const float* b,
                       float* y) const override
    {
        if (n <= 0 || out <= 0)
            return;
        std::lock_guard lock(m_cudnn_mutex); // the graph caches
        m_dev.activate();
        run(dense_graphs(0, n, in, out), {x, w, b, y, nullptr, nullptr}, [&](cudaStream_t s) {
            cuda::broadcast_rows(s, n, out, b, y);
            if (in <= 0)
                return;
            // column-major: y^T (out,n) += w^T (out,in) . x^T (in,n)
            const float one = 1.0f;
            GPULAB_CUDA_CHECK(cublasSgemm(m_dev.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, out, n, in, &one, w, out, x, in,
                                          &one, y, out));
        });
    }

    void dense_backward(int n, int in, int out, const float* x, const float* w, const float* dy, float* dx,
                        float* dw, float* db) const override
    {
        m_dev.activate();
        cudaStream_t s = m_dev.stream();
        if (n <= 0 || in <= 0 || out <= 0) { // empty sums: zero gradients
            GPULAB_CUDA_CHECK(cudaMemsetAsync(dw, 0, size_t(std::max(in, 0)) * std::max(out, 0) * sizeof(float), s));
            GPULAB_CUDA_CHECK(cudaMemsetAsync(db, 0, size_t(std::max(out, 0)) * sizeof(float), s));
            if (dx)
                GPULAB_CUDA_CHECK(cudaMemsetAsync(dx, 0, size_t(std::max(n, 0)) * std::max(in, 0) * sizeof(float), s));
            return;
        }
        std::lock_guard lock(m_cudnn_mutex); // the graph caches
        run(dense_graphs(dx ? 1 : 2, n, in, out), {x, w, dy, dx, dw, db}, [&](cudaStream_t cs) {
            const float one = 1.0f, zero = 0.0f;
            // dx (n,in) = dy (n,out) . w^T    column-major: dx^T (in,n) = w (in,out) . dy^T (out,n)
            if (dx)
                GPULAB_CUDA_CHECK(cublasSgemm(m_dev.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, in, n, out, &one, w, out, dy,
                                              out, &zero, dx, in));
            // dw (in,out) = x^T . dy          column-major: dw^T (out,in) = dy^T (out,n) . x (n,in)
            GPULAB_CUDA_CHECK(cublasSgemm(m_dev.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, out, in, n, &one, dy, out, x, in,
                                          &zero, dw, out));
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
        m_dev.activate();
        cuda::softmax_xent(m_dev.stream(), n, classes, logits, labels, loss_sum, dlogits, m_dev.async_error_slot());
    }

    void count_correct(int n, int classes, const float* logits, const int32_t* labels,
                       float* correct) const override
    {
        check_sizes("count_correct", n, std::max(classes, 1));
        m_dev.activate();
        cuda::count_correct(m_dev.stream(), n, classes, logits, labels, correct);
    }

    // ---- elementwise ----

    void sgd_update(int64_t count, float scale, const float* grad, float* w) const override
    {
        m_dev.activate();
        cuda::sgd(m_dev.stream(), count, scale, grad, w);
    }

    void add(int64_t count, const float* a, float* y) const override
    {
        m_dev.activate();
        cuda::add(m_dev.stream(), count, a, y);
    }

    // src and dst may be equal, not partly overlapping.
    void copy(int64_t count, const float* src, float* dst) const override
    {
        if (count <= 0 || src == dst)
            return;
        m_dev.activate();
        const size_t bytes = size_t(count) * sizeof(float);
        GPULAB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, m_dev.stream()));
    }

    void fill(int64_t count, float value, float* y) const override
    {
        m_dev.activate();
        cuda::fill(m_dev.stream(), count, value, y);
    }

    void gather_rows(int n, int64_t row_bytes, const int32_t* index, int64_t src_rows, const void* src,
                     void* dst) const override
    {
        if (n < 0 || row_bytes < 0 || row_bytes % 4 != 0)
            throw std::invalid_argument("gather_rows: bad shape (n " + std::to_string(n) + ", row of "
                                        + std::to_string(row_bytes) + " bytes)");
        m_dev.activate();
        cuda::gather_rows(m_dev.stream(), n, row_bytes / 4, index, src_rows, static_cast<const uint32_t*>(src),
                          static_cast<uint32_t*>(dst));
    }

private:
    static constexpr int64_t kMaxPart = int64_t(1) << 30; // elements per cuDNN call (int dims)
    // New pointer sets a call may bring before it stops capturing (and runs plainly for
    // any further new set; the sets captured so far keep replaying). Past kFreeCaptures,
    // it captures only while its graphs have replayed at least as often as it captured.
    static constexpr int kMaxCaptures = 256;
    static constexpr int kFreeCaptures = 32;

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
        const ConvPlan& p = plan(sh);
        check_workspace(op, p.fwd_bytes, ws);
        run(p.graphs[relu ? kFwdBiasRelu : kFwdBias], {x, w, b, y, ws, nullptr}, [&](cudaStream_t s) {
            const float one = 1.0f, zero = 0.0f;
            GPULAB_CUDA_CHECK(cudnnConvolutionForward(m_dev.cudnn(), &one, p.x.d, x, p.w.d, w, p.conv.d, p.fwd, ws,
                                                      p.fwd_bytes, &zero, p.y.d, y));
            if (m_own) {
                cuda::bias_act(s, sh.n, sh.k, int64_t(sh.oh()) * sh.ow(), b, y, relu);
                return;
            }
            GPULAB_CUDA_CHECK(cudnnAddTensor(m_dev.cudnn(), &one, p.bias.d, b, &one, p.y.d, y));
            if (relu)
                GPULAB_CUDA_CHECK(
                    cudnnActivationForward(m_dev.cudnn(), m_relu, &one, p.y.d, y, &zero, p.y.d, y));
        });
    }

    // Runs call(stream), which queues one convolution call's work on the stream it is given
    // through the device's cuDNN handle (whose stream is that stream while it runs):
    // replayed from a graph when these pointers were captured before, captured first when
    // they are new, plainly when graphs are off or the capture failed. m_cudnn_mutex held,
    // GPU current.
    template <class Call>
    void run(GraphCache& g, const GraphKey& key, const Call& call) const
    {
        cudaStream_t s = m_dev.stream();
        if (!m_graphs) {
            call(s);
            return;
        }
        if (auto it = g.execs.find(key); it != g.execs.end()) {
            GPULAB_CUDA_CHECK(cudaGraphLaunch(it->second, s));
            ++m_stats.replayed;
            ++g.replays;
            return;
        }
        const bool worth = g.captures < kFreeCaptures || (g.captures < kMaxCaptures && g.replays >= g.captures);
        if (g.calls++ == 0 || g.off || !worth) {
            call(s);
            ++m_stats.plain;
            return;
        }
        ++g.captures;
        cudaGraphExec_t exec = capture(call);
        if (!exec) {
            g.off = true;
            ++m_stats.failed;
            call(s); // as if graphs were off: a real error throws here
            return;
        }
        g.execs.emplace(key, exec);
        ++m_stats.captured;
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
        if (st == CUBLAS_STATUS_SUCCESS)
            st = cublasSetWorkspace(m_dev.cublas(), m_cublas_ws, kCublasWorkspace);
        return st;
    }

    // The graph cache of one dense call and shape. m_cudnn_mutex held.
    GraphCache& dense_graphs(int op, int n, int in, int out) const
    {
        auto& slot = m_dense_graphs[std::array<int, 4>{op, n, in, out}];
        if (!slot)
            slot = std::make_unique<GraphCache>();
        return *slot;
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
                 CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM});
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
                {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0});
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
                 CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0});
        }
        const ConvPlan& ref = *p;
        m_plans.emplace(key, std::move(p));
        return ref;
    }

    CudaDevice& m_dev;
    const size_t m_ws_cap; // workspace_cap(the device's budget)
    const bool m_own;      // GPULAB_CUDA_OWN_KERNELS: bias, ReLU, bias gradient, pooling forward
    const bool m_graphs;   // GPULAB_CUDA_GRAPHS: convolution calls replayed from CUDA graphs
    cudaStream_t m_capture = nullptr;
    static constexpr size_t kCublasWorkspace = size_t(8) << 20;
    void* m_cublas_ws = nullptr; // with graphs on: cuBLAS's workspace
    mutable CudaGraphStats m_stats; // m_cudnn_mutex held
    // dense calls' graphs by (0 forward / 1 backward / 2 backward without dx, n, in, out)
    mutable std::map<std::array<int, 4>, std::unique_ptr<GraphCache>> m_dense_graphs;
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
