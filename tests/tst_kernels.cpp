// tst_kernels: the CPU reference kernels checked against finite differences and naive loops.
// Every other backend is then checked against these (see DESIGN.md, Tests): here the fast
// CPU kernels, op by op, on LeNet's shapes and odd ones. Also the plain arithmetic and logic
// of the CUDA backend that needs no GPU (its pool backward, its peer-access plan).
#include "device/cpu_device.h"
#include "engine/engine.h"
#include "engine/tensor.h"
#include "kernels/cpu_fast_kernels.h"
#include "kernels/cuda_avgpool2.h"
#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_device.h" // peer_pairs_to_enable
#endif
#include "kernels/kernels.h"
#include "model/lenet.h"
#include "trace/event_stream.h"
#include "support/random_values.h"

#include <QObject>
#include <QTest>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <stdexcept>
#include <vector>

using gpulab::ConvShape;
using gpulab::Kernels;

namespace {

const Kernels& cpu() { return gpulab::cpu_reference_kernels(); }

constexpr float kCanary = -777.25f; // written past the end of buffers; must survive
constexpr float kStale = 123.5f;    // left in outputs that a kernel must overwrite

double dot(const std::vector<float>& a, const std::vector<float>& b)
{
    double sum = 0.0;
    for (size_t i = 0; i < a.size(); ++i)
        sum += double(a[i]) * double(b[i]);
    return sum;
}

// |got - ref| <= tol + eps*|ref| for every entry. Prints the worst difference either way.
template <class Got, class Ref>
bool all_close(const char* what, const std::vector<Got>& got, const std::vector<Ref>& ref, double tol, double eps)
{
    if (got.size() != ref.size()) {
        qWarning("%s: %zu values, expected %zu", what, got.size(), ref.size());
        return false;
    }
    double worst = 0.0;
    size_t worst_at = 0;
    size_t failures = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double diff = std::fabs(double(got[i]) - double(ref[i]));
        if (!(diff <= tol + eps * std::fabs(double(ref[i])))) // also catches NaN
            ++failures;
        if (!(diff <= worst)) {
            worst = diff;
            worst_at = i;
        }
    }
    if (got.empty()) {
        qInfo("%s: no values", what);
        return true;
    }
    const auto message = QStringLiteral("%1: worst |a-b| = %2 at [%3] (got %4, ref %5) over %6 values; "
                                        "tol %7 + %8*|ref|; %9 outside")
                             .arg(what)
                             .arg(worst, 0, 'g', 3)
                             .arg(worst_at)
                             .arg(double(got[worst_at]), 0, 'g', 9)
                             .arg(double(ref[worst_at]), 0, 'g', 9)
                             .arg(got.size())
                             .arg(tol, 0, 'g', 2)
                             .arg(eps, 0, 'g', 2)
                             .arg(failures);
    if (failures)
        qWarning("%s", qPrintable(message));
    else
        qInfo("%s", qPrintable(message));
    return failures == 0;
}

// Central differences of loss() with respect to every entry of p. The step actually taken
// is measured in float, so for ops that are linear in p the quotient is exact up to rounding.
std::vector<double> numeric_gradient(std::vector<float>& p, float h, const std::function<double()>& loss)
{
    std::vector<double> grad(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
        const float original = p[i];
        p[i] = original + h;
        const double up_at = p[i];
        const double up = loss();
        p[i] = original - h;
        const double down_at = p[i];
        const double down = loss();
        p[i] = original;
        grad[i] = (up - down) / (up_at - down_at);
    }
    return grad;
}

// A conv workspace of exactly conv_workspace_bytes, followed by canaries.
struct Workspace {
    explicit Workspace(const ConvShape& sh)
        : floats(size_t(cpu().conv_workspace_bytes(sh) / int64_t(sizeof(float)))), data(floats + 16, kCanary)
    {
    }
    float* get() { return data.data(); }
    bool canaries_intact() const
    {
        for (size_t i = floats; i < data.size(); ++i)
            if (data[i] != kCanary)
                return false;
        return true;
    }
    size_t floats;
    std::vector<float> data;
};

// y (n,k,oh,ow) by the definition, in double.
std::vector<double> naive_conv2d(const ConvShape& sh, const std::vector<float>& x, const std::vector<float>& w,
                                 const std::vector<float>& b)
{
    const int oh = sh.oh(), ow = sh.ow();
    std::vector<double> y(size_t(sh.n) * sh.k * oh * ow);
    for (int i = 0; i < sh.n; ++i)
        for (int f = 0; f < sh.k; ++f)
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ++ox) {
                    double sum = b[f];
                    for (int ci = 0; ci < sh.c; ++ci)
                        for (int ri = 0; ri < sh.r; ++ri)
                            for (int si = 0; si < sh.s; ++si)
                                sum += double(x[((size_t(i) * sh.c + ci) * sh.h + oy + ri) * sh.w + ox + si])
                                       * double(w[((size_t(f) * sh.c + ci) * sh.r + ri) * sh.s + si]);
                    y[((size_t(i) * sh.k + f) * oh + oy) * ow + ox] = sum;
                }
    return y;
}

// y (n,out) = x (n,in) . w (in,out) + b, in double.
std::vector<double> naive_dense(int n, int in, int out, const std::vector<float>& x, const std::vector<float>& w,
                                const std::vector<float>& b)
{
    std::vector<double> y(size_t(n) * out);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < out; ++j) {
            double sum = b[j];
            for (int t = 0; t < in; ++t)
                sum += double(x[size_t(i) * in + t]) * double(w[size_t(t) * out + j]);
            y[size_t(i) * out + j] = sum;
        }
    return y;
}

bool conv_forward_matches_naive(const ConvShape& sh, uint32_t seed)
{
    std::mt19937 rng(seed);
    auto x = random_vector(rng, size_t(sh.n) * sh.c * sh.h * sh.w, 0.0f, 1.0f); // pixels
    auto w = random_vector(rng, size_t(sh.k) * sh.c * sh.r * sh.s);
    auto b = random_vector(rng, size_t(sh.k));
    std::vector<float> y(size_t(sh.n) * sh.k * sh.oh() * sh.ow(), kStale);
    Workspace ws(sh);
    cpu().conv2d_forward(sh, x.data(), w.data(), b.data(), y.data(), ws.get());
    const auto what = QStringLiteral("conv2d_forward x(%1,%2,%3,%4) w(%5,%2,%6,%7)")
                          .arg(sh.n).arg(sh.c).arg(sh.h).arg(sh.w).arg(sh.k).arg(sh.r).arg(sh.s);
    if (!ws.canaries_intact()) {
        qWarning("%s wrote past its workspace", qPrintable(what));
        return false;
    }
    return all_close(qPrintable(what), y, naive_conv2d(sh, x, w, b), 1e-4, 1e-5);
}

// ---- fast vs reference ------------------------------------------------------------------

// `bytes` of scratch followed by canaries, for any kernel table.
struct Scratch {
    explicit Scratch(int64_t bytes) : floats(size_t(bytes / int64_t(sizeof(float)))), data(floats + 16, kCanary) {}
    float* get() { return data.data(); }
    bool canaries_intact() const
    {
        for (size_t i = floats; i < data.size(); ++i)
            if (data[i] != kCanary)
                return false;
        return true;
    }
    size_t floats;
    std::vector<float> data;
};

QString conv_name(const char* op, const ConvShape& sh, int threads)
{
    return QStringLiteral("%1 x(%2,%3,%4,%5) w(%6,%3,%7,%8), %9 thread(s)")
        .arg(op).arg(sh.n).arg(sh.c).arg(sh.h).arg(sh.w).arg(sh.k).arg(sh.r).arg(sh.s).arg(threads);
}

