// The op set every backend implements. Pointers are in the device's memory; tensors are
// dense, row-major, NCHW. A backend (CPU reference, CUDA) replaces this whole table, so
// the trainer never knows which one runs.
#pragma once

#include <cstdint>

namespace gpulab {

class Device;

// Convolution with stride 1 and no padding, as in the book's LeNet.
struct ConvShape {
    int n = 0, c = 0, h = 0, w = 0; // input  (n, c, h, w)
    int k = 0, r = 0, s = 0;        // filters (k, c, r, s)
    int oh() const { return h - r + 1; }
    int ow() const { return w - s + 1; }
};

class Kernels {
public:
    virtual ~Kernels() = default;
    virtual const char* name() const = 0;

    // ---- convolution ----
    // Scratch the conv calls may use, in bytes, for this shape (0 = none).
    virtual int64_t conv_workspace_bytes(const ConvShape& sh) const = 0;
    // y (n,k,oh,ow) = conv(x (n,c,h,w), w (k,c,r,s)) + b (k)
    virtual void conv2d_forward(const ConvShape& sh, const float* x, const float* w,
                                const float* b, float* y, float* ws) const = 0;
    // dx (n,c,h,w) from dy (n,k,oh,ow) and w; overwrites dx
    virtual void conv2d_backward_data(const ConvShape& sh, const float* dy, const float* w,
                                      float* dx, float* ws) const = 0;
    // dw (k,c,r,s) and db (k) from x and dy; overwrites both
    virtual void conv2d_backward_weights(const ConvShape& sh, const float* x, const float* dy,
                                         float* dw, float* db, float* ws) const = 0;

    // ---- 2x2 average pooling, stride 2 ----
    // y (n,c,h/2,w/2), rounded down: an odd last row/column is ignored (as MXNet's
    // 'valid' convention: LeNet's 9x9 -> 4x4), and gets zero gradient.
    virtual void avgpool2_forward(int n, int c, int h, int w, const float* x, float* y) const = 0;
    // dx (n,c,h,w) from dy (n,c,h/2,w/2); overwrites all of dx (ignored cells get 0)
    virtual void avgpool2_backward(int n, int c, int h, int w, const float* dy, float* dx) const = 0;

    // ---- ReLU ----
    virtual void relu_forward(int64_t count, const float* x, float* y) const = 0;
    // dx = dy where y > 0, else 0 (y is the forward output)
    virtual void relu_backward(int64_t count, const float* y, const float* dy, float* dx) const = 0;

    // ---- dense ----
    // y (n,out) = x (n,in) . w (in,out) + b (out)
    virtual void dense_forward(int n, int in, int out, const float* x, const float* w,
                               const float* b, float* y) const = 0;
    // dx (n,in) (skipped when nullptr), dw (in,out), db (out) from dy (n,out); overwrites
    virtual void dense_backward(int n, int in, int out, const float* x, const float* w,
                                const float* dy, float* dx, float* dw, float* db) const = 0;

    // ---- loss ----
    // loss_sum (1) = sum over rows of -log softmax(logits)[label];
    // dlogits (n,classes) = softmax(logits) - onehot(label): the gradient of the sum.
    // Labels outside [0, classes) are an error: std::out_of_range, thrown here by the CPU,
    // by a GPU at the device's next synchronisation (download or synchronize).
    virtual void softmax_xent(int n, int classes, const float* logits, const int32_t* labels,
                              float* loss_sum, float* dlogits) const = 0;
    // correct (1) = number of rows whose argmax equals the label
    virtual void count_correct(int n, int classes, const float* logits, const int32_t* labels,
                               float* correct) const = 0;

    // ---- elementwise ----
    // w -= scale * grad  (scale = lr / batch_size)
    virtual void sgd_update(int64_t count, float scale, const float* grad, float* w) const = 0;
    // y += a
    virtual void add(int64_t count, const float* a, float* y) const = 0;
    virtual void copy(int64_t count, const float* src, float* dst) const = 0;
    virtual void fill(int64_t count, float value, float* y) const = 0;

