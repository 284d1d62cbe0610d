// Backend verification against the CPU reference. Each check builds its inputs from a
// seed, runs the same thing on the backend and on the reference, and reports the worst
// difference; an exception inside a check fails that check (with its message), not the run.
#include "verify/verify.h"

#include "data/fashion_mnist.h"
#include "data/synthetic.h"
#include "device/device_factory.h"
#include "kernels/kernels.h"
#include "model/lenet.h"
#include "trace/event_stream.h"
#include "train/trainer.h"

#ifdef GPULAB_HAVE_NCCL
#include "comm/nccl_allreduce.h"
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>

namespace gpulab {

namespace {

constexpr float kStale = 123.5f; // left in outputs a kernel must overwrite

// ---- host data ----------------------------------------------------------------------------

std::vector<float> random_floats(std::mt19937& rng, int64_t count, float lo = -1.0f, float hi = 1.0f)
{
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(static_cast<size_t>(std::max<int64_t>(count, 0)));
    for (float& x : v)
        x = dist(rng);
    return v;
}

std::vector<int32_t> random_labels(std::mt19937& rng, int n, int classes)
{
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (auto& l : v)
        l = static_cast<int32_t>(rng() % static_cast<unsigned>(classes));
    return v;
}

// ---- device data --------------------------------------------------------------------------

struct DevVec {
    std::shared_ptr<Buffer> buf;
    int64_t count = 0;
    float* f() const { return static_cast<float*>(buf->data()); }
    int32_t* i() const { return static_cast<int32_t*>(buf->data()); }
};

template <class T>
DevVec to_device(Device& d, const std::vector<T>& host)
{
    static_assert(sizeof(T) == 4);
    DevVec v;
    v.count = static_cast<int64_t>(host.size());
    v.buf = d.allocate(std::max<int64_t>(4, v.count * 4));
    if (v.count > 0)
        d.upload(v.buf->data(), host.data(), v.count * 4);
    return v;
}

DevVec stale(Device& d, int64_t count)
{
    return to_device(d, std::vector<float>(static_cast<size_t>(count), kStale));
}

std::vector<float> from_device(Device& d, const DevVec& v)
{
    std::vector<float> host(static_cast<size_t>(v.count));
    d.download(host.data(), v.buf->data(), v.count * 4);
    return host;
}

// ---- combining results ----------------------------------------------------------------------

VerifyCheck merge(VerifyCheck a, const VerifyCheck& b, const char* a_name, const char* b_name)
{
    VerifyCheck m = a;
    m.ok = a.ok && b.ok;
    m.worst = std::max(a.worst, b.worst);
    m.values = a.values + b.values;
    m.tol = std::max(a.tol, b.tol);
    m.eps = std::max(a.eps, b.eps);
    m.note.clear();
    if (!a.note.empty() && !a.ok)
        m.note += std::string(a_name) + ": " + a.note;
    if (!b.note.empty() && !b.ok)
        m.note += (m.note.empty() ? "" : "; ") + std::string(b_name) + ": " + b.note;
    return m;
}

class Checks {
public:
    Checks(std::string backend, std::string group) : m_backend(std::move(backend)), m_group(std::move(group)) {}

    void run(const std::string& name, const std::function<VerifyCheck()>& body)
    {
        VerifyCheck c;
        try {
            c = body();
        } catch (const std::exception& e) {
            c = VerifyCheck{};
            c.ok = false;
            c.note = std::string("threw: ") + e.what();
        }
        c.backend = m_backend;
        c.group = m_group;
        c.name = name;
        m_out.push_back(std::move(c));
    }
    std::vector<VerifyCheck> take() { return std::move(m_out); }

private:
    std::string m_backend, m_group;
    std::vector<VerifyCheck> m_out;
};

std::string backend_of(const Device& d)
{
    return d.kind() == DeviceKind::Cuda ? "cuda" : "cpu";
}

std::string conv_name(const char* op, const ConvShape& sh)
{
    return std::string(op) + " x(" + std::to_string(sh.n) + "," + std::to_string(sh.c) + "," + std::to_string(sh.h)
           + "," + std::to_string(sh.w) + ") w(" + std::to_string(sh.k) + "," + std::to_string(sh.c) + ","
           + std::to_string(sh.r) + "," + std::to_string(sh.s) + ")";
}

// Tolerances. Sums of hundreds of products (convolutions, dense layers) may round
// differently from the reference (other summation order, FMA); elementwise ops should not.
constexpr double kSumTol = 2e-4, kSumEps = 2e-4;
constexpr double kElemTol = 1e-6, kElemEps = 1e-6;

} // namespace

// ---- comparison ---------------------------------------------------------------------------------

VerifyCheck compare_values(const std::vector<float>& got, const std::vector<float>& ref, double tol, double eps)
{
    VerifyCheck c;
    c.tol = tol;
    c.eps = eps;
    c.values = static_cast<int64_t>(got.size());
    if (got.size() != ref.size()) {
        c.ok = false;
        c.note = std::to_string(got.size()) + " values, expected " + std::to_string(ref.size());
        return c;
    }
    int64_t bad = 0;
    size_t worst_at = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double diff = std::fabs(double(got[i]) - double(ref[i]));
        if (!(diff <= tol + eps * std::fabs(double(ref[i])))) // NaN fails too
            ++bad;
        if (!(diff <= c.worst)) {
            c.worst = std::isnan(diff) ? INFINITY : diff;
            worst_at = i;
        }
    }
    c.ok = bad == 0;
    if (!c.ok)
        c.note = std::to_string(bad) + " of " + std::to_string(got.size()) + " outside; worst at [" + std::to_string(worst_at)
                 + "]: got " + std::to_string(got[worst_at]) + ", reference " + std::to_string(ref[worst_at]);
    return c;
}

// ---- kernels --------------------------------------------------------------------------------------