// Every convolution op of `fast` against the reference on one shape. dy gets zeros in its
// last output row and column when `zero_tail` (what LeNet's floor pooling gives conv2).
bool conv_fast_matches_reference(const Kernels& fast, int threads, const ConvShape& sh, bool zero_tail,
                                 uint32_t seed)
{
    std::mt19937 rng(seed);
    const int oh = sh.oh(), ow = sh.ow();
    const auto x = random_vector(rng, size_t(sh.n) * sh.c * sh.h * sh.w, 0.0f, 1.0f);
    const auto w = random_vector(rng, size_t(sh.k) * sh.c * sh.r * sh.s, -0.1f, 0.1f);
    const auto b = random_vector(rng, size_t(sh.k));
    auto dy = random_vector(rng, size_t(sh.n) * sh.k * oh * ow);
    if (zero_tail)
        for (size_t plane = 0; plane < size_t(sh.n) * sh.k; ++plane)
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ++ox)
                    if (oy == oh - 1 || ox == ow - 1)
                        dy[(plane * oh + oy) * ow + ox] = 0.0f;
    bool ok = true;
    Scratch rws(cpu().conv_workspace_bytes(sh)), fws(fast.conv_workspace_bytes(sh));

    std::vector<float> y_ref(dy.size(), kStale), y(dy.size() + 1, kStale);
    cpu().conv2d_forward(sh, x.data(), w.data(), b.data(), y_ref.data(), rws.get());
    fast.conv2d_forward(sh, x.data(), w.data(), b.data(), y.data(), fws.get());
    ok &= y.back() == kStale;
    y.pop_back();
    ok &= all_close(qPrintable(conv_name("fast conv2d_forward y", sh, threads)), y, y_ref, 1e-5, 1e-4);

    // Fused with the ReLU: the reference's own composition (conv, then ReLU in place).
    std::vector<float> yr_ref(dy.size(), kStale), yr(dy.size() + 1, kStale);
    cpu().conv2d_relu_forward(sh, x.data(), w.data(), b.data(), yr_ref.data(), rws.get());
    fast.conv2d_relu_forward(sh, x.data(), w.data(), b.data(), yr.data(), fws.get());
    ok &= yr.back() == kStale;
    yr.pop_back();
    ok &= std::all_of(yr.begin(), yr.end(), [](float v) { return v >= 0.0f; });
    ok &= all_close(qPrintable(conv_name("fast conv2d_relu_forward y", sh, threads)), yr, yr_ref, 1e-5, 1e-4);

    // Only a window of the output asked for (LeNet's conv2: the 8 x 8 its floor pool reads):
    // inside it, the reference's values; outside, each pixel 0 or its value, never left stale.
    for (const auto [rows, cols] : {std::pair{oh, ow}, std::pair{std::max(1, oh - 1), std::max(1, ow - 1)},
                                    std::pair{std::max(1, oh / 2), ow}, std::pair{oh, 1}}) {
        std::vector<float> yw(dy.size() + 1, kStale);
        fast.conv2d_relu_forward_window(sh, rows, cols, x.data(), w.data(), b.data(), yw.data(), fws.get());
        ok &= yw.back() == kStale;
        yw.pop_back();
        std::vector<float> inside, inside_ref;
        bool outside_ok = true;
        for (size_t i = 0; i < yw.size(); ++i) {
            const int oy = int(i / size_t(ow)) % oh, ox = int(i % size_t(ow));
            if (oy < rows && ox < cols) {
                inside.push_back(yw[i]);
                inside_ref.push_back(yr_ref[i]);
            } else {
                outside_ok &= yw[i] == 0.0f || std::abs(yw[i] - yr_ref[i]) <= 1e-5 + 1e-4 * std::abs(yr_ref[i]);
            }
        }
        const QString what = conv_name("fast conv2d_relu_forward_window y", sh, threads)
                             + QStringLiteral(", window %1 x %2").arg(rows).arg(cols);
        if (!outside_ok)
            qWarning("%s: a pixel outside the window is neither 0 nor its value", qPrintable(what));
        ok &= outside_ok;
        ok &= all_close(qPrintable(what), inside, inside_ref, 1e-5, 1e-4);
    }

    std::vector<float> dx_ref(x.size(), kStale), dx(x.size() + 1, kStale);
    cpu().conv2d_backward_data(sh, dy.data(), w.data(), dx_ref.data(), rws.get());
    fast.conv2d_backward_data(sh, dy.data(), w.data(), dx.data(), fws.get());
    ok &= dx.back() == kStale;
    dx.pop_back();
    ok &= all_close(qPrintable(conv_name("fast conv2d_backward_data dx", sh, threads)), dx, dx_ref, 1e-5, 1e-4);

    std::vector<float> dw_ref(w.size(), kStale), db_ref(b.size(), kStale);
    std::vector<float> dw(w.size() + 1, kStale), db(b.size() + 1, kStale);
    cpu().conv2d_backward_weights(sh, x.data(), dy.data(), dw_ref.data(), db_ref.data(), rws.get());
    fast.conv2d_backward_weights(sh, x.data(), dy.data(), dw.data(), db.data(), fws.get());
    ok &= dw.back() == kStale && db.back() == kStale;
    dw.pop_back();
    db.pop_back();
    // Sums over n*oh*ow terms in another order: the tolerance grows with the batch.
    const double tol = 1e-5 * std::max(1, sh.n * oh * ow / 64);
    ok &= all_close(qPrintable(conv_name("fast conv2d_backward_weights dw", sh, threads)), dw, dw_ref, tol, 1e-4);
    ok &= all_close(qPrintable(conv_name("fast conv2d_backward_weights db", sh, threads)), db, db_ref, tol, 1e-4);
    if (!fws.canaries_intact()) {
        qWarning("%s wrote past its workspace", qPrintable(conv_name("fast conv", sh, threads)));
        ok = false;
    }
    return ok;
}

} // namespace

class TestKernels : public QObject {
    Q_OBJECT

private slots:
    // ---- convolution ----
    void conv2dWorkspaceIsOneImage();
    void conv2dForwardMatchesNaive();
    void conv2dBackwardMatchesFiniteDifferences();
    void conv2dBackwardWeightsSumsOverBatch();

    // ---- pooling, ReLU ----
    void avgpool2ForwardValues();
    void avgpool2BackwardMatchesFiniteDifferences();
    void reluValues();
    void reluBackwardMatchesFiniteDifferences();

    // ---- dense ----
    void denseForwardMatchesNaive();
    void denseBackwardMatchesFiniteDifferences();

    // ---- loss ----
    void softmaxXentHandValues();
    void softmaxXentIsStableForLargeLogits();
    void softmaxXentGradientMatchesFiniteDifferences();
    void softmaxXentRejectsBadLabels();
    void countCorrectValues();

    // ---- elementwise, dispatch ----
    void elementwiseValues();
    void gatherRowsTakesTheIndexedRows();
    void kernelsForCpuDeviceFollowsGpulabKernels();

    // ---- fast kernels against the reference ----
    void fastConvMatchesReference_data();
    void fastConvMatchesReference();
    void fastPoolReluMatchReference();
    void fastDenseLossElementwiseMatchReference();

    // ---- the CUDA pool backward's arithmetic, run on the CPU ----
    void cudaPoolBackwardArithmeticMatchesReference();
    // ---- the CUDA device's peer-access plan: plain logic, no GPU needed ----
    void cudaPeerAccessPairsOnlyBetweenGpusThatHoldDevices();

    // ---- LeNet's flat parameter buffer ----
    void lenetParametersAreAligned();
    void lenetGapsStayZeroThroughATrainingStep();
    void lenetOpGroupsForFusingTablesMatchOpByOp();
};

// ---- convolution ----------------------------------------------------------------------

void TestKernels::conv2dWorkspaceIsOneImage()
{
    // One image's im2col buffer: c*r*s*oh*ow floats, whatever the batch size.
    const ConvShape conv1{.n = 256, .c = 1, .h = 28, .w = 28, .k = 20, .r = 3, .s = 3};
    const ConvShape conv2{.n = 256, .c = 20, .h = 13, .w = 13, .k = 50, .r = 5, .s = 5};
    QCOMPARE(cpu().conv_workspace_bytes(conv1), int64_t(1 * 3 * 3 * 26 * 26) * 4);
    QCOMPARE(cpu().conv_workspace_bytes(conv2), int64_t(20 * 5 * 5 * 9 * 9) * 4);
    QCOMPARE(cpu().name(), "cpu-reference");
}

void TestKernels::conv2dForwardMatchesNaive()
{
    QVERIFY(conv_forward_matches_naive({.n = 2, .c = 3, .h = 7, .w = 6, .k = 4, .r = 3, .s = 2}, 1));
    QVERIFY(conv_forward_matches_naive({.n = 1, .c = 2, .h = 5, .w = 5, .k = 3, .r = 5, .s = 5}, 2)); // 1x1 out
    QVERIFY(conv_forward_matches_naive({.n = 3, .c = 1, .h = 4, .w = 9, .k = 2, .r = 1, .s = 1}, 3));
    // LeNet's two convolutions.
    QVERIFY(conv_forward_matches_naive({.n = 2, .c = 1, .h = 28, .w = 28, .k = 20, .r = 3, .s = 3}, 4));
    QVERIFY(conv_forward_matches_naive({.n = 2, .c = 20, .h = 13, .w = 13, .k = 50, .r = 5, .s = 5}, 5));
}