    // ---- data ----
    // dst row i = src row index[i] for i < n; rows of row_bytes (a multiple of 4): the
    // images and labels of a minibatch taken from a dataset that lives on the device.
    // An index outside [0, src_rows) is an error: std::out_of_range from a CPU backend; a
    // GPU leaves that row zero (the trainer's indices come from its batcher, always valid).
    virtual void gather_rows(int n, int64_t row_bytes, const int32_t* index, int64_t src_rows,
                             const void* src, void* dst) const = 0;

    // ---- fused (the defaults compose the ops above; a backend may do it in one pass) ----
    // y = relu(conv(x, w) + b): the book's Conv2D(..., activation='relu'), one layer.
    virtual void conv2d_relu_forward(const ConvShape& sh, const float* x, const float* w, const float* b,
                                     float* y, float* ws) const
    {
        conv2d_forward(sh, x, w, b, y, ws);
        relu_forward(int64_t(sh.n) * sh.k * sh.oh() * sh.ow(), y, y);
    }
    // conv2d_relu_forward where only the output's first `rows` rows and `cols` columns are
    // read afterwards (1 <= rows <= oh, 1 <= cols <= ow): a 2x2 pool of an odd size drops the
    // last row and column, as LeNet's second pool does (9 -> 4). Those pixels are what
    // conv2d_relu_forward gives; every other pixel holds that value too or 0 (a table may
    // skip it: the fast CPU table writes 0). The default computes them all. Throws
    // std::invalid_argument for a window outside the output.
    virtual void conv2d_relu_forward_window(const ConvShape& sh, int rows, int cols, const float* x,
                                            const float* w, const float* b, float* y, float* ws) const;
    // dx (n,c,h,w) = the gradient through a ReLU whose output is y (n,c,h,w) followed by
    // 2x2 average pooling: avgpool2_backward(dy), then zero where y <= 0. Overwrites dx.
    virtual void avgpool2_relu_backward(int n, int c, int h, int w, const float* dy, const float* y,
                                        float* dx) const
    {
        avgpool2_backward(n, c, h, w, dy, dx);
        relu_backward(int64_t(n) * c * h * w, y, dx, dx);
    }

    // ---- calls queued as one unit (a GPU table may replay them as one CUDA graph) ----
    // How the model groups a minibatch's ops for this table: None, one engine op per layer
    // op (the CPU tables, and a GPU's by default); Layers, each layer's op together with the
    // small ops that follow it (pooling, ReLU, the loss) in one engine op; Step, the whole
    // forward, loss and backward of a device's shard in one engine op.
    enum class Fusion { None, Layers, Step };
    virtual Fusion fusion() const { return Fusion::None; }
    // Between begin_fused() and end_fused() on one thread, a table may hold the calls' work
    // back and queue it all at end_fused (arguments are checked at each call, as always).
    // begin_fused returns whether it did begin (false: every call queues at once, as the CPU
    // tables do); abandon_fused drops what was held (a call threw). Use FusedCalls.
    virtual bool begin_fused() const { return false; }
    virtual void end_fused() const {}
    virtual void abandon_fused() const {}
};

// The calls made while it lives are one unit for the table (Kernels::begin_fused): end()
// queues them; without end() (an exception) they are dropped.
class FusedCalls {
public:
    explicit FusedCalls(const Kernels& k) : m_k(k), m_on(k.begin_fused()) {}
    ~FusedCalls()
    {
        if (m_on)
            m_k.abandon_fused();
    }
    FusedCalls(const FusedCalls&) = delete;
    FusedCalls& operator=(const FusedCalls&) = delete;
    void end()
    {
        if (m_on) {
            m_on = false;
            m_k.end_fused();
        }
    }

private:
    const Kernels& m_k;
    bool m_on;
};

// The CPU reference kernels (plain loops + BLAS sgemm): the oracle for every backend.
const Kernels& cpu_reference_kernels();

// The kernels that run on this device.
const Kernels& kernels_for(const Device& device);

} // namespace gpulab