std::vector<VerifyCheck> verify_kernels(Device& dev, uint64_t seed)
{
    const Kernels& K = kernels_for(dev);
    const Kernels& R = cpu_reference_kernels();
    Checks checks(backend_of(dev), "kernels");
    std::mt19937 rng(static_cast<unsigned>(seed));

    // ---- convolution ----
    const ConvShape conv_shapes[] = {
        {3, 1, 28, 28, 20, 3, 3},  // LeNet conv1
        {3, 20, 13, 13, 50, 5, 5}, // LeNet conv2
        {2, 3, 7, 9, 4, 3, 2},     // odd sizes, non-square filter
    };
    for (const ConvShape& sh : conv_shapes) {
        const int64_t nx = int64_t(sh.n) * sh.c * sh.h * sh.w, nw = int64_t(sh.k) * sh.c * sh.r * sh.s,
                      ny = int64_t(sh.n) * sh.k * sh.oh() * sh.ow();
        const auto x = random_floats(rng, nx), w = random_floats(rng, nw, -0.5f, 0.5f), b = random_floats(rng, sh.k),
                   dy = random_floats(rng, ny);
        std::vector<float> hws(static_cast<size_t>(std::max<int64_t>(1, R.conv_workspace_bytes(sh) / 4)));
        std::vector<float> y_ref(static_cast<size_t>(ny)), dx_ref(static_cast<size_t>(nx)),
            dw_ref(static_cast<size_t>(nw)), db_ref(static_cast<size_t>(sh.k));
        R.conv2d_forward(sh, x.data(), w.data(), b.data(), y_ref.data(), hws.data());
        R.conv2d_backward_data(sh, dy.data(), w.data(), dx_ref.data(), hws.data());
        R.conv2d_backward_weights(sh, x.data(), dy.data(), dw_ref.data(), db_ref.data(), hws.data());
        std::vector<float> y_relu_ref(static_cast<size_t>(ny)); // the fused op: relu(conv(x) + b)
        R.relu_forward(ny, y_ref.data(), y_relu_ref.data());

        auto ws = [&] { return dev.allocate(std::max<int64_t>(4, K.conv_workspace_bytes(sh))); };
        checks.run(conv_name("conv2d_forward", sh), [&] {
            DevVec X = to_device(dev, x), W = to_device(dev, w), B = to_device(dev, b), Y = stale(dev, ny);
            auto WS = ws();
            K.conv2d_forward(sh, X.f(), W.f(), B.f(), Y.f(), static_cast<float*>(WS->data()));
            return compare_values(from_device(dev, Y), y_ref, kSumTol, kSumEps);
        });
        checks.run(conv_name("conv2d_relu_forward", sh), [&] {
            DevVec X = to_device(dev, x), W = to_device(dev, w), B = to_device(dev, b), Y = stale(dev, ny);
            auto WS = ws();
            K.conv2d_relu_forward(sh, X.f(), W.f(), B.f(), Y.f(), static_cast<float*>(WS->data()));
            return compare_values(from_device(dev, Y), y_relu_ref, kSumTol, kSumEps);
        });
        checks.run(conv_name("conv2d_backward_data", sh), [&] {
            DevVec DY = to_device(dev, dy), W = to_device(dev, w), DX = stale(dev, nx);
            auto WS = ws();
            K.conv2d_backward_data(sh, DY.f(), W.f(), DX.f(), static_cast<float*>(WS->data()));
            return compare_values(from_device(dev, DX), dx_ref, kSumTol, kSumEps);
        });
        checks.run(conv_name("conv2d_backward_weights", sh), [&] {
            DevVec X = to_device(dev, x), DY = to_device(dev, dy), DW = stale(dev, nw), DB = stale(dev, sh.k);
            auto WS = ws();
            K.conv2d_backward_weights(sh, X.f(), DY.f(), DW.f(), DB.f(), static_cast<float*>(WS->data()));
            return merge(compare_values(from_device(dev, DW), dw_ref, kSumTol, kSumEps),
                         compare_values(from_device(dev, DB), db_ref, kSumTol, kSumEps), "dw", "db");
        });
    }
    {
        const ConvShape sh{0, 20, 13, 13, 50, 5, 5}; // a device with an empty shard
        checks.run(conv_name("conv2d_backward_weights", sh) + " (empty batch: zeros)", [&] {
            const int64_t nw = int64_t(sh.k) * sh.c * sh.r * sh.s;
            DevVec X = stale(dev, 1), DY = stale(dev, 1), DW = stale(dev, nw), DB = stale(dev, sh.k);
            auto WS = dev.allocate(std::max<int64_t>(4, K.conv_workspace_bytes(sh)));
            K.conv2d_backward_weights(sh, X.f(), DY.f(), DW.f(), DB.f(), static_cast<float*>(WS->data()));
            return merge(compare_values(from_device(dev, DW), std::vector<float>(size_t(nw), 0.0f), 0, 0),
                         compare_values(from_device(dev, DB), std::vector<float>(size_t(sh.k), 0.0f), 0, 0), "dw",
                         "db");
        });
    }

    // ---- pooling ----
    const int pool_shapes[][4] = {{2, 20, 26, 26}, {2, 3, 9, 9}, {1, 2, 5, 8}};
    for (const auto& ps : pool_shapes) {
        const int n = ps[0], c = ps[1], h = ps[2], w = ps[3];
        const int64_t nx = int64_t(n) * c * h * w, ny = int64_t(n) * c * (h / 2) * (w / 2);
        const auto x = random_floats(rng, nx), dy = random_floats(rng, ny);
        std::vector<float> y_ref(size_t(ny), 0.0f), dx_ref(size_t(nx), 0.0f);
        R.avgpool2_forward(n, c, h, w, x.data(), y_ref.data());
        R.avgpool2_backward(n, c, h, w, dy.data(), dx_ref.data());
        // The fused backward through ReLU then pooling: y is the ReLU's output (the pool's
        // input), zero where x <= 0; the reference composes the two ops.
        std::vector<float> relu_y(static_cast<size_t>(nx)), dx_relu_ref(static_cast<size_t>(nx));
        R.relu_forward(nx, x.data(), relu_y.data());
        R.relu_backward(nx, relu_y.data(), dx_ref.data(), dx_relu_ref.data());
        const std::string shape = " (" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + ","
                                  + std::to_string(w) + ")";
        checks.run("avgpool2_forward" + shape, [&] {
            DevVec X = to_device(dev, x), Y = stale(dev, ny);
            K.avgpool2_forward(n, c, h, w, X.f(), Y.f());
            return compare_values(from_device(dev, Y), y_ref, kElemTol, kElemEps);
        });
        checks.run("avgpool2_backward" + shape, [&] {
            DevVec DY = to_device(dev, dy), DX = stale(dev, nx);
            K.avgpool2_backward(n, c, h, w, DY.f(), DX.f());
            return compare_values(from_device(dev, DX), dx_ref, kElemTol, kElemEps);
        });
        checks.run("avgpool2_relu_backward" + shape, [&] {
            DevVec DY = to_device(dev, dy), Y = to_device(dev, relu_y), DX = stale(dev, nx);
            K.avgpool2_relu_backward(n, c, h, w, DY.f(), Y.f(), DX.f());
            return compare_values(from_device(dev, DX), dx_relu_ref, kElemTol, kElemEps);
        });
    }

    // ---- ReLU (the trainer runs both in place) ----
    {
        const int64_t count = 40007;
        auto x = random_floats(rng, count);
        for (int64_t i = 0; i < count; i += 7)
            x[size_t(i)] = 0.0f; // the boundary itself
        const auto dy = random_floats(rng, count);
        std::vector<float> y_ref(static_cast<size_t>(count)), dx_ref(static_cast<size_t>(count));
        R.relu_forward(count, x.data(), y_ref.data());
        R.relu_backward(count, y_ref.data(), dy.data(), dx_ref.data());
        checks.run("relu_forward", [&] {
            DevVec X = to_device(dev, x), Y = stale(dev, count);
            K.relu_forward(count, X.f(), Y.f());
            return compare_values(from_device(dev, Y), y_ref, 0, 0);
        });
        checks.run("relu_forward in place", [&] {
            DevVec X = to_device(dev, x);
            K.relu_forward(count, X.f(), X.f());
            return compare_values(from_device(dev, X), y_ref, 0, 0);
        });
        checks.run("relu_backward", [&] {
            DevVec Y = to_device(dev, y_ref), DY = to_device(dev, dy), DX = stale(dev, count);
            K.relu_backward(count, Y.f(), DY.f(), DX.f());
            return compare_values(from_device(dev, DX), dx_ref, 0, 0);
        });
        checks.run("relu_backward in place", [&] {
            DevVec Y = to_device(dev, y_ref), DY = to_device(dev, dy);
            K.relu_backward(count, Y.f(), DY.f(), DY.f());
            return compare_values(from_device(dev, DY), dx_ref, 0, 0);
        });
    }

    // ---- gather (a minibatch taken from a dataset on the device) ----
    checks.run("gather_rows (images and labels)", [&] {
        const int rows = 300, n = 67;
        const auto images = random_floats(rng, int64_t(rows) * 784);
        const auto labels = random_labels(rng, rows, 10);
        std::vector<int32_t> index(static_cast<size_t>(n));
        std::uniform_int_distribution<int32_t> pick(0, rows - 1);
        for (auto& i : index)
            i = pick(rng);
        index[0] = rows - 1; // the last row, and a row twice
        index[1] = index[2];
        std::vector<float> x_ref(size_t(n) * 784);
        std::vector<int32_t> y_ref(static_cast<size_t>(n));
        R.gather_rows(n, 784 * 4, index.data(), rows, images.data(), x_ref.data());
        R.gather_rows(n, 4, index.data(), rows, labels.data(), y_ref.data());
        DevVec I = to_device(dev, index), X = to_device(dev, images), Y = to_device(dev, labels),
               XO = stale(dev, int64_t(n) * 784), YO = stale(dev, n);
        K.gather_rows(n, 784 * 4, I.i(), rows, X.f(), XO.f());
        K.gather_rows(n, 4, I.i(), rows, Y.i(), YO.i());
        const std::vector<float> y_got = from_device(dev, YO);
        std::vector<float> y_got_as_labels(y_got.size()), y_ref_as_floats(y_ref.size());
        for (size_t i = 0; i < y_got.size(); ++i) { // compare the label bits as values
            int32_t v;
            std::memcpy(&v, &y_got[i], 4);
            y_got_as_labels[i] = float(v);
            y_ref_as_floats[i] = float(y_ref[i]);
        }
        return merge(compare_values(from_device(dev, XO), x_ref, 0, 0),
                     compare_values(y_got_as_labels, y_ref_as_floats, 0, 0), "images", "labels");
    });

    // ---- dense ----
    const int dense_shapes[][3] = {{5, 800, 128}, {7, 128, 10}, {0, 128, 10}};
    for (const auto& ds : dense_shapes) {
        const int n = ds[0], in = ds[1], out = ds[2];
        const auto x = random_floats(rng, int64_t(n) * in), w = random_floats(rng, int64_t(in) * out, -0.2f, 0.2f),
                   b = random_floats(rng, out), dy = random_floats(rng, int64_t(n) * out);
        std::vector<float> y_ref(size_t(n) * out), dx_ref(size_t(n) * in), dw_ref(size_t(in) * out), db_ref(static_cast<size_t>(out));
        R.dense_forward(n, in, out, x.data(), w.data(), b.data(), y_ref.data());
        R.dense_backward(n, in, out, x.data(), w.data(), dy.data(), dx_ref.data(), dw_ref.data(), db_ref.data());
        const std::string shape = " (" + std::to_string(n) + "," + std::to_string(in) + ")x(" + std::to_string(in) + ","
                                  + std::to_string(out) + ")";
        checks.run("dense_forward" + shape, [&] {
            DevVec X = to_device(dev, x), W = to_device(dev, w), B = to_device(dev, b), Y = stale(dev, int64_t(n) * out);
            K.dense_forward(n, in, out, X.f(), W.f(), B.f(), Y.f());
            return compare_values(from_device(dev, Y), y_ref, kSumTol, kSumEps);
        });
        checks.run("dense_backward" + shape, [&] {
            DevVec X = to_device(dev, x), W = to_device(dev, w), DY = to_device(dev, dy), DX = stale(dev, int64_t(n) * in),
                   DW = stale(dev, int64_t(in) * out), DB = stale(dev, out);
            K.dense_backward(n, in, out, X.f(), W.f(), DY.f(), DX.f(), DW.f(), DB.f());
            return merge(merge(compare_values(from_device(dev, DX), dx_ref, kSumTol, kSumEps),
                               compare_values(from_device(dev, DW), dw_ref, kSumTol, kSumEps), "dx", "dw"),
                         compare_values(from_device(dev, DB), db_ref, kSumTol, kSumEps), "dx/dw", "db");
        });
        checks.run("dense_backward" + shape + " without dx", [&] {
            DevVec X = to_device(dev, x), W = to_device(dev, w), DY = to_device(dev, dy),
                   DW = stale(dev, int64_t(in) * out), DB = stale(dev, out);
            K.dense_backward(n, in, out, X.f(), W.f(), DY.f(), nullptr, DW.f(), DB.f());
            return merge(compare_values(from_device(dev, DW), dw_ref, kSumTol, kSumEps),
                         compare_values(from_device(dev, DB), db_ref, kSumTol, kSumEps), "dw", "db");
        });
    }

    // ---- loss ----
    for (const int n : {9, 300}) {
        const int classes = 10;
        const auto logits = random_floats(rng, int64_t(n) * classes, -4.0f, 4.0f);
        const auto labels = random_labels(rng, n, classes);
        std::vector<float> loss_ref(1), dl_ref(static_cast<size_t>(n) * classes);
        R.softmax_xent(n, classes, logits.data(), labels.data(), loss_ref.data(), dl_ref.data());
        const std::string shape = " (" + std::to_string(n) + "," + std::to_string(classes) + ")";
        checks.run("softmax_xent" + shape, [&] {
            DevVec L = to_device(dev, logits), Y = to_device(dev, labels), LOSS = stale(dev, 1),
                   DL = stale(dev, int64_t(n) * classes);
            K.softmax_xent(n, classes, L.f(), Y.i(), LOSS.f(), DL.f());
            return merge(compare_values(from_device(dev, LOSS), loss_ref, 1e-5, 1e-5),
                         compare_values(from_device(dev, DL), dl_ref, kElemTol, 1e-5), "loss", "dlogits");
        });
        checks.run("softmax_xent" + shape + " without dlogits", [&] {
            DevVec L = to_device(dev, logits), Y = to_device(dev, labels), LOSS = stale(dev, 1);
            K.softmax_xent(n, classes, L.f(), Y.i(), LOSS.f(), nullptr);
            return compare_values(from_device(dev, LOSS), loss_ref, 1e-5, 1e-5);
        });
        checks.run("count_correct" + shape, [&] {
            auto lab = labels;
            for (int i = 0; i < n; i += 2) { // every other row labelled with its argmax
                const float* row = logits.data() + size_t(i) * classes;
                lab[size_t(i)] = int32_t(std::max_element(row, row + classes) - row);
            }
            std::vector<float> ref(1);
            R.count_correct(n, classes, logits.data(), lab.data(), ref.data());
            DevVec L = to_device(dev, logits), Y = to_device(dev, lab), C = stale(dev, 1);
            K.count_correct(n, classes, L.f(), Y.i(), C.f());
            return compare_values(from_device(dev, C), ref, 0, 0);
        });
    }
    checks.run("softmax_xent with a label out of range", [&] {
        const int n = 9, classes = 10;
        const auto logits = random_floats(rng, int64_t(n) * classes);
        auto labels = random_labels(rng, n, classes);
        labels[4] = 10;
        VerifyCheck c;
        {
            DevVec L = to_device(dev, logits), Y = to_device(dev, labels), LOSS = stale(dev, 1),
                   DL = stale(dev, int64_t(n) * classes);
            try {
                K.softmax_xent(n, classes, L.f(), Y.i(), LOSS.f(), DL.f());
                dev.synchronize(); // a GPU reports it here
                c.note = "no error reported";
            } catch (const std::out_of_range& e) {
                c.ok = true;
                c.note = e.what();
            }
        }
        // The device must work normally afterwards.
        labels[4] = 3;
        std::vector<float> ref(1);
        R.softmax_xent(n, classes, logits.data(), labels.data(), ref.data(), nullptr);
        DevVec L = to_device(dev, logits), Y = to_device(dev, labels), LOSS = stale(dev, 1);
        K.softmax_xent(n, classes, L.f(), Y.i(), LOSS.f(), nullptr);
        VerifyCheck after = compare_values(from_device(dev, LOSS), ref, 1e-5, 1e-5);
        const std::string note = c.note;
        c = merge(c, after, "error", "after");
        if (c.ok)
            c.note = note;
        return c;
    });

    // ---- elementwise ----
    {
        const int64_t count = 100003;
        const auto a = random_floats(rng, count), y = random_floats(rng, count);
        checks.run("sgd_update", [&] {
            std::vector<float> ref = y;
            R.sgd_update(count, 0.05f, a.data(), ref.data());
            DevVec A = to_device(dev, a), Y = to_device(dev, y);
            K.sgd_update(count, 0.05f, A.f(), Y.f());
            return compare_values(from_device(dev, Y), ref, kElemTol, kElemEps);
        });
        checks.run("add", [&] {
            std::vector<float> ref = y;
            R.add(count, a.data(), ref.data());
            DevVec A = to_device(dev, a), Y = to_device(dev, y);
            K.add(count, A.f(), Y.f());
            return compare_values(from_device(dev, Y), ref, 0, 0);
        });
        checks.run("copy", [&] {
            DevVec A = to_device(dev, a), Y = stale(dev, count);
            K.copy(count, A.f(), Y.f());
            return compare_values(from_device(dev, Y), a, 0, 0);
        });
        checks.run("fill", [&] {
            DevVec Y = stale(dev, count);
            K.fill(count, 0.25f, Y.f());
            return compare_values(from_device(dev, Y), std::vector<float>(size_t(count), 0.25f), 0, 0);
        });
    }
    return checks.take();
}