void TestKernels::conv2dBackwardMatchesFiniteDifferences()
{
    const ConvShape sh{.n = 2, .c = 3, .h = 7, .w = 6, .k = 4, .r = 3, .s = 2}; // y (2,4,5,5)
    std::mt19937 rng(42);
    auto x = random_vector(rng, size_t(sh.n) * sh.c * sh.h * sh.w);        // (n,c,h,w)
    auto w = random_vector(rng, size_t(sh.k) * sh.c * sh.r * sh.s);        // (k,c,r,s)
    auto b = random_vector(rng, size_t(sh.k));                             // (k)
    const auto dy = random_vector(rng, size_t(sh.n) * sh.k * sh.oh() * sh.ow()); // (n,k,oh,ow)
    std::vector<float> y(dy.size());
    Workspace ws(sh);

    // loss = sum(y * dy), so dloss/dy = dy. conv is linear in each argument: a big step is exact.
    const auto loss = [&] {
        cpu().conv2d_forward(sh, x.data(), w.data(), b.data(), y.data(), ws.get());
        return dot(y, dy);
    };
    const float h = 0.125f;
    const auto dx_num = numeric_gradient(x, h, loss);
    const auto dw_num = numeric_gradient(w, h, loss);
    const auto db_num = numeric_gradient(b, h, loss);

    std::vector<float> dx(x.size(), kStale), dw(w.size(), kStale), db(b.size(), kStale);
    cpu().conv2d_backward_data(sh, dy.data(), w.data(), dx.data(), ws.get());
    cpu().conv2d_backward_weights(sh, x.data(), dy.data(), dw.data(), db.data(), ws.get());
    QVERIFY2(ws.canaries_intact(), "a conv kernel wrote past its workspace");

    QVERIFY(all_close("conv2d_backward_data dx", dx, dx_num, 1e-4, 1e-4));
    QVERIFY(all_close("conv2d_backward_weights dw", dw, dw_num, 1e-4, 1e-4));
    QVERIFY(all_close("conv2d_backward_weights db", db, db_num, 1e-4, 1e-4));
}

void TestKernels::conv2dBackwardWeightsSumsOverBatch()
{
    // dw over a batch of two = dw(image 0) + dw(image 1); stale values in dw, db are overwritten.
    ConvShape sh{.n = 2, .c = 2, .h = 6, .w = 5, .k = 3, .r = 2, .s = 3};
    std::mt19937 rng(7);
    const auto x = random_vector(rng, size_t(sh.n) * sh.c * sh.h * sh.w);
    const auto dy = random_vector(rng, size_t(sh.n) * sh.k * sh.oh() * sh.ow());
    const size_t wsize = size_t(sh.k) * sh.c * sh.r * sh.s;
    Workspace ws(sh);

    std::vector<float> dw(wsize, kStale), db(sh.k, kStale);
    cpu().conv2d_backward_weights(sh, x.data(), dy.data(), dw.data(), db.data(), ws.get());

    std::vector<double> dw_sum(wsize, 0.0), db_sum(sh.k, 0.0);
    const size_t x_image = x.size() / 2, dy_image = dy.size() / 2;
    ConvShape one = sh;
    one.n = 1;
    for (int i = 0; i < 2; ++i) {
        std::vector<float> dwi(wsize, kStale), dbi(sh.k, kStale);
        cpu().conv2d_backward_weights(one, x.data() + i * x_image, dy.data() + i * dy_image, dwi.data(),
                                      dbi.data(), ws.get());
        for (size_t j = 0; j < wsize; ++j)
            dw_sum[j] += dwi[j];
        for (int j = 0; j < sh.k; ++j)
            db_sum[j] += dbi[j];
    }
    QVERIFY(all_close("conv2d_backward_weights dw (batch = sum of images)", dw, dw_sum, 1e-5, 1e-5));
    QVERIFY(all_close("conv2d_backward_weights db (batch = sum of images)", db, db_sum, 1e-5, 1e-5));

    // An empty batch still overwrites: the gradients are zero.
    sh.n = 0;
    std::fill(dw.begin(), dw.end(), kStale);
    std::fill(db.begin(), db.end(), kStale);
    cpu().conv2d_backward_weights(sh, x.data(), dy.data(), dw.data(), db.data(), ws.get());
    QVERIFY(all_close("conv2d_backward_weights dw (n = 0)", dw, std::vector<double>(wsize, 0.0), 0.0, 0.0));
    QVERIFY(all_close("conv2d_backward_weights db (n = 0)", db, std::vector<double>(sh.k, 0.0), 0.0, 0.0));
}

// ---- pooling, ReLU --------------------------------------------------------------------

void TestKernels::avgpool2ForwardValues()
{
    // One 4x4 plane holding 0..15.
    std::vector<float> x(16);
    for (int i = 0; i < 16; ++i)
        x[i] = float(i);
    std::vector<float> y(4, kStale);
    cpu().avgpool2_forward(1, 1, 4, 4, x.data(), y.data());
    QCOMPARE(y, (std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f}));

    // LeNet's second pool: 9x9 -> 4x4, the last row and column are dropped.
    std::vector<float> x9(2 * 81, 1.0f);
    x9[81 + 8] = 1000.0f;      // plane 1, row 0, col 8: dropped
    x9[81 + 8 * 9] = 1000.0f;  // plane 1, row 8, col 0: dropped
    x9[81 + 7 * 9 + 7] = 5.0f; // plane 1, row 7, col 7: in the last window
    std::vector<float> y4(2 * 16 + 1, kStale);
    cpu().avgpool2_forward(2, 1, 9, 9, x9.data(), y4.data());
    std::vector<float> expected(2 * 16 + 1, 1.0f);
    expected[16 + 15] = 2.0f; // (1 + 1 + 1 + 5) / 4
    expected.back() = kStale; // untouched past the end
    QCOMPARE(y4, expected);
}

void TestKernels::avgpool2BackwardMatchesFiniteDifferences()
{
    std::mt19937 rng(43);
    // An odd height checks the dropped row gets a zero gradient.
    for (const auto& shape : {std::array{2, 3, 6, 8}, std::array{2, 3, 7, 6}}) {
        const int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        auto x = random_vector(rng, size_t(n) * c * h * w);
        const auto dy = random_vector(rng, size_t(n) * c * (h / 2) * (w / 2));
        std::vector<float> y(dy.size());
        const auto loss = [&] {
            cpu().avgpool2_forward(n, c, h, w, x.data(), y.data());
            return dot(y, dy);
        };
        const auto dx_num = numeric_gradient(x, 0.125f, loss);
        std::vector<float> dx(x.size(), kStale);
        cpu().avgpool2_backward(n, c, h, w, dy.data(), dx.data());
        const auto what = QStringLiteral("avgpool2_backward (%1,%2,%3,%4)").arg(n).arg(c).arg(h).arg(w);
        QVERIFY(all_close(qPrintable(what), dx, dx_num, 1e-5, 1e-5));
    }
}

