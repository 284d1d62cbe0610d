// LeNet as the book builds it, pushed op by op so that every op is an engine op (and a
// span in the Engine view). Storage for each output is taken at push time.
#include "model/lenet.h"

#include "kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>

namespace gpulab {

namespace {

std::vector<ParamSpec> build_specs()
{
    std::vector<ParamSpec> specs = {
        {"W1", {20, 1, 3, 3}, 0, 0}, {"b1", {20}, 0, 0},
        {"W2", {50, 20, 5, 5}, 0, 0}, {"b2", {50}, 0, 0},
        {"W3", {800, 128}, 0, 0},    {"b3", {128}, 0, 0},
        {"W4", {128, 10}, 0, 0},     {"b4", {10}, 0, 0},
    };
    int64_t off = 0;
    for (auto& s : specs) {
        s.count = 1;
        for (int64_t d : s.shape)
            s.count *= d;
        s.offset = (off + kParamAlign - 1) / kParamAlign * kParamAlign;
        off = s.offset + s.count;
    }
    return specs;
}

// Standard normal by Box-Muller over our own uniform draws, so initial weights do not
// depend on the standard library's distribution implementation.
class Normal {
public:
    explicit Normal(uint64_t seed) : m_rng(seed) {}
    double next()
    {
        if (m_have) {
            m_have = false;
            return m_spare;
        }
        double u1, u2;
        do {
            u1 = (double(m_rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        } while (u1 <= 0.0);
        u2 = double(m_rng() >> 11) * (1.0 / 9007199254740992.0);
        const double r = std::sqrt(-2.0 * std::log(u1));
        m_spare = r * std::sin(2 * M_PI * u2);
        m_have = true;
        return r * std::cos(2 * M_PI * u2);
    }

private:
    std::mt19937_64 m_rng;
    bool m_have = false;
    double m_spare = 0;
};

const ParamSpec& P(int i) { return lenet_params()[static_cast<size_t>(i)]; }

} // namespace

const std::vector<ParamSpec>& lenet_params()
{
    static const std::vector<ParamSpec> specs = build_specs();
    return specs;
}

int64_t lenet_param_count()
{
    int64_t n = 0;
    for (const auto& s : lenet_params())
        n += s.count;
    return n;
}

int64_t lenet_flat_count()
{
    const auto& s = lenet_params();
    return (s.back().offset + s.back().count + kParamAlign - 1) / kParamAlign * kParamAlign;
}

const ParamSpec& lenet_param(const std::string& name)
{
    for (const auto& s : lenet_params())
        if (s.name == name)
            return s;
    throw std::invalid_argument("unknown parameter '" + name +
                                "' (LeNet has W1 b1 W2 b2 W3 b3 W4 b4)");
}

std::vector<float> lenet_init(uint64_t seed)
{
    std::vector<float> w(static_cast<size_t>(lenet_flat_count()), 0.0f);
    Normal normal(seed);
    for (const auto& s : lenet_params()) {
        if (s.shape.size() == 1)
            continue; // biases start at zero
        for (int64_t i = 0; i < s.count; ++i)
            w[static_cast<size_t>(s.offset + i)] = static_cast<float>(0.01 * normal.next());
    }
    return w;
}

std::vector<Var> DeviceModel::grad_vars() const
{
    std::vector<Var> v;
    v.reserve(grad_chunks.size());
    for (const auto& c : grad_chunks)
        v.push_back(c.var);
    return v;
}

DeviceModel make_device_model(Engine& engine, Device& device, int chunks)
{
    DeviceModel m;
    m.device = &device;
    m.kernels = &kernels_for(device);
    const int64_t P = lenet_flat_count();
    m.params = make_tensor(engine, device, {P});
    m.grads = make_tensor(engine, device, {P});
    // No op has been pushed on these buffers yet, so a plain upload orders before them all.
    const std::vector<float> zeros(static_cast<size_t>(P), 0.0f);
    device.upload(m.grads.f(), zeros.data(), m.grads.bytes());
    chunks = std::max(1, chunks);
    const int64_t base = P / chunks, extra = P % chunks;
    int64_t off = 0;
    for (int c = 0; c < chunks; ++c) {
        const int64_t len = base + (c < extra ? 1 : 0);
        m.grad_chunks.push_back(m.grads.view(off, {len}, engine.new_var()));
        off += len;
    }
    return m;
}

namespace {

// One op on the model's device.
void push_op(Engine& e, const DeviceModel& m, const char* name, std::vector<Var> reads,
             std::vector<Var> writes, std::function<void()> fn)
{
    OpDesc op;
    op.device = m.device->index();
    op.name = name;
    op.reads = std::move(reads);
    op.writes = std::move(writes);
    op.fn = std::move(fn);
    e.push(std::move(op));
}

// Consecutive ops of one device pushed as one engine op when the kernel table fuses calls
// (Kernels::fusion): the op runs its parts' calls between begin_fused and end_fused, so that
// the table may queue them as one unit (on a GPU, one CUDA graph instead of a graph and the
// plain kernels after it). Reads and writes are the parts' together. Off (or inside an
// enclosing group that is on, which takes the parts instead), each part is pushed as its own
// op, under its own name: the op sequence is then exactly the unfused one.
class OpGroup {
public:
    OpGroup(Engine& e, const DeviceModel& m, const char* name, bool on, OpGroup* outer = nullptr)
        : m_e(e), m_m(m), m_name(name), m_on(on), m_outer(outer && outer->merging() ? outer : nullptr)
    {
    }
    OpGroup(const OpGroup&) = delete;
    OpGroup& operator=(const OpGroup&) = delete;