// ---- transfers --------------------------------------------------------------------------------------

std::vector<VerifyCheck> verify_transfers(const std::vector<Device*>& devices, uint64_t seed)
{
    Checks checks(devices.empty() ? "?" : backend_of(*devices.front()), "transfers");
    std::mt19937 rng(static_cast<unsigned>(seed) + 17);
    const int64_t count = 1 << 20; // 4 MiB: long enough that a missing wait would show
    for (Device* d : devices)
        checks.run("upload/download " + d->name(), [&] {
            const auto v = random_floats(rng, count);
            DevVec D = to_device(*d, v);
            return compare_values(from_device(*d, D), v, 0, 0);
        });
    for (Device* src : devices)
        for (Device* dst : devices)
            checks.run("copy_from " + src->name() + " -> " + dst->name(), [&] {
                const auto v = random_floats(rng, count);
                DevVec S = to_device(*src, v); // queued on src; the copy must wait for it
                DevVec D = stale(*dst, count);
                dst->copy_from(D.f(), *src, S.f(), count * 4);
                // Overwrite the source at once: the copy must have read it first.
                S.buf.reset();
                DevVec junk = stale(*src, count);
                return compare_values(from_device(*dst, D), v, 0, 0);
            });
    return checks.take();
}

// ---- memory ------------------------------------------------------------------------------------------