void TestKernels::reluValues()
{
    const std::vector<float> x{-2.0f, -0.0f, 0.0f, 1e-30f, 3.5f};
    std::vector<float> y(x.size(), kStale);
    cpu().relu_forward(int64_t(x.size()), x.data(), y.data());
    QCOMPARE(y, (std::vector<float>{0.0f, 0.0f, 0.0f, 1e-30f, 3.5f}));

    const std::vector<float> dy{1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
    std::vector<float> dx(x.size(), kStale);
    cpu().relu_backward(int64_t(x.size()), y.data(), dy.data(), dx.data());
    QCOMPARE(dx, (std::vector<float>{0.0f, 0.0f, 0.0f, 4.0f, 5.0f})); // zero where y == 0

    // In place, as a trainer may do it.
    std::vector<float> z = x;
    cpu().relu_forward(int64_t(z.size()), z.data(), z.data());
    QCOMPARE(z, y);
}

void TestKernels::reluBackwardMatchesFiniteDifferences()
{
    std::mt19937 rng(44);
    auto x = random_vector(rng, 200);
    for (float& v : x) // keep clear of the kink at 0, further than the step
        if (std::fabs(v) < 0.1f)
            v = v < 0.0f ? v - 0.1f : v + 0.1f;
    const auto dy = random_vector(rng, x.size());
    std::vector<float> y(x.size());
    const auto loss = [&] {
        cpu().relu_forward(int64_t(x.size()), x.data(), y.data());
        return dot(y, dy);
    };
    const auto dx_num = numeric_gradient(x, 0.05f, loss);
    cpu().relu_forward(int64_t(x.size()), x.data(), y.data());
    std::vector<float> dx(x.size(), kStale);
    cpu().relu_backward(int64_t(x.size()), y.data(), dy.data(), dx.data());
    QVERIFY(all_close("relu_backward dx", dx, dx_num, 1e-5, 1e-5));
}

// ---- dense ----------------------------------------------------------------------------

void TestKernels::denseForwardMatchesNaive()
{
    std::mt19937 rng(45);
    // LeNet's dense layers, then an odd small one.
    for (const auto& shape : {std::array{4, 800, 128}, std::array{4, 128, 10}, std::array{3, 7, 5}}) {
        const int n = shape[0], in = shape[1], out = shape[2];
        const auto x = random_vector(rng, size_t(n) * in);
        const auto w = random_vector(rng, size_t(in) * out);
        const auto b = random_vector(rng, size_t(out));
        std::vector<float> y(size_t(n) * out, kStale);
        cpu().dense_forward(n, in, out, x.data(), w.data(), b.data(), y.data());
        const auto what = QStringLiteral("dense_forward %1x%2 -> %3").arg(n).arg(in).arg(out);
        QVERIFY(all_close(qPrintable(what), y, naive_dense(n, in, out, x, w, b), 1e-4, 1e-5));
    }
}

void TestKernels::denseBackwardMatchesFiniteDifferences()
{
    const int n = 3, in = 7, out = 5;
    std::mt19937 rng(46);
    auto x = random_vector(rng, size_t(n) * in);     // (n,in)
    auto w = random_vector(rng, size_t(in) * out);   // (in,out)
    auto b = random_vector(rng, size_t(out));        // (out)
    const auto dy = random_vector(rng, size_t(n) * out); // (n,out)
    std::vector<float> y(dy.size());
    const auto loss = [&] {
        cpu().dense_forward(n, in, out, x.data(), w.data(), b.data(), y.data());
        return dot(y, dy);
    };
    const float h = 0.125f; // linear in each argument
    const auto dx_num = numeric_gradient(x, h, loss);
    const auto dw_num = numeric_gradient(w, h, loss);
    const auto db_num = numeric_gradient(b, h, loss);

    std::vector<float> dx(x.size(), kStale), dw(w.size(), kStale), db(b.size(), kStale);
    cpu().dense_backward(n, in, out, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    QVERIFY(all_close("dense_backward dx", dx, dx_num, 1e-5, 1e-5));
    QVERIFY(all_close("dense_backward dw", dw, dw_num, 1e-5, 1e-5));
    QVERIFY(all_close("dense_backward db", db, db_num, 1e-5, 1e-5));

    // dx == nullptr (the first layer): dw and db are the same.
    std::vector<float> dw2(w.size(), kStale), db2(b.size(), kStale);
    cpu().dense_backward(n, in, out, x.data(), w.data(), dy.data(), nullptr, dw2.data(), db2.data());
    QCOMPARE(dw2, dw);
    QCOMPARE(db2, db);
}

// ---- loss -----------------------------------------------------------------------------

void TestKernels::softmaxXentHandValues()
{
    const std::vector<float> logits{1.0f, 2.0f, 3.0f, //
                                    0.0f, 0.0f, 0.0f};
    const std::vector<int32_t> labels{2, 0};
    float loss = kStale;
    std::vector<float> dlogits(logits.size(), kStale);
    cpu().softmax_xent(2, 3, logits.data(), labels.data(), &loss, dlogits.data());

    // row 0: log(e + e^2 + e^3) - 3; row 1: log 3. A sum, not a mean.
    const double e = std::exp(1.0);
    const double z = e + e * e + e * e * e;
    const double expected_loss = (std::log(z) - 3.0) + std::log(3.0);
    QVERIFY(all_close("softmax_xent loss_sum", std::vector<float>{loss}, std::vector<double>{expected_loss}, 1e-6,
                      1e-6));
    const std::vector<double> expected_d{e / z, e * e / z, e * e * e / z - 1.0, //
                                         1.0 / 3 - 1.0, 1.0 / 3, 1.0 / 3};
    QVERIFY(all_close("softmax_xent dlogits", dlogits, expected_d, 1e-6, 1e-6));

    // Only the loss.
    float loss_only = kStale;
    cpu().softmax_xent(2, 3, logits.data(), labels.data(), &loss_only, nullptr);
    QCOMPARE(loss_only, loss);
}

void TestKernels::softmaxXentIsStableForLargeLogits()
{
    // exp(1000) overflows a float; subtracting the row max keeps everything finite.
    const std::vector<float> logits{1000.0f, 0.0f, -1000.0f, //
                                    500.0f, 500.0f, -500.0f};
    const std::vector<int32_t> labels{1, 0};
    float loss = kStale;
    std::vector<float> dlogits(logits.size(), kStale);
    cpu().softmax_xent(2, 3, logits.data(), labels.data(), &loss, dlogits.data());
    QVERIFY(all_close("softmax_xent loss_sum (large logits)", std::vector<float>{loss},
                      std::vector<double>{1000.0 + std::log(2.0)}, 1e-3, 1e-6));
    QVERIFY(all_close("softmax_xent dlogits (large logits)", dlogits,
                      std::vector<double>{1.0, -1.0, 0.0, -0.5, 0.5, 0.0}, 1e-6, 0.0));
}

void TestKernels::softmaxXentGradientMatchesFiniteDifferences()
{
    const int n = 3, classes = 5;
    std::mt19937 rng(47);
    auto logits = random_vector(rng, size_t(n) * classes, -2.0f, 2.0f);
    const std::vector<int32_t> labels{4, 0, 2};
    float loss_sum = 0.0f;
    const auto loss = [&] {
        cpu().softmax_xent(n, classes, logits.data(), labels.data(), &loss_sum, nullptr);
        return double(loss_sum);
    };
    // Not linear: the step trades truncation (h^2) against the float rounding of loss_sum (1/h).
    const auto d_num = numeric_gradient(logits, 0.02f, loss);
    std::vector<float> d(logits.size(), kStale);
    cpu().softmax_xent(n, classes, logits.data(), labels.data(), &loss_sum, d.data());
    QVERIFY(all_close("softmax_xent dlogits", d, d_num, 2e-4, 1e-3));
}

void TestKernels::softmaxXentRejectsBadLabels()
{
    const std::vector<float> logits(2 * 10, 0.0f);
    std::vector<float> dlogits(logits.size(), kStale);
    float loss = kStale;
    for (const int32_t bad : {-1, 10, 255}) {
        const std::vector<int32_t> labels{3, bad};
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, cpu().softmax_xent(2, 10, logits.data(), labels.data(), &loss,
                                                                       dlogits.data()));
    }
    try {
        const std::vector<int32_t> labels{3, 10};
        cpu().softmax_xent(2, 10, logits.data(), labels.data(), &loss, dlogits.data());
        QFAIL("softmax_xent accepted label 10 with 10 classes");
    } catch (const std::out_of_range& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains(QLatin1String("label 10")) && message.contains(QLatin1String("[0, 10)")),
                 e.what());
    }
    QCOMPARE(loss, kStale); // nothing was written
}

void TestKernels::countCorrectValues()
{
    const std::vector<float> logits{0.1f, 0.7f, 0.2f,   // argmax 1
                                    5.0f, -1.0f, 4.0f,  // argmax 0
                                    1.0f, 3.0f, 3.0f,   // tie: first max, 1
                                    -3.0f, -2.0f, -1.0f}; // argmax 2
    float correct = kStale;
    std::vector<int32_t> labels{1, 0, 1, 2};
    cpu().count_correct(4, 3, logits.data(), labels.data(), &correct);
    QCOMPARE(correct, 4.0f);
    labels = {1, 2, 2, 0}; // the tie goes to class 1, so label 2 there is wrong
    cpu().count_correct(4, 3, logits.data(), labels.data(), &correct);
    QCOMPARE(correct, 1.0f);
    cpu().count_correct(0, 3, logits.data(), labels.data(), &correct);
    QCOMPARE(correct, 0.0f);
}

// ---- elementwise, dispatch ------------------------------------------------------------

void TestKernels::elementwiseValues()
{
    std::vector<float> w{1.0f, 2.0f, -3.0f, kCanary};
    const std::vector<float> grad{10.0f, -4.0f, 0.5f, 99.0f};
    cpu().sgd_update(3, 0.25f, grad.data(), w.data()); // w -= 0.25 * grad
    QCOMPARE(w, (std::vector<float>{-1.5f, 3.0f, -3.125f, kCanary}));

    std::vector<float> y{1.0f, 2.0f, 3.0f, kCanary};
    const std::vector<float> a{0.5f, -2.0f, 10.0f, 99.0f};
    cpu().add(3, a.data(), y.data());
    QCOMPARE(y, (std::vector<float>{1.5f, 0.0f, 13.0f, kCanary}));

    std::vector<float> dst(4, kCanary);
    cpu().copy(3, a.data(), dst.data());
    QCOMPARE(dst, (std::vector<float>{0.5f, -2.0f, 10.0f, kCanary}));

    std::vector<float> f(4, kCanary);
    cpu().fill(3, 7.5f, f.data());
    QCOMPARE(f, (std::vector<float>{7.5f, 7.5f, 7.5f, kCanary}));
    cpu().fill(0, 1.0f, f.data()); // nothing
    QCOMPARE(f[0], 7.5f);
}

void TestKernels::kernelsForCpuDeviceFollowsGpulabKernels()
{
    // Simulated devices run the fast kernels (with the device's threads); the reference on
    // request; anything else is a clear error.
    const QByteArray saved = qgetenv("GPULAB_KERNELS");
    const bool had = qEnvironmentVariableIsSet("GPULAB_KERNELS");
    gpulab::CpuDevice one(0, int64_t(1) << 20, nullptr), two(1, int64_t(1) << 20, nullptr, 2);
    qunsetenv("GPULAB_KERNELS");
    QCOMPARE(&gpulab::kernels_for(one), &gpulab::cpu_fast_kernels(1));
    QCOMPARE(&gpulab::kernels_for(two), &gpulab::cpu_fast_kernels(2));
    QCOMPARE(gpulab::kernels_for(one).name(), "cpu-fast");
    qputenv("GPULAB_KERNELS", "reference");
    QCOMPARE(&gpulab::kernels_for(one), &gpulab::cpu_reference_kernels());
    qputenv("GPULAB_KERNELS", "fast");
    QCOMPARE(&gpulab::kernels_for(one), &gpulab::cpu_fast_kernels(1));
    qputenv("GPULAB_KERNELS", "turbo");
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, gpulab::kernels_for(one));
    if (had)
        qputenv("GPULAB_KERNELS", saved);
    else
        qunsetenv("GPULAB_KERNELS");
    qInfo("fast kernels' matrix products: %s", gpulab::cpu_fast_gemm_backend());
}