    void add(const char* name, std::vector<Var> reads, std::vector<Var> writes, std::function<void()> fn)
    {
        if (m_outer) {
            m_outer->add(name, std::move(reads), std::move(writes), std::move(fn));
            return;
        }
        if (!m_on) {
            push_op(m_e, m_m, name, std::move(reads), std::move(writes), std::move(fn));
            return;
        }
        auto has = [](const std::vector<Var>& vs, const Var& v) { return std::find(vs.begin(), vs.end(), v) != vs.end(); };
        for (Var& v : writes)
            if (!has(m_writes, v))
                m_writes.push_back(std::move(v));
        for (Var& v : reads)
            if (!has(m_reads, v))
                m_reads.push_back(std::move(v));
        m_fns.push_back(std::move(fn));
    }

    // Pushes the merged op (a group that merges nothing pushes nothing).
    void push()
    {
        if (!merging() || m_fns.empty())
            return;
        std::erase_if(m_reads, [&](const Var& v) { return std::find(m_writes.begin(), m_writes.end(), v) != m_writes.end(); });
        push_op(m_e, m_m, m_name, std::move(m_reads), std::move(m_writes),
                [k = m_m.kernels, fns = std::move(m_fns)] {
                    FusedCalls unit(*k);
                    for (const auto& fn : fns)
                        fn();
                    unit.end();
                });
        m_reads.clear();
        m_writes.clear();
        m_fns.clear();
    }

private:
    bool merging() const { return m_on && !m_outer; }