std::vector<VerifyCheck> verify_memory(DeviceKind kind)
{
    Checks checks(kind == DeviceKind::Cuda ? "cuda" : "cpu", "memory");
    checks.run("accounting, reuse and out of memory", [&] {
        EventStream trace;
        const int64_t budget = int64_t(64) << 20;
        auto devs = make_devices(kind, 1, budget, 1, &trace);
        Device& d = *devs.front();
        VerifyCheck c;
        std::string bad;
        {
            auto a = d.allocate(int64_t(8) << 20);
            auto b = d.allocate(int64_t(4) << 20);
            if (d.bytes_in_use() != (int64_t(12) << 20))
                bad += "in use " + std::to_string(d.bytes_in_use()) + " after 12 MiB; ";
            if (d.bytes_reserved() < d.bytes_in_use())
                bad += "reserved below in use; ";
        }
        const int64_t reserved = d.bytes_reserved();
        if (d.bytes_in_use() != 0)
            bad += "in use " + std::to_string(d.bytes_in_use()) + " after every release; ";
        {
            auto again = d.allocate(int64_t(8) << 20);
            if (d.bytes_reserved() > std::max<int64_t>(reserved, int64_t(8) << 20))
                bad += "a freed block was not reused (reserved " + std::to_string(d.bytes_reserved()) + "); ";
        }
        // Freed blocks of sizes no later request reuses: the cache gives them back rather
        // than hold more than the budget (plus rounding of the blocks in use).
        for (const int64_t mib : {16, 24, 40, 56}) {
            auto block = d.allocate(mib << 20);
        }
        if (d.bytes_reserved() > budget + (int64_t(1) << 20))
            bad += "the cache holds " + std::to_string(d.bytes_reserved()) + " bytes, more than the budget; ";
        bool oom = false;
        try {
            auto too_big = d.allocate(budget + 1);
        } catch (const OutOfMemory&) {
            oom = true;
        }
        if (!oom)
            bad += "no OutOfMemory past the budget; ";
        int oom_events = 0;
        for (const Event& e : trace.all())
            oom_events += e.is<ev::MemOom>();
        if (oom_events != 1)
            bad += std::to_string(oom_events) + " MemOom events (expected 1); ";
        {
            auto after = d.allocate(int64_t(1) << 20); // still usable
            std::vector<float> v(256, 1.5f), back(256);
            d.upload(after->data(), v.data(), 1024);
            d.download(back.data(), after->data(), 1024);
            if (back != v)
                bad += "the device does not work after the out-of-memory; ";
        }
        if (d.bytes_in_use() != 0)
            bad += "bytes still in use at the end; ";
        c.ok = bad.empty();
        c.note = bad.empty() ? "reserved " + format_bytes(reserved) + " for 12 MiB in use" : bad;
        return c;
    });
    return checks.take();
}