// ---- fast kernels against the reference ------------------------------------------------

void TestKernels::gatherRowsTakesTheIndexedRows()
{
    // 5 rows of 3 floats, and their labels; both CPU backends.
    std::vector<float> src(15);
    for (size_t i = 0; i < src.size(); ++i)
        src[i] = float(i) + 0.5f;
    const std::vector<int32_t> labels{7, 1, 4, 0, 9};
    const std::vector<int32_t> index{4, 0, 0, 2};
    for (const gpulab::Kernels* k : {&gpulab::cpu_reference_kernels(), &gpulab::cpu_fast_kernels(1)}) {
        std::vector<float> dst(12, -1.0f);
        std::vector<int32_t> lab(4, -1);
        k->gather_rows(4, 3 * 4, index.data(), 5, src.data(), dst.data());
        k->gather_rows(4, 4, index.data(), 5, labels.data(), lab.data());
        const std::vector<float> want{12.5f, 13.5f, 14.5f, 0.5f, 1.5f, 2.5f, 0.5f, 1.5f, 2.5f, 6.5f, 7.5f, 8.5f};
        QCOMPARE(dst, want);
        QCOMPARE(lab, (std::vector<int32_t>{9, 7, 7, 4}));
        // An index past the end (or negative) is refused before anything is written.
        std::vector<float> untouched(12, -1.0f);
        const std::vector<int32_t> bad{1, 5};
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, k->gather_rows(2, 12, bad.data(), 5, src.data(), untouched.data()));
        const std::vector<int32_t> negative{-1};
        QVERIFY_THROWS_EXCEPTION(std::out_of_range,
                                 k->gather_rows(1, 12, negative.data(), 5, src.data(), untouched.data()));
        QCOMPARE(untouched, std::vector<float>(12, -1.0f));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, k->gather_rows(1, 6, index.data(), 5, src.data(), dst.data()));
    }
}

// Every instruction set this CPU has, best first: each has its own paths (tables made
// with cpu_fast_kernels(threads, isa)), and each must match the reference.
std::vector<gpulab::CpuIsa> isas_here()
{
    std::vector<gpulab::CpuIsa> v;
    for (auto isa : {gpulab::CpuIsa::Avx512, gpulab::CpuIsa::Avx2, gpulab::CpuIsa::Generic})
        if (isa <= gpulab::cpu_isa_detected())
            v.push_back(isa);
    return v;
}

void TestKernels::fastConvMatchesReference_data()
{
    QTest::addColumn<int>("threads");
    QTest::addColumn<int>("isa");
    for (const auto isa : isas_here())
        for (const int threads : {1, 2, 3})
            QTest::newRow(qPrintable(QStringLiteral("%1 thread(s), %2").arg(threads).arg(gpulab::cpu_isa_name(isa))))
                << threads << int(isa);
}

void TestKernels::fastConvMatchesReference()
{
    QFETCH(int, threads);
    QFETCH(int, isa);
    const Kernels& fast = gpulab::cpu_fast_kernels(threads, gpulab::CpuIsa(isa));
    // LeNet's convolutions at a shard size, then odd shapes: a 1x1 output, 1x1 filters,
    // one input channel with rows wider than a vector and narrower, many blocks of images.
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 37, .c = 1, .h = 28, .w = 28, .k = 20, .r = 3, .s = 3},
                                        false, 1));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 37, .c = 20, .h = 13, .w = 13, .k = 50, .r = 5, .s = 5},
                                        true, 2));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 9, .c = 20, .h = 13, .w = 13, .k = 50, .r = 5, .s = 5},
                                        false, 3));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 2, .c = 3, .h = 7, .w = 6, .k = 4, .r = 3, .s = 2},
                                        false, 4));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 2, .c = 3, .h = 7, .w = 6, .k = 4, .r = 3, .s = 2},
                                        true, 5));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 3, .c = 2, .h = 5, .w = 5, .k = 3, .r = 5, .s = 5},
                                        false, 6));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 3, .c = 1, .h = 4, .w = 9, .k = 2, .r = 1, .s = 1},
                                        false, 7));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 5, .c = 1, .h = 11, .w = 40, .k = 7, .r = 3, .s = 3},
                                        false, 8));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 4, .c = 1, .h = 6, .w = 5, .k = 3, .r = 3, .s = 3},
                                        true, 9));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 1, .c = 4, .h = 40, .w = 40, .k = 3, .r = 4, .s = 4},
                                        false, 10));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 300, .c = 2, .h = 6, .w = 6, .k = 3, .r = 3, .s = 3},
                                        true, 11));
    // Rows of exactly 16 and of 12 output pixels (the narrow im2col paths' widest, and a tail).
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 3, .c = 2, .h = 18, .w = 18, .k = 3, .r = 3, .s = 3},
                                        true, 12));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 2, .c = 3, .h = 9, .w = 14, .k = 2, .r = 2, .s = 3},
                                        false, 13));
    // Rows of exactly 8 output pixels (AVX2's im2col: one move a row), and 9 whose backward
    // and window cut them to 8.
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 7, .c = 2, .h = 10, .w = 10, .k = 3, .r = 3, .s = 3},
                                        false, 14));
    QVERIFY(conv_fast_matches_reference(fast, threads, {.n = 7, .c = 3, .h = 11, .w = 11, .k = 4, .r = 3, .s = 3},
                                        true, 15));

    // A NaN in the last row is not zero: it must reach dx and dw as in the reference.
    const ConvShape sh{.n = 2, .c = 2, .h = 6, .w = 6, .k = 3, .r = 3, .s = 3};
    std::mt19937 rng(12);
    const auto x = random_vector(rng, size_t(sh.n) * sh.c * sh.h * sh.w);
    const auto w = random_vector(rng, size_t(sh.k) * sh.c * sh.r * sh.s);
    std::vector<float> dy(size_t(sh.n) * sh.k * sh.oh() * sh.ow(), 0.0f);
    dy[size_t(sh.oh() * sh.ow() - 1)] = std::nanf("");
    Scratch ws(fast.conv_workspace_bytes(sh));
    std::vector<float> dx(x.size()), dw(w.size()), db(size_t(sh.k));
    fast.conv2d_backward_data(sh, dy.data(), w.data(), dx.data(), ws.get());
    fast.conv2d_backward_weights(sh, x.data(), dy.data(), dw.data(), db.data(), ws.get());
    QVERIFY(std::isnan(dx[size_t(sh.h * sh.w - 1)]));
    QVERIFY(std::isnan(dw[0]) && std::isnan(db[0]));

    // A window outside the output is refused, by this table and by the default (the reference's).
    std::vector<float> y(dy.size(), kStale);
    for (const Kernels* k : {&fast, &cpu()})
        for (const auto [rows, cols] : {std::pair{0, 1}, std::pair{1, 0}, std::pair{sh.oh() + 1, 1},
                                        std::pair{1, sh.ow() + 1}})
            QVERIFY_THROWS_EXCEPTION(std::invalid_argument, k->conv2d_relu_forward_window(sh, rows, cols, x.data(), w.data(),
                                                                                          nullptr, y.data(), ws.get()));
    QCOMPARE(y, std::vector<float>(dy.size(), kStale));

    // An empty batch: gradients are zero, nothing else is touched.
    ConvShape empty = sh;
    empty.n = 0;
    std::vector<float> dw0(w.size(), kStale), db0(size_t(sh.k), kStale);
    fast.conv2d_backward_weights(empty, x.data(), dy.data(), dw0.data(), db0.data(), ws.get());
    QVERIFY(all_close("fast conv2d_backward_weights dw (n = 0)", dw0, std::vector<double>(w.size(), 0.0), 0.0, 0.0));
    QVERIFY(all_close("fast conv2d_backward_weights db (n = 0)", db0, std::vector<double>(size_t(sh.k), 0.0), 0.0, 0.0));
}