    Engine& m_e;
    const DeviceModel& m_m;
    const char* m_name;
    bool m_on;
    OpGroup* m_outer;
    std::vector<Var> m_reads, m_writes;
    std::vector<std::function<void()>> m_fns;
};

struct Activations {
    Tensor a1;     // (n,20,26,26) conv1 output after its ReLU
    Tensor p1;     // (n,20,13,13)
    Tensor a2;     // (n,50,9,9)   conv2 output after its ReLU
    Tensor p2;     // (n,800)      pooled (n,50,4,4), flattened
    Tensor h3;     // (n,128)      dense3 output, ReLU in place
    Tensor logits; // (n,10)
};

ConvShape conv1_shape(int n) { return {n, 1, 28, 28, 20, 3, 3}; }
ConvShape conv2_shape(int n) { return {n, 20, 13, 13, 50, 5, 5}; }

// The device's conv workspace, large enough for both convolutions of n images.
Tensor workspace(Engine& e, DeviceModel& m, int n)
{
    const int64_t bytes = std::max(m.kernels->conv_workspace_bytes(conv1_shape(n)),
                                   m.kernels->conv_workspace_bytes(conv2_shape(n)));
    const int64_t floats = std::max<int64_t>(1, (bytes + 3) / 4);
    if (!m.workspace.defined() || m.workspace.numel() < floats)
        m.workspace = make_tensor(e, *m.device, {floats});
    return m.workspace;
}

// Pointer to parameter i inside a flat tensor (params or grads).
float* at(const Tensor& flat, int i) { return flat.f() + P(i).offset; }

// Pushes the forward pass up to the logits. With the table's Fusion::Layers, each layer's op
// and the ops after it up to the next layer's are one op; the last layer's op (dense4) goes
// into `last`, where the caller adds the loss or the count. `step` encloses everything with
// Fusion::Step.
Activations push_forward(Engine& e, DeviceModel& m, const Tensor& x, int n, OpGroup* step, OpGroup& last)
{
    const Kernels* k = m.kernels;
    const bool layers = k->fusion() == Kernels::Fusion::Layers;
    const Tensor W = m.params;
    const Tensor ws = workspace(e, m, n);
    Activations a;
    {
        OpGroup g(e, m, "conv1_relu_pool1_fwd", layers, step);
        const ConvShape sh = conv1_shape(n);
        a.a1 = make_tensor(e, *m.device, {n, 20, 26, 26});
        // The book's Conv2D(activation='relu'): one layer, one op, one pass over its output.
        g.add("conv1_relu_fwd", {x.var, W.var}, {a.a1.var, ws.var}, [=] {
            k->conv2d_relu_forward(sh, x.f(), at(W, 0), at(W, 1), a.a1.f(), ws.f());
        });
        a.p1 = make_tensor(e, *m.device, {n, 20, 13, 13});
        g.add("pool1_fwd", {a.a1.var}, {a.p1.var}, [k, n, in = a.a1, out = a.p1] {
            k->avgpool2_forward(n, 20, 26, 26, in.f(), out.f());
        });
        g.push();
    }
    {
        OpGroup g(e, m, "conv2_relu_pool2_fwd", layers, step);
        const ConvShape sh = conv2_shape(n);
        a.a2 = make_tensor(e, *m.device, {n, 50, 9, 9});
        // pool2 floors 9x9 to 4x4: it reads the first 8 rows and columns alone, and backward
        // never reads a2 past them either (pool2's backward gives the rest a zero gradient
        // whatever a2 holds), so the table may leave the last row and column out (0).
        g.add("conv2_relu_fwd", {a.p1.var, W.var}, {a.a2.var, ws.var}, [k, sh, in = a.p1, W, out = a.a2, ws] {
            k->conv2d_relu_forward_window(sh, sh.oh() / 2 * 2, sh.ow() / 2 * 2, in.f(), at(W, 2), at(W, 3), out.f(),
                                          ws.f());
        });
        a.p2 = make_tensor(e, *m.device, {n, 800});
        g.add("pool2_fwd", {a.a2.var}, {a.p2.var}, [k, n, in = a.a2, out = a.p2] {
            k->avgpool2_forward(n, 50, 9, 9, in.f(), out.f());
        });
        g.push();
    }
    {
        OpGroup g(e, m, "dense3_relu3_fwd", layers, step);
        a.h3 = make_tensor(e, *m.device, {n, 128});
        g.add("dense3_fwd", {a.p2.var, W.var}, {a.h3.var}, [k, n, in = a.p2, W, out = a.h3] {
            k->dense_forward(n, 800, 128, in.f(), at(W, 4), at(W, 5), out.f());
        });
        g.add("relu3_fwd", {}, {a.h3.var}, [k, y = a.h3] { k->relu_forward(y.numel(), y.f(), y.f()); });
        g.push();
    }
    a.logits = make_tensor(e, *m.device, {n, 10});
    last.add("dense4_fwd", {a.h3.var, W.var}, {a.logits.var}, [k, n, in = a.h3, W, out = a.logits] {
        k->dense_forward(n, 128, 10, in.f(), at(W, 6), at(W, 7), out.f());
    });
    return a;
}

} // namespace

Tensor push_forward_backward(Engine& e, DeviceModel& m, const Tensor& x, const Tensor& labels,
                             int n)
{
    const Kernels* k = m.kernels;
    const Kernels::Fusion fusion = k->fusion();
    const bool layers = fusion == Kernels::Fusion::Layers;
    const Tensor W = m.params;
    const Tensor G = m.grads;
    const std::vector<Var> gv = m.grad_vars();
    OpGroup step(e, m, "forward_backward", fusion == Kernels::Fusion::Step);
    OpGroup last(e, m, "dense4_fwd_softmax_xent", layers, &step);
    Activations a = push_forward(e, m, x, n, &step, last);
    const Tensor ws = m.workspace; // push_forward sized it for n

    Tensor loss = make_tensor(e, *m.device, {1});
    Tensor dlogits = make_tensor(e, *m.device, {n, 10});
    last.add("softmax_xent", {a.logits.var, labels.var}, {loss.var, dlogits.var},
             [k, n, lg = a.logits, labels, loss, dlogits] {
                 k->softmax_xent(n, 10, lg.f(), labels.i32(), loss.f(), dlogits.f());
             });
    last.push();
    // dense4: dh3, dW4, db4; then back through relu3 (its mask is h3 > 0)
    Tensor dh3 = make_tensor(e, *m.device, {n, 128});
    {
        OpGroup g(e, m, "dense4_relu3_bwd", layers, &step);
        std::vector<Var> w = gv;
        w.push_back(dh3.var);
        g.add("dense4_bwd", {a.h3.var, W.var, dlogits.var}, w, [k, n, h3 = a.h3, W, dlogits, dh3, G] {
            k->dense_backward(n, 128, 10, h3.f(), at(W, 6), dlogits.f(), dh3.f(), at(G, 6), at(G, 7));
        });
        g.add("relu3_bwd", {a.h3.var}, {dh3.var}, [k, h3 = a.h3, dh3] {
            k->relu_backward(dh3.numel(), h3.f(), dh3.f(), dh3.f());
        });
        g.push();
    }
    // (Each output is made just before the op that writes it, as without groups: the
    // memory events of an unfused run keep their order.)
    Tensor dp2 = make_tensor(e, *m.device, {n, 800});
    Tensor da2;
    {
        OpGroup g(e, m, "dense3_pool2_relu_bwd", layers, &step);
        std::vector<Var> w = gv;
        w.push_back(dp2.var);
        g.add("dense3_bwd", {a.p2.var, W.var, dh3.var}, w, [k, n, p2 = a.p2, W, dh3, dp2, G] {
            k->dense_backward(n, 800, 128, p2.f(), at(W, 4), dh3.f(), dp2.f(), at(G, 4), at(G, 5));
        });
        // Back through pool2 and conv2's ReLU in one pass (the ReLU's mask is a2 > 0).
        da2 = make_tensor(e, *m.device, {n, 50, 9, 9});
        g.add("pool2_relu_bwd", {dp2.var, a.a2.var}, {da2.var}, [k, n, dp2, a2 = a.a2, da2] {
            k->avgpool2_relu_backward(n, 50, 9, 9, dp2.f(), a2.f(), da2.f());
        });
        g.push();
    }
    Tensor dp1 = make_tensor(e, *m.device, {n, 20, 13, 13});
    Tensor da1;
    {
        OpGroup g(e, m, "conv2_pool1_relu_bwd", layers, &step);
        const ConvShape sh = conv2_shape(n);
        std::vector<Var> w = gv;
        w.push_back(ws.var);
        g.add("conv2_bwd_w", {a.p1.var, da2.var}, w, [k, sh, p1 = a.p1, da2, G, ws] {
            k->conv2d_backward_weights(sh, p1.f(), da2.f(), at(G, 2), at(G, 3), ws.f());
        });
        g.add("conv2_bwd_x", {da2.var, W.var}, {dp1.var, ws.var}, [k, sh, da2, W, dp1, ws] {
            k->conv2d_backward_data(sh, da2.f(), at(W, 2), dp1.f(), ws.f());
        });
        da1 = make_tensor(e, *m.device, {n, 20, 26, 26});
        g.add("pool1_relu_bwd", {dp1.var, a.a1.var}, {da1.var}, [k, n, dp1, a1 = a.a1, da1] {
            k->avgpool2_relu_backward(n, 20, 26, 26, dp1.f(), a1.f(), da1.f());
        });
        g.push();
    }
    {
        OpGroup g(e, m, "conv1_bwd_w", layers, &step);
        const ConvShape sh = conv1_shape(n);
        std::vector<Var> w = gv;
        w.push_back(ws.var);
        g.add("conv1_bwd_w", {x.var, da1.var}, w, [k, sh, x, da1, G, ws] {
            k->conv2d_backward_weights(sh, x.f(), da1.f(), at(G, 0), at(G, 1), ws.f());
        });
        g.push();
    }
    step.push();
    return loss;
}

void push_zero_grads(Engine& e, DeviceModel& m)
{
    const Kernels* k = m.kernels;
    push_op(e, m, "zero_grads", {}, m.grad_vars(), [k, G = m.grads] {
        k->fill(G.numel(), 0.0f, G.f());
    });
}

Tensor push_evaluate(Engine& e, DeviceModel& m, const Tensor& x, const Tensor& labels, int n)
{
    const Kernels* k = m.kernels;
    const Kernels::Fusion fusion = k->fusion();
    OpGroup step(e, m, "forward_count_correct", fusion == Kernels::Fusion::Step);
    OpGroup last(e, m, "dense4_fwd_count_correct", fusion == Kernels::Fusion::Layers, &step);
    Activations a = push_forward(e, m, x, n, &step, last);
    Tensor correct = make_tensor(e, *m.device, {1});
    last.add("count_correct", {a.logits.var, labels.var}, {correct.var}, [k, n, lg = a.logits, labels, correct] {
        k->count_correct(n, 10, lg.f(), labels.i32(), correct.f());
    });
    last.push();
    step.push();
    return correct;
}

void push_sgd(Engine& e, DeviceModel& m, float lr, int64_t batch_size)
{
    const Kernels* k = m.kernels;
    const float scale = lr / static_cast<float>(batch_size);
    // A unit of its own where the table fuses calls: on a GPU, a graph of one kernel.
    OpGroup g(e, m, "sgd", k->fusion() != Kernels::Fusion::None);
    g.add("sgd", m.grad_vars(), {m.params.var}, [k, scale, W = m.params, G = m.grads] {
        k->sgd_update(W.numel(), scale, G.f(), W.f());
    });
    g.push();
}

} // namespace gpulab