// ---- allreduce --------------------------------------------------------------------------------------

VerifyCheck verify_allreduce(const std::vector<Device*>& devices, AllreduceKind kind, EngineKind engine_kind,
                             int64_t count, uint64_t seed)
{
    Checks checks(devices.empty() ? "?" : backend_of(*devices.front()), "allreduce");
    const int n = static_cast<int>(devices.size());
    const std::string name = std::string(allreduce_name(kind)) + " over " + std::to_string(n) + " devices, "
                             + engine_kind_name(engine_kind) + " engine";
    checks.run(name, [&] {
        std::mt19937 rng(static_cast<unsigned>(seed) + 31 * n + int(kind));
        std::vector<std::vector<float>> parts;
        std::vector<int64_t> in_use_before;
        for (int d = 0; d < n; ++d) {
            parts.push_back(random_floats(rng, count));
            in_use_before.push_back(devices[size_t(d)]->bytes_in_use());
        }
        const std::vector<float> ref = reference_allreduce(parts);
        EventStream trace;
        std::vector<std::vector<float>> got(static_cast<size_t>(n));
        {
            auto eng = make_engine(engine_kind, n, &trace);
            std::vector<Tensor> whole;
            std::vector<std::vector<Tensor>> bufs;
            const int chunks = kind == AllreduceKind::Ring ? n : 1;
            for (int d = 0; d < n; ++d) {
                Device& dev = *devices[size_t(d)];
                if (dev.index() != d)
                    throw std::invalid_argument("verify_allreduce: device " + dev.name() + " is not at index "
                                                + std::to_string(d));
                Tensor t = make_tensor(*eng, dev, {count});
                dev.upload(t.f(), parts[size_t(d)].data(), count * 4);
                whole.push_back(t);
                bufs.push_back(split_chunks(*eng, t, chunks));
            }
            AllreduceContext ctx;
            ctx.engine = eng.get();
            ctx.trace = &trace;
#ifdef GPULAB_HAVE_NCCL
            if (kind == AllreduceKind::Nccl && n == 1) // exercise NCCL even on one GPU
                push_nccl_allreduce(ctx, bufs);
            else
#endif
                push_allreduce(kind, ctx, bufs);
            eng->wait_all();
            for (int d = 0; d < n; ++d) {
                got[size_t(d)].resize(size_t(count));
                devices[size_t(d)]->download(got[size_t(d)].data(), whole[size_t(d)].f(), count * 4);
            }
        }
        VerifyCheck c;
        for (int d = 0; d < n; ++d) {
            VerifyCheck one = compare_values(got[size_t(d)], ref, 1e-5, 1e-5);
            c = d == 0 ? one : merge(c, one, "", ("device " + std::to_string(d)).c_str());
        }
        std::string extra;
        for (int d = 1; d < n; ++d)
            if (std::memcmp(got[size_t(d)].data(), got[0].data(), size_t(count) * 4) != 0)
                extra += "device " + std::to_string(d) + "'s copy differs from device 0's; ";
        int steps = 0;
        bool times_ok = true;
        for (const Event& e : trace.all())
            if (const auto* step = e.get<ev::AllreduceStep>()) {
                ++steps;
                times_ok &= step->t_end_us >= e.t_us && e.t_us >= 0;
            }
        int expected = allreduce_steps(kind, n) * (kind == AllreduceKind::Ring ? n : 1);
        if (kind == AllreduceKind::Nccl)
            expected = n; // one event per device
        if (steps != expected)
            extra += std::to_string(steps) + " step events, expected " + std::to_string(expected) + "; ";
        if (!times_ok)
            extra += "a step event ends before it starts; ";
        for (int d = 0; d < n; ++d)
            if (devices[size_t(d)]->bytes_in_use() != in_use_before[size_t(d)])
                extra += devices[size_t(d)]->name() + " did not get its memory back; ";
        if (!extra.empty()) {
            c.ok = false;
            c.note += (c.note.empty() ? "" : "; ") + extra;
        } else if (c.ok) {
            c.note = std::to_string(steps) + " step events";
        }
        return c;
    });
    return checks.take().front();
}