void TestKernels::fastPoolReluMatchReference()
{
  for (const auto isa : isas_here()) {
    qInfo("instruction set %s", gpulab::cpu_isa_name(isa));
    const Kernels& fast = gpulab::cpu_fast_kernels(1, isa);
    std::mt19937 rng(13);
    // LeNet's pools (26 -> 13, 9 -> 4 dropping the last row and column), then odd planes.
    for (const auto& shape : {std::array{5, 20, 26, 26}, std::array{5, 50, 9, 9}, std::array{3, 2, 7, 6},
                              std::array{2, 3, 6, 7}, std::array{1, 1, 1, 5}, std::array{2, 2, 5, 40},
                              std::array{1, 3, 4, 2}, std::array{2, 3, 7, 17}}) { // odd h and w, 8 wide out
        const int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        const auto x = random_vector(rng, size_t(n) * c * h * w);
        const auto dy = random_vector(rng, size_t(n) * c * (h / 2) * (w / 2));
        std::vector<float> y_ref(dy.size(), kStale), y(dy.size(), kStale);
        cpu().avgpool2_forward(n, c, h, w, x.data(), y_ref.data());
        fast.avgpool2_forward(n, c, h, w, x.data(), y.data());
        std::vector<float> dx_ref(x.size(), kStale), dx(x.size(), kStale);
        cpu().avgpool2_backward(n, c, h, w, dy.data(), dx_ref.data());
        fast.avgpool2_backward(n, c, h, w, dy.data(), dx.data());
        const auto what = QStringLiteral("(%1,%2,%3,%4)").arg(n).arg(c).arg(h).arg(w);
        QVERIFY(all_close(qPrintable("fast avgpool2_forward " + what), y, y_ref, 0.0, 0.0));
        QVERIFY(all_close(qPrintable("fast avgpool2_backward " + what), dx, dx_ref, 0.0, 0.0));

        // Through pool and a ReLU whose output is r (zeros where it cut): the same bits as the
        // reference's two ops.
        auto r = random_vector(rng, x.size());
        for (float& v : r)
            v = v > 0.0f ? v : 0.0f;
        std::vector<float> dr_ref(x.size(), kStale), dr(x.size(), kStale);
        cpu().avgpool2_relu_backward(n, c, h, w, dy.data(), r.data(), dr_ref.data());
        fast.avgpool2_relu_backward(n, c, h, w, dy.data(), r.data(), dr.data());
        QCOMPARE(std::memcmp(dr.data(), dr_ref.data(), dr.size() * 4), 0);
        QVERIFY(all_close(qPrintable("fast avgpool2_relu_backward " + what), dr, dr_ref, 0.0, 0.0));
    }
    // ReLU in place and not, with zeros, signed zeros and a NaN: the same bits.
    auto x = random_vector(rng, 1001);
    x[3] = 0.0f;
    x[4] = -0.0f;
    x[5] = std::nanf("");
    const auto dy = random_vector(rng, x.size());
    std::vector<float> y_ref(x.size()), y(x.size()), z = x;
    cpu().relu_forward(int64_t(x.size()), x.data(), y_ref.data());
    fast.relu_forward(int64_t(x.size()), x.data(), y.data());
    fast.relu_forward(int64_t(z.size()), z.data(), z.data());
    QCOMPARE(std::memcmp(y.data(), y_ref.data(), y.size() * 4), 0);
    QCOMPARE(std::memcmp(z.data(), y_ref.data(), z.size() * 4), 0);
    std::vector<float> dx_ref(x.size()), dx(x.size()), g = dy;
    cpu().relu_backward(int64_t(x.size()), y_ref.data(), dy.data(), dx_ref.data());
    fast.relu_backward(int64_t(x.size()), y_ref.data(), dy.data(), dx.data());
    fast.relu_backward(int64_t(g.size()), y_ref.data(), g.data(), g.data());
    QCOMPARE(std::memcmp(dx.data(), dx_ref.data(), dx.size() * 4), 0);
    QCOMPARE(std::memcmp(g.data(), dx_ref.data(), g.size() * 4), 0);
  }
}

void TestKernels::fastDenseLossElementwiseMatchReference()
{
    std::mt19937 rng(14);
    for (const int threads : {1, 2}) {
        const Kernels& fast = gpulab::cpu_fast_kernels(threads);
        // LeNet's dense layers at a shard size, then odd ones.
        for (const auto& shape : {std::array{37, 800, 128}, std::array{37, 128, 10}, std::array{3, 7, 5},
                                  std::array{1, 1, 1}}) {
            const int n = shape[0], in = shape[1], out = shape[2];
            const auto x = random_vector(rng, size_t(n) * in);
            const auto w = random_vector(rng, size_t(in) * out, -0.1f, 0.1f);
            const auto b = random_vector(rng, size_t(out));
            const auto dy = random_vector(rng, size_t(n) * out);
            std::vector<float> y_ref(size_t(n) * out), y(y_ref.size(), kStale);
            cpu().dense_forward(n, in, out, x.data(), w.data(), b.data(), y_ref.data());
            fast.dense_forward(n, in, out, x.data(), w.data(), b.data(), y.data());
            std::vector<float> dx_ref(x.size()), dw_ref(w.size()), db_ref(b.size());
            std::vector<float> dx(x.size(), kStale), dw(w.size(), kStale), db(b.size(), kStale);
            cpu().dense_backward(n, in, out, x.data(), w.data(), dy.data(), dx_ref.data(), dw_ref.data(),
                                 db_ref.data());
            fast.dense_backward(n, in, out, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
            const auto what = QStringLiteral("%1x%2 -> %3, %4 thread(s)").arg(n).arg(in).arg(out).arg(threads);
            QVERIFY(all_close(qPrintable("fast dense_forward y " + what), y, y_ref, 1e-5, 1e-4));
            QVERIFY(all_close(qPrintable("fast dense_backward dx " + what), dx, dx_ref, 1e-5, 1e-4));
            QVERIFY(all_close(qPrintable("fast dense_backward dw " + what), dw, dw_ref, 1e-5, 1e-4));
            QVERIFY(all_close(qPrintable("fast dense_backward db " + what), db, db_ref, 1e-5, 1e-4));
            std::vector<float> dw2(w.size(), kStale), db2(b.size(), kStale);
            fast.dense_backward(n, in, out, x.data(), w.data(), dy.data(), nullptr, dw2.data(), db2.data());
            QCOMPARE(dw2, dw);
            QCOMPARE(db2, db);
        }
        // Loss and accuracy: LeNet's 10 classes.
        const int n = 37;
        const auto logits = random_vector(rng, size_t(n) * 10, -3.0f, 3.0f);
        std::vector<int32_t> labels(n);
        for (int i = 0; i < n; ++i)
            labels[size_t(i)] = int32_t(rng() % 10);
        float loss_ref = 0, loss = kStale, correct_ref = 0, correct = kStale;
        std::vector<float> d_ref(logits.size()), d(logits.size(), kStale);
        cpu().softmax_xent(n, 10, logits.data(), labels.data(), &loss_ref, d_ref.data());
        fast.softmax_xent(n, 10, logits.data(), labels.data(), &loss, d.data());
        QVERIFY(all_close("fast softmax_xent loss", std::vector<float>{loss}, std::vector<float>{loss_ref}, 1e-6, 1e-6));
        QVERIFY(all_close("fast softmax_xent dlogits", d, d_ref, 1e-7, 1e-6));
        cpu().count_correct(n, 10, logits.data(), labels.data(), &correct_ref);
        fast.count_correct(n, 10, logits.data(), labels.data(), &correct);
        QCOMPARE(correct, correct_ref);
        labels[0] = 10;
        QVERIFY_THROWS_EXCEPTION(std::out_of_range,
                                 fast.softmax_xent(n, 10, logits.data(), labels.data(), &loss, d.data()));

        // SGD, add, copy, fill on LeNet's parameter count, with a canary past the end.
        const size_t count = 129068;
        const auto grad = random_vector(rng, count);
        auto w_ref = random_vector(rng, count + 1);
        w_ref.back() = kCanary;
        auto w = w_ref;
        cpu().sgd_update(int64_t(count), 0.2f / 256, grad.data(), w_ref.data());
        fast.sgd_update(int64_t(count), 0.2f / 256, grad.data(), w.data());
        QCOMPARE(w, w_ref);
        cpu().add(int64_t(count), grad.data(), w_ref.data());
        fast.add(int64_t(count), grad.data(), w.data());
        QCOMPARE(w, w_ref);
        std::vector<float> c(count + 1, kCanary);
        fast.copy(int64_t(count), grad.data(), c.data());
        QVERIFY(std::equal(grad.begin(), grad.end(), c.begin()) && c.back() == kCanary);
        fast.fill(int64_t(count), 0.5f, c.data());
        QVERIFY(std::all_of(c.begin(), c.end() - 1, [](float v) { return v == 0.5f; }) && c.back() == kCanary);
    }
}

// ---- the CUDA pool backward's arithmetic, run on the CPU ------------------------------------

// cuda_avgpool2.h is what the CUDA kernel runs for each dx cell; here it runs on the CPU for
// every cell and must give the reference's bits (the kernel itself is checked on a GPU by
// tst_cuda_kernels).
void TestKernels::cudaPoolBackwardArithmeticMatchesReference()
{
    std::mt19937 rng(29);
    for (const auto& shape : {std::array{2, 20, 26, 26}, std::array{3, 50, 9, 9}, std::array{1, 2, 5, 8},
                              std::array{2, 3, 7, 6}, std::array{1, 1, 1, 5}, std::array{1, 1, 3, 1},
                              std::array{2, 1, 2, 2}}) {
        const int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        const size_t cells = size_t(n) * c * h * w;
        const auto dy = random_vector(rng, size_t(n) * c * (h / 2) * (w / 2));
        std::vector<float> dx_ref(cells, kStale), dx(cells, kStale);
        cpu().avgpool2_backward(n, c, h, w, dy.data(), dx_ref.data());
        for (size_t i = 0; i < cells; ++i)
            dx[i] = gpulab::cuda::avgpool2_backward_at(int64_t(i), h, w, dy.data(), nullptr);
        const auto what = QStringLiteral("(%1,%2,%3,%4)").arg(n).arg(c).arg(h).arg(w);
        QVERIFY2(std::memcmp(dx.data(), dx_ref.data(), cells * 4) == 0, qPrintable("avgpool2_backward " + what));

        // Fused with the ReLU before the pool: y with cut zeros, a signed zero and a NaN.
        auto y = random_vector(rng, cells);
        for (float& v : y)
            v = v > 0.0f ? v : 0.0f;
        y[0] = -0.0f;
        if (cells > 2)
            y[2] = std::nanf("");
        std::vector<float> dr_ref(cells, kStale), dr(cells, kStale);
        cpu().avgpool2_relu_backward(n, c, h, w, dy.data(), y.data(), dr_ref.data());
        for (size_t i = 0; i < cells; ++i)
            dr[i] = gpulab::cuda::avgpool2_backward_at(int64_t(i), h, w, dy.data(), y.data());
        QVERIFY2(std::memcmp(dr.data(), dr_ref.data(), cells * 4) == 0,
                 qPrintable("avgpool2_relu_backward " + what));
    }
}

// ---- LeNet's flat parameter buffer ------------------------------------------------------------

void TestKernels::lenetParametersAreAligned()
{
    const auto& specs = gpulab::lenet_params();
    QCOMPARE(specs.size(), size_t(8));
    int64_t end = 0, params = 0;
    for (const auto& p : specs) {
        QVERIFY2(p.offset % 16 == 0, qPrintable(QString::fromStdString(p.name) + " at " + QString::number(p.offset)));
        QVERIFY2(p.offset >= end, qPrintable(QString::fromStdString(p.name) + " overlaps the parameter before"));
        QVERIFY(p.offset - end < 16); // no more gap than alignment needs
        int64_t count = 1;
        for (int64_t d : p.shape)
            count *= d;
        QCOMPARE(p.count, count);
        end = p.offset + p.count;
        params += p.count;
    }
    QCOMPARE(gpulab::lenet_param_count(), int64_t(129068));
    QCOMPARE(params, int64_t(129068));
    QCOMPARE(gpulab::lenet_flat_count() % 16, int64_t(0));
    QVERIFY(gpulab::lenet_flat_count() >= end && gpulab::lenet_flat_count() - end < 16);
    QCOMPARE(gpulab::lenet_param("W3").offset, int64_t(25296)); // was 25250 when packed

    // The initial values: weights drawn, biases and gaps zero.
    const auto init = gpulab::lenet_init(7);
    QCOMPARE(int64_t(init.size()), gpulab::lenet_flat_count());
    std::vector<bool> covered(init.size(), false);
    for (const auto& p : specs)
        for (int64_t i = 0; i < p.count; ++i)
            covered[size_t(p.offset + i)] = true;
    for (size_t i = 0; i < init.size(); ++i)
        if (!covered[i])
            QVERIFY2(init[i] == 0.0f, qPrintable(QString("gap at %1 holds %2").arg(i).arg(init[i])));
    QVERIFY(init[size_t(gpulab::lenet_param("W1").offset)] != 0.0f);
}

// The grads' gaps are zeroed when the model is made, and a forward, backward and SGD step
// leaves every gap of both buffers zero; the parameters that moved are the ones with
// gradients. On a simulated CPU device with the fast kernels.
void TestKernels::lenetGapsStayZeroThroughATrainingStep()
{
    using namespace gpulab;
    auto engine = make_engine(EngineKind::Sync, 1, nullptr);
    CpuDevice dev(0, int64_t(256) << 20, nullptr, 1);
    DeviceModel m = make_device_model(*engine, dev, 3);
    QCOMPARE(m.params.numel(), lenet_flat_count());
    QCOMPARE(m.grads.numel(), lenet_flat_count());
    const auto init = lenet_init(3);
    dev.upload(m.params.f(), init.data(), m.params.bytes());
    {
        std::vector<float> g(size_t(lenet_flat_count()), kStale);
        dev.download(g.data(), m.grads.f(), m.grads.bytes());
        QVERIFY(std::all_of(g.begin(), g.end(), [](float v) { return v == 0.0f; }));
    }
    std::mt19937 rng(5);
    const int n = 9;
    const auto images = random_vector(rng, size_t(n) * 784, 0.0f, 1.0f);
    std::vector<int32_t> labels(n);
    for (int i = 0; i < n; ++i)
        labels[size_t(i)] = i % 10;
    Tensor x = make_tensor(*engine, dev, {n, 1, 28, 28});
    Tensor y = make_tensor(*engine, dev, {n});
    dev.upload(x.f(), images.data(), x.bytes());
    dev.upload(y.f(), labels.data(), y.bytes());
    push_forward_backward(*engine, m, x, y, n);
    push_sgd(*engine, m, 0.5f, n);
    engine->wait_all();

    const size_t flat = size_t(lenet_flat_count());
    std::vector<float> g(flat), w(flat);
    dev.download(g.data(), m.grads.f(), m.grads.bytes());
    dev.download(w.data(), m.params.f(), m.params.bytes());
    std::vector<bool> covered(g.size(), false);
    for (const auto& p : lenet_params()) {
        bool any_grad = false;
        for (int64_t i = 0; i < p.count; ++i) {
            const size_t at = size_t(p.offset + i);
            covered[at] = true;
            any_grad |= g[at] != 0.0f;
            QVERIFY(std::isfinite(g[at]));
        }
        QVERIFY2(any_grad, qPrintable(QString::fromStdString(p.name) + " got no gradient"));
    }
    for (size_t i = 0; i < g.size(); ++i)
        if (!covered[i]) {
            QVERIFY2(g[i] == 0.0f, qPrintable(QString("grad gap at %1 holds %2").arg(i).arg(g[i])));
            QVERIFY2(w[i] == 0.0f, qPrintable(QString("param gap at %1 holds %2").arg(i).arg(w[i])));
        }
}

namespace {

// The CPU table behind a table that says it fuses calls (as a GPU table does with
// GPULAB_CUDA_FUSED_GRAPHS): every call goes straight to the CPU table, and the wrapper counts
// units and the calls made inside and outside them. A unit's calls here run at once, which
// a fusing table may do too; what is checked is the model's grouping around them.
class FusingCpuTable final : public gpulab::Kernels {
public:
    FusingCpuTable(const gpulab::Kernels& cpu, Fusion f) : m_k(cpu), m_f(f) {}
    Fusion fusion() const override { return m_f; }
    bool begin_fused() const override
    {
        ++depth;
        ++units;
        return true;
    }
    void end_fused() const override { --depth; }
    void abandon_fused() const override { --depth; }
    mutable int depth = 0, units = 0, inside = 0, outside = 0;

    const char* name() const override { return "fusing cpu"; }
    int64_t conv_workspace_bytes(const gpulab::ConvShape& sh) const override { return m_k.conv_workspace_bytes(sh); }
    void conv2d_forward(const gpulab::ConvShape& sh, const float* x, const float* w, const float* b, float* y,
                        float* ws) const override
    {
        count();
        m_k.conv2d_forward(sh, x, w, b, y, ws);
    }
    void conv2d_relu_forward(const gpulab::ConvShape& sh, const float* x, const float* w, const float* b, float* y,
                             float* ws) const override
    {
        count();
        m_k.conv2d_relu_forward(sh, x, w, b, y, ws);
    }
    void conv2d_backward_data(const gpulab::ConvShape& sh, const float* dy, const float* w, float* dx,
                              float* ws) const override
    {
        count();
        m_k.conv2d_backward_data(sh, dy, w, dx, ws);
    }
    void conv2d_backward_weights(const gpulab::ConvShape& sh, const float* x, const float* dy, float* dw, float* db,
                                 float* ws) const override
    {
        count();
        m_k.conv2d_backward_weights(sh, x, dy, dw, db, ws);
    }
    void avgpool2_forward(int n, int c, int h, int w, const float* x, float* y) const override
    {
        count();
        m_k.avgpool2_forward(n, c, h, w, x, y);
    }
    void avgpool2_backward(int n, int c, int h, int w, const float* dy, float* dx) const override
    {
        count();
        m_k.avgpool2_backward(n, c, h, w, dy, dx);
    }
    void avgpool2_relu_backward(int n, int c, int h, int w, const float* dy, const float* y, float* dx) const override
    {
        count();
        m_k.avgpool2_relu_backward(n, c, h, w, dy, y, dx);
    }
    void relu_forward(int64_t count_, const float* x, float* y) const override
    {
        count();
        m_k.relu_forward(count_, x, y);
    }
    void relu_backward(int64_t count_, const float* y, const float* dy, float* dx) const override
    {
        count();
        m_k.relu_backward(count_, y, dy, dx);
    }
    void dense_forward(int n, int in, int out, const float* x, const float* w, const float* b, float* y) const override
    {
        count();
        m_k.dense_forward(n, in, out, x, w, b, y);
    }
    void dense_backward(int n, int in, int out, const float* x, const float* w, const float* dy, float* dx, float* dw,
                        float* db) const override
    {
        count();
        m_k.dense_backward(n, in, out, x, w, dy, dx, dw, db);
    }
    void softmax_xent(int n, int classes, const float* logits, const int32_t* labels, float* loss_sum,
                      float* dlogits) const override
    {
        count();
        m_k.softmax_xent(n, classes, logits, labels, loss_sum, dlogits);
    }
    void count_correct(int n, int classes, const float* logits, const int32_t* labels, float* correct) const override
    {
        count();
        m_k.count_correct(n, classes, logits, labels, correct);
    }
    void sgd_update(int64_t count_, float scale, const float* grad, float* w) const override
    {
        count();
        m_k.sgd_update(count_, scale, grad, w);
    }
    void add(int64_t count_, const float* a, float* y) const override
    {
        count();
        m_k.add(count_, a, y);
    }
    void copy(int64_t count_, const float* src, float* dst) const override
    {
        count();
        m_k.copy(count_, src, dst);
    }
    void fill(int64_t count_, float value, float* y) const override
    {
        count();
        m_k.fill(count_, value, y);
    }
    void gather_rows(int n, int64_t row_bytes, const int32_t* index, int64_t src_rows, const void* src,
                     void* dst) const override
    {
        count();
        m_k.gather_rows(n, row_bytes, index, src_rows, src, dst);
    }

private:
    void count() const { ++(depth > 0 ? inside : outside); }
    const gpulab::Kernels& m_k;
    Fusion m_f;
};

} // namespace

// A table that fuses calls (Kernels::fusion) gets the model's ops grouped: per layer (each
// layer's op with the small ops after it) or the whole step in one op. Every call then runs
// inside a unit, the engine sees the grouped ops under their names, and the results (loss,
// gradients, parameters after SGD, the evaluation's count) are those of the ops one by one,
// bit for bit. Without fusing, the op sequence is the ungrouped one.
void TestKernels::lenetOpGroupsForFusingTablesMatchOpByOp()
{
    using namespace gpulab;
    using Fusion = Kernels::Fusion;
    struct Outcome {
        std::vector<float> grads, params;
        float loss = 0, correct = 0;
        std::vector<std::string> ops;
        int units = 0, inside = 0, outside = 0;
    };
    std::mt19937 rng(11);
    const int n = 7;
    const auto images = random_vector(rng, size_t(n) * 784, 0.0f, 1.0f);
    std::vector<int32_t> labels(n);
    for (int i = 0; i < n; ++i)
        labels[size_t(i)] = (3 * i) % 10;
    const auto init = lenet_init(5);
    auto run = [&](Fusion f) {
        // Made in this order so that the engine goes first (it drains the ops that free the
        // tensors), then the trace, the table and the device those ops use.
        CpuDevice dev(0, int64_t(256) << 20, nullptr, 1);
        FusingCpuTable table(kernels_for(dev), f);
        EventStream trace;
        auto engine = make_engine(EngineKind::Threaded, 1, &trace);
        DeviceModel m = make_device_model(*engine, dev, 2);
        if (f != Fusion::None)
            m.kernels = &table;
        dev.upload(m.params.f(), init.data(), m.params.bytes());
        Tensor x = make_tensor(*engine, dev, {n, 1, 28, 28});
        Tensor y = make_tensor(*engine, dev, {n});
        dev.upload(x.f(), images.data(), x.bytes());
        dev.upload(y.f(), labels.data(), y.bytes());
        Tensor loss = push_forward_backward(*engine, m, x, y, n);
        push_sgd(*engine, m, 0.5f, n);
        Tensor correct = push_evaluate(*engine, m, x, y, n);
        engine->wait_all();
        Outcome o;
        o.grads.resize(size_t(lenet_flat_count()));
        o.params.resize(o.grads.size());
        dev.download(o.grads.data(), m.grads.f(), m.grads.bytes());
        dev.download(o.params.data(), m.params.f(), m.params.bytes());
        dev.download(&o.loss, loss.f(), 4);
        dev.download(&o.correct, correct.f(), 4);
        for (const Event& e : trace.all())
            if (const auto* op = e.get<ev::Op>())
                o.ops.push_back(op->op);
        o.units = table.units;
        o.inside = table.inside;
        o.outside = table.outside;
        return o;
    };
    auto joined = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& x : v)
            s += x + " ";
        return s;
    };
    const Outcome plain = run(Fusion::None);
    const std::vector<std::string> plain_ops = {
        "conv1_relu_fwd", "pool1_fwd",      "conv2_relu_fwd", "pool2_fwd",      "dense3_fwd",     "relu3_fwd",
        "dense4_fwd",     "softmax_xent",   "dense4_bwd",     "relu3_bwd",      "dense3_bwd",     "pool2_relu_bwd",
        "conv2_bwd_w",    "conv2_bwd_x",    "pool1_relu_bwd", "conv1_bwd_w",    "sgd",            "conv1_relu_fwd",
        "pool1_fwd",      "conv2_relu_fwd", "pool2_fwd",      "dense3_fwd",     "relu3_fwd",      "dense4_fwd",
        "count_correct"};
    QCOMPARE(QString::fromStdString(joined(plain.ops)), QString::fromStdString(joined(plain_ops)));
    const std::vector<std::string> layer_ops = {
        "conv1_relu_pool1_fwd", "conv2_relu_pool2_fwd",    "dense3_relu3_fwd",     "dense4_fwd_softmax_xent",
        "dense4_relu3_bwd",     "dense3_pool2_relu_bwd",   "conv2_pool1_relu_bwd", "conv1_bwd_w",
        "sgd",                  "conv1_relu_pool1_fwd",    "conv2_relu_pool2_fwd", "dense3_relu3_fwd",
        "dense4_fwd_count_correct"};
    const std::vector<std::string> step_ops = {"forward_backward", "sgd", "forward_count_correct"};
    for (Fusion f : {Fusion::Layers, Fusion::Step}) {
        const Outcome o = run(f);
        const auto& want = f == Fusion::Layers ? layer_ops : step_ops;
        QCOMPARE(QString::fromStdString(joined(o.ops)), QString::fromStdString(joined(want)));
        QCOMPARE(o.units, int(want.size()));
        QCOMPARE(o.outside, 0);       // every call of the model inside a unit
        QCOMPARE(o.inside, 16 + 1 + 8); // the calls of the ops one by one
        QVERIFY(o.loss == plain.loss);
        QVERIFY(o.correct == plain.correct);
        QVERIFY(std::memcmp(o.grads.data(), plain.grads.data(), o.grads.size() * 4) == 0);
        QVERIFY(std::memcmp(o.params.data(), plain.params.data(), o.params.size() * 4) == 0);
    }
}