// ---- training -----------------------------------------------------------------------------------------

FashionMnist verify_dataset(uint64_t seed)
{
    return make_synthetic_dataset(768, 256, seed);
}

TrainConfig verify_train_config(Backend backend, int devices, AllreduceKind kind)
{
    // A run that learns: 576 SGD steps on 768 images take the loss from ln 10 = 2.30 to
    // below 0.1 on the CPU, on 1, 2, 3, 4, 5 or 8 devices (measured).
    TrainConfig c;
    c.backend = backend;
    c.devices = devices;
    c.batch_size = 8;
    c.lr = 0.2;
    c.epochs = 6;
    c.mode = ExecMode::Sync;
    c.allreduce = kind;
    c.seed = 1;
    c.engine = EngineKind::Threaded;
    return c;
}

namespace {

// How far each parameter moved in run a and in the reference b (final minus initial), per
// parameter tensor: ||da - db|| / ||db||, the worst one named. A tensor the reference did
// not move at all is a failure: that layer did not train.
struct ChangeDiff {
    double worst = 0;
    std::string worst_name;
    std::string unmoved; // tensors the reference left as they started
};

ChangeDiff change_diff(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& init)
{
    ChangeDiff d;
    for (const ParamSpec& p : lenet_params()) {
        double num = 0, den = 0;
        for (int64_t i = p.offset; i < p.offset + p.count; ++i) {
            const double da = double(a[size_t(i)]) - init[size_t(i)], db = double(b[size_t(i)]) - init[size_t(i)];
            num += (da - db) * (da - db);
            den += db * db;
        }
        if (den == 0) {
            d.unmoved += (d.unmoved.empty() ? "" : ", ") + p.name;
            continue;
        }
        const double rel = std::isfinite(num) ? std::sqrt(num / den) : INFINITY;
        if (!(rel <= d.worst)) {
            d.worst = rel;
            d.worst_name = p.name;
        }
    }
    return d;
}

} // namespace

VerifyCheck verify_training(const std::string& name, const TrainConfig& cfg, const TrainConfig& reference,
                            const FashionMnist& data, double tol, double eps, double change_rel)
{
    Checks checks(cfg.backend == Backend::Cuda ? "cuda" : "cpu", "training");
    checks.run(name, [&] {
        auto shared = std::make_shared<const FashionMnist>(data);
        // Compared over the first kVerifyCompareEpochs epochs: later, as the loss leaves its
        // plateau, float rounding (another summation order, another kernel) grows into
        // different but equally good runs.
        TrainConfig ca = cfg, cb = reference;
        ca.epochs = cb.epochs = std::min({cfg.epochs, reference.epochs, kVerifyCompareEpochs});
        EventStream t1, t2, t3;
        RunResult a = Trainer(ca, shared, t1).run();
        RunResult b = Trainer(cb, shared, t2).run();
        // The reference run to its end must learn.
        RunResult whole = cb.epochs == reference.epochs ? b : Trainer(reference, shared, t3).run();
        VerifyCheck c;
        if (a.status != RunStatus::Completed || b.status != RunStatus::Completed
            || whole.status != RunStatus::Completed) {
            c.note = "run " + std::string(run_status_name(a.status)) + " (" + a.message + "), reference "
                     + run_status_name(b.status) + " (" + b.message + "), whole reference "
                     + run_status_name(whole.status) + " (" + whole.message + ")";
            return c;
        }
        if (cfg.seed != reference.seed) {
            c.note = "the run and its reference start from different seeds";
            return c;
        }
        const bool exact = tol == 0 && eps == 0;
        std::vector<float> la, lb;
        for (size_t e = 0; e < a.epochs.size() && e < b.epochs.size(); ++e) {
            la.push_back(float(a.epochs[e].train_loss));
            lb.push_back(float(b.epochs[e].train_loss));
        }
        c = compare_values(la, lb, tol, eps);
        c.note.insert(0, c.ok ? "" : "losses: ");
        const std::vector<float> init = lenet_init(reference.seed);
        ChangeDiff worst;
        for (size_t d = 0; d < a.final_params.size(); ++d) {
            if (exact) {
                VerifyCheck p = compare_values(a.final_params[d], b.final_params.at(0), 0, 0);
                c = merge(c, p, "losses", ("params of device " + std::to_string(d)).c_str());
            }
            const ChangeDiff cd = change_diff(a.final_params[d], b.final_params.at(0), init);
            if (!cd.unmoved.empty()) {
                c.ok = false;
                c.note += "; the reference run left " + cd.unmoved + " unchanged";
            }
            if (!(cd.worst <= worst.worst) || d == 0)
                worst = cd;
            if (a.final_params[d] != a.final_params[0]) {
                c.ok = false;
                c.note += "; device " + std::to_string(d) + "'s parameters differ from device 0's";
            }
        }
        if (!exact && !(worst.worst <= change_rel)) {
            c.ok = false;
            char buf[200];
            std::snprintf(buf, sizeof buf, "; %s changed differently: |change - reference's| = %.3g x |reference's change| (allowed %.0e)",
                          worst.worst_name.c_str(), worst.worst, change_rel);
            c.note += buf;
        }
        // The reference must learn: two runs that did not train agree whatever the code does.
        const double chance = std::log(10.0);
        const double learned = whole.epochs.empty() ? chance : whole.epochs.back().train_loss;
        if (!(learned < kVerifyLearnedLoss * chance)) {
            c.ok = false;
            char buf[200];
            std::snprintf(buf, sizeof buf, "; the reference run did not learn: last epoch's loss %.4f, not below %.2f x ln 10",
                          learned, kVerifyLearnedLoss);
            c.note += buf;
        }
        for (size_t e = 0; e < a.epochs.size() && e < b.epochs.size(); ++e)
            if (a.epochs[e].images != b.epochs[e].images) { // a loss read-back went missing
                c.ok = false;
                c.note += "; epoch " + std::to_string(e + 1) + " counted " + std::to_string(a.epochs[e].images)
                          + " images, the reference " + std::to_string(b.epochs[e].images);
            }
        for (size_t d = 0; d < a.bytes_in_use_after.size(); ++d)
            if (a.bytes_in_use_after[d] != 0) {
                c.ok = false;
                c.note += "; device " + std::to_string(d) + " still holds memory after the run";
            }
        if (c.note.rfind("; ", 0) == 0)
            c.note.erase(0, 2);
        if (c.ok) {
            char buf[240];
            const std::string changes = worst.worst == 0 ? std::string("identical parameter changes")
                                                           : "parameter changes within " + [&] {
                                                                 char w[64];
                                                                 std::snprintf(w, sizeof w, "%.2g (%s)", worst.worst,
                                                                               worst.worst_name.c_str());
                                                                 return std::string(w);
                                                             }();
            std::snprintf(buf, sizeof buf, "after %d epochs: loss %.5f vs %.5f, %s; the reference learns to %.4f",
                          ca.epochs, a.epochs.back().train_loss, b.epochs.back().train_loss, changes.c_str(), learned);
            c.note = buf;
        }
        return c;
    });
    return checks.take().front();
}

// ---- everything -------------------------------------------------------------------------------------

int VerifyReport::failures() const
{
    int n = 0;
    for (const auto& c : checks)
        n += !c.ok;
    return n;
}

namespace {

std::vector<Device*> pointers(const std::vector<std::unique_ptr<Device>>& devs, size_t count)
{
    std::vector<Device*> p;
    for (size_t i = 0; i < count && i < devs.size(); ++i)
        p.push_back(devs[i].get());
    return p;
}

} // namespace