// Peer access is enabled only between GPUs that hold devices: the pairs for a GPU that
// joins are it and each earlier one, both ways. Plain logic of the CUDA device, checked here
// on the CPU so that the GPU suites skip wholly where there is no GPU.
void TestKernels::cudaPeerAccessPairsOnlyBetweenGpusThatHoldDevices()
{
#ifndef GPULAB_HAVE_CUDA
    QSKIP("built without CUDA");
#else
    using gpulab::peer_pairs_to_enable;
    using Pairs = std::vector<std::pair<int, int>>;
    QVERIFY(peer_pairs_to_enable({}, 0).empty());
    QVERIFY(peer_pairs_to_enable({0}, 0).empty()); // a second device on GPU 0
    QVERIFY((peer_pairs_to_enable({0}, 1) == Pairs{{1, 0}, {0, 1}}));
    QVERIFY((peer_pairs_to_enable({0, 1}, 3) == Pairs{{3, 0}, {0, 3}, {3, 1}, {1, 3}}));
    QVERIFY(peer_pairs_to_enable({0, 1, 3}, 1).empty());
    // Two devices on a machine with eight GPUs touch GPUs 0 and 1 alone.
    std::vector<int> held;
    Pairs all;
    for (int logical = 0; logical < 2; ++logical) {
        const Pairs p = peer_pairs_to_enable(held, logical % 8);
        all.insert(all.end(), p.begin(), p.end());
        held.push_back(logical % 8);
    }
    for (const auto& [a, b] : all)
        QVERIFY(a < 2 && b < 2);
    QCOMPARE(int(all.size()), 2);
#endif
}

QTEST_APPLESS_MAIN(TestKernels)
#include "tst_kernels.moc"