VerifyReport run_verify(const VerifyOptions& opt)
{
    VerifyReport report;
    // GPULAB_VERIFY_INJECT_FAILURE=TEXT fails every check whose name contains TEXT: to see
    // (and test) what a failing check does to the report and to gpulab-cli verify's exit code.
    const char* inject = std::getenv("GPULAB_VERIFY_INJECT_FAILURE");
    auto add = [&](VerifyCheck c) {
        if (inject && *inject && c.name.find(inject) != std::string::npos) {
            c.ok = false;
            c.note = "failure injected (GPULAB_VERIFY_INJECT_FAILURE)";
        }
        if (opt.on_check)
            opt.on_check(c);
        report.checks.push_back(std::move(c));
    };
    auto add_all = [&](std::vector<VerifyCheck> cs) {
        for (auto& c : cs)
            add(std::move(c));
    };
    // Training checks compare two complete runs: float rounding apart (other kernels,
    // other summation order) or, where only the engine differs, bit for bit.
    const double train_tol = 1e-5, train_eps = 1e-3;

    if (opt.cpu) {
        {
            auto devs = make_devices(DeviceKind::CpuSim, 3, kDefaultMemoryBudget, 1, nullptr);
            const auto all = pointers(devs, devs.size());
            add_all(verify_kernels(*devs.front(), opt.seed));
            add_all(verify_transfers(all, opt.seed));
            add_all(verify_memory(DeviceKind::CpuSim));
            for (EngineKind e : {EngineKind::Threaded, EngineKind::Sync})
                for (AllreduceKind k : {AllreduceKind::Naive, AllreduceKind::Ring})
                    add(verify_allreduce(all, k, e, 100003, opt.seed));
        }
        const FashionMnist data = verify_dataset();
        auto sync = verify_train_config(Backend::Cpu, 2, AllreduceKind::Naive);
        sync.engine = EngineKind::Sync;
        add(verify_training("2 devices, naive: threaded engine = sync engine",
                            verify_train_config(Backend::Cpu, 2, AllreduceKind::Naive), sync, data, 0, 0));
        add(verify_training("2 devices: ring = naive", verify_train_config(Backend::Cpu, 2, AllreduceKind::Ring),
                            verify_train_config(Backend::Cpu, 2, AllreduceKind::Naive), data, train_tol, train_eps));
        add(verify_training("3 devices = 1 device", verify_train_config(Backend::Cpu, 3, AllreduceKind::Ring),
                            verify_train_config(Backend::Cpu, 1, AllreduceKind::Naive), data, train_tol, train_eps));
    }

    if (opt.cuda) {
        std::string why;
        const CudaVerdict verdict = cuda_verdict(&why);
        if (verdict == CudaVerdict::Skip) {
            report.skipped.push_back("cuda: " + why);
        } else if (verdict == CudaVerdict::Fail) {
            // A GPU that is there but unusable (or GPULAB_REQUIRE_CUDA=1) is a failure.
            VerifyCheck c;
            c.backend = "cuda";
            c.group = "device";
            c.name = "CUDA usable";
            c.note = why;
            add(std::move(c));
        } else {
            const int gpus = cuda_device_count();
            const int n = opt.cuda_devices > 0 ? opt.cuda_devices : std::max(2, gpus);
            {
                auto devs = make_devices(DeviceKind::Cuda, n, kDefaultMemoryBudget, 1, nullptr);
                for (int g = 0; g < std::min(gpus, n); ++g)
                    add_all(verify_kernels(*devs[size_t(g)], opt.seed)); // one per physical GPU
                add_all(verify_transfers(pointers(devs, devs.size()), opt.seed));
                add_all(verify_memory(DeviceKind::Cuda));
                const auto all = pointers(devs, devs.size());
                add(verify_allreduce(all, AllreduceKind::Naive, EngineKind::Threaded, 100003, opt.seed));
                add(verify_allreduce(all, AllreduceKind::Ring, EngineKind::Threaded, 100003, opt.seed));
                add(verify_allreduce(all, AllreduceKind::Naive, EngineKind::Sync, 100003, opt.seed));
                add(verify_allreduce(all, AllreduceKind::Ring, EngineKind::Sync, 100003, opt.seed));
                std::string no_nccl;
                if (nccl_available(&no_nccl))
                    add(verify_allreduce(pointers(devs, size_t(std::min(gpus, n))), AllreduceKind::Nccl,
                                         EngineKind::Threaded, 100003, opt.seed));
                else
                    report.skipped.push_back("cuda nccl: " + no_nccl);
            }
            const FashionMnist data = verify_dataset();
            add(verify_training("1 device = CPU reference", verify_train_config(Backend::Cuda, 1, AllreduceKind::Naive),
                                verify_train_config(Backend::Cpu, 1, AllreduceKind::Naive), data, train_tol, train_eps));
            {
                // The front end runs ahead; losses come back without a wait (download_then);
                // each minibatch is copied from the host through pinned blocks. (The other
                // CUDA runs keep the training set on the device: DataPlacement::Auto.)
                auto bounded = verify_train_config(Backend::Cuda, 1, AllreduceKind::Naive);
                bounded.mode = ExecMode::Bounded;
                bounded.inflight = 2;
                bounded.data = DataPlacement::Host;
                add(verify_training("1 device, bounded (2 in flight), host copies = CPU reference", bounded,
                                    verify_train_config(Backend::Cpu, 1, AllreduceKind::Naive), data, train_tol,
                                    train_eps));
            }
            for (AllreduceKind k : {AllreduceKind::Naive, AllreduceKind::Ring})
                add(verify_training(std::to_string(n) + " devices, " + allreduce_name(k) + " = CPU reference",
                                    verify_train_config(Backend::Cuda, n, k), verify_train_config(Backend::Cpu, n, k),
                                    data, train_tol, train_eps));
            if (nccl_available())
                add(verify_training(std::to_string(gpus) + " device(s), nccl = CPU reference (naive)",
                                    verify_train_config(Backend::Cuda, gpus, AllreduceKind::Nccl),
                                    verify_train_config(Backend::Cpu, gpus, AllreduceKind::Naive), data, train_tol,
                                    train_eps));
        }
    }
    return report;
}

} // namespace gpulab
