// The CPU reference kernels: the oracle every other backend is checked against, and the
// code a student reads first. Plain loops, except convolution (im2col + sgemm) and dense
// layers (sgemm), which go through BLAS so that CPU-simulated devices train at a useful speed.
#include "kernels/kernel_checks.h"
#include "kernels/kernels.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace gpulab {
namespace {

// ---- preconditions --------------------------------------------------------------------

// check_conv_shape, check_workspace: kernels/kernel_checks.h

void check_labels(const char* op, int n, int classes, const int32_t* labels)
{
    for (int i = 0; i < n; ++i)
        if (labels[i] < 0 || labels[i] >= classes)
            throw std::out_of_range(std::string(op) + ": label " + std::to_string(labels[i]) + " at row "
                                    + std::to_string(i) + " is outside [0, " + std::to_string(classes)
                                    + "); the labels do not match the number of classes");
}

// ---- im2col / col2im ------------------------------------------------------------------
// col (c*r*s, oh*ow): row (ci, ri, si) holds x[ci, oy+ri, ox+si] for every output (oy, ox),
// so that the convolution of one image is the matrix product w (k, c*r*s) . col.

void im2col(const ConvShape& sh, const float* x /* (c,h,w) */, float* col)
{
    const int oh = sh.oh(), ow = sh.ow();
    int64_t row = 0;
    for (int ci = 0; ci < sh.c; ++ci)
        for (int ri = 0; ri < sh.r; ++ri)
            for (int si = 0; si < sh.s; ++si, ++row) {
                float* out = col + row * oh * ow;
                for (int oy = 0; oy < oh; ++oy) {
                    const float* in = x + (int64_t(ci) * sh.h + oy + ri) * sh.w + si;
                    for (int ox = 0; ox < ow; ++ox)
                        out[oy * ow + ox] = in[ox];
                }
            }
}

// The adjoint of im2col: adds every entry of col back into the pixel it was read from.
void col2im_add(const ConvShape& sh, const float* col, float* x /* (c,h,w) */)
{
    const int oh = sh.oh(), ow = sh.ow();
    int64_t row = 0;
    for (int ci = 0; ci < sh.c; ++ci)
        for (int ri = 0; ri < sh.r; ++ri)
            for (int si = 0; si < sh.s; ++si, ++row) {
                const float* in = col + row * oh * ow;
                for (int oy = 0; oy < oh; ++oy) {
                    float* out = x + (int64_t(ci) * sh.h + oy + ri) * sh.w + si;
                    for (int ox = 0; ox < ow; ++ox)
                        out[ox] += in[oy * ow + ox];
                }
            }
}

// ---- the kernels ----------------------------------------------------------------------

class CpuReferenceKernels final : public Kernels {
public:
    const char* name() const override { return "cpu-reference"; }

    // ---- convolution ----

    // One image's im2col buffer: the conv calls loop over the batch and reuse it.
    int64_t conv_workspace_bytes(const ConvShape& sh) const override
    {
        return int64_t(sh.c) * sh.r * sh.s * sh.oh() * sh.ow() * int64_t(sizeof(float));
    }

    void conv2d_forward(const ConvShape& sh, const float* x, const float* w, const float* b, float* y,
                        float* ws) const override
    {
        check_conv_shape("conv2d_forward", sh);
        if (sh.n == 0)
            return;
        check_workspace("conv2d_forward", ws);
        const int m = sh.k, pixels = sh.oh() * sh.ow(), depth = sh.c * sh.r * sh.s;
        for (int i = 0; i < sh.n; ++i) {
            const float* xi = x + int64_t(i) * sh.c * sh.h * sh.w; // (c,h,w)
            float* yi = y + int64_t(i) * m * pixels;                 // (k,oh*ow)
            for (int f = 0; f < m; ++f)
                for (int p = 0; p < pixels; ++p)
                    yi[int64_t(f) * pixels + p] = b[f];
            im2col(sh, xi, ws);
            // yi (k, oh*ow) += w (k, c*r*s) . col (c*r*s, oh*ow)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, pixels, depth, 1.0f, w, depth, ws,
                        pixels, 1.0f, yi, pixels);
        }
    }

    void conv2d_backward_data(const ConvShape& sh, const float* dy, const float* w, float* dx,
                              float* ws) const override
    {
        check_conv_shape("conv2d_backward_data", sh);
        if (sh.n == 0)
            return;
        check_workspace("conv2d_backward_data", ws);
        const int m = sh.k, pixels = sh.oh() * sh.ow(), depth = sh.c * sh.r * sh.s;
        for (int i = 0; i < sh.n; ++i) {
            const float* dyi = dy + int64_t(i) * m * pixels;         // (k,oh*ow)
            float* dxi = dx + int64_t(i) * sh.c * sh.h * sh.w;       // (c,h,w)
            // dcol (c*r*s, oh*ow) = w^T (c*r*s, k) . dyi (k, oh*ow)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, depth, pixels, m, 1.0f, w, depth, dyi,
                        pixels, 0.0f, ws, pixels);
            std::fill(dxi, dxi + int64_t(sh.c) * sh.h * sh.w, 0.0f);
            col2im_add(sh, ws, dxi);
        }
    }

    void conv2d_backward_weights(const ConvShape& sh, const float* x, const float* dy, float* dw, float* db,
                                 float* ws) const override
    {
        check_conv_shape("conv2d_backward_weights", sh);
        const int m = sh.k, pixels = sh.oh() * sh.ow(), depth = sh.c * sh.r * sh.s;
        // Overwrite, then accumulate the sum over the batch.
        std::fill(dw, dw + int64_t(m) * depth, 0.0f);
        std::fill(db, db + m, 0.0f);
        if (sh.n == 0)
            return;
        check_workspace("conv2d_backward_weights", ws);
        for (int i = 0; i < sh.n; ++i) {
            const float* xi = x + int64_t(i) * sh.c * sh.h * sh.w; // (c,h,w)
            const float* dyi = dy + int64_t(i) * m * pixels;        // (k,oh*ow)
            im2col(sh, xi, ws);
            // dw (k, c*r*s) += dyi (k, oh*ow) . col^T (oh*ow, c*r*s)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, depth, pixels, 1.0f, dyi, pixels, ws,
                        pixels, 1.0f, dw, depth);
            for (int f = 0; f < m; ++f) {
                float sum = 0.0f;
                for (int p = 0; p < pixels; ++p)
                    sum += dyi[int64_t(f) * pixels + p];
                db[f] += sum;
            }
        }
    }

    // ---- 2x2 average pooling, stride 2 ----
    // An odd last row or column is dropped (floor), as in MXNet's 'valid' pooling: LeNet's
    // second pool takes 9x9 to 4x4. Its pixels get a zero gradient.

    void avgpool2_forward(int n, int c, int h, int w, const float* x, float* y) const override
    {
        const int oh = h / 2, ow = w / 2;
        for (int64_t plane = 0; plane < int64_t(n) * c; ++plane) {
            const float* xp = x + plane * h * w;
            float* yp = y + plane * oh * ow;
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ++ox) {
                    const float* p = xp + (2 * oy) * w + 2 * ox;
                    yp[oy * ow + ox] = 0.25f * (p[0] + p[1] + p[w] + p[w + 1]);
                }
        }
    }

    void avgpool2_backward(int n, int c, int h, int w, const float* dy, float* dx) const override
    {
        const int oh = h / 2, ow = w / 2;
        std::fill(dx, dx + int64_t(n) * c * h * w, 0.0f); // covers a dropped odd row/column
        for (int64_t plane = 0; plane < int64_t(n) * c; ++plane) {
            const float* dyp = dy + plane * oh * ow;
            float* dxp = dx + plane * h * w;
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ++ox) {
                    const float g = 0.25f * dyp[oy * ow + ox];
                    float* p = dxp + (2 * oy) * w + 2 * ox;
                    p[0] = g;
                    p[1] = g;
                    p[w] = g;
                    p[w + 1] = g;
                }
        }
    }

    // ---- ReLU ----

    void relu_forward(int64_t count, const float* x, float* y) const override
    {
        for (int64_t i = 0; i < count; ++i)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    }

    void relu_backward(int64_t count, const float* y, const float* dy, float* dx) const override
    {
        for (int64_t i = 0; i < count; ++i)
            dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }

    // ---- dense ----

    void dense_forward(int n, int in, int out, const float* x, const float* w, const float* b,
                       float* y) const override
    {
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < out; ++j)
                y[int64_t(i) * out + j] = b[j];
        if (n == 0 || in == 0 || out == 0)
            return;
        // y (n,out) += x (n,in) . w (in,out)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, in, 1.0f, x, in, w, out, 1.0f, y, out);
    }

    void dense_backward(int n, int in, int out, const float* x, const float* w, const float* dy, float* dx,
                        float* dw, float* db) const override
    {
        std::fill(dw, dw + int64_t(in) * out, 0.0f);
        std::fill(db, db + out, 0.0f);
        if (dx)
            std::fill(dx, dx + int64_t(n) * in, 0.0f);
        if (n == 0 || in == 0 || out == 0)
            return;
        // dx (n,in) = dy (n,out) . w^T (out,in)
        if (dx)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, in, out, 1.0f, dy, out, w, out, 0.0f, dx,
                        in);
        // dw (in,out) = x^T (in,n) . dy (n,out)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, n, 1.0f, x, in, dy, out, 0.0f, dw, out);
        // db (out) = column sums of dy
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < out; ++j)
                db[j] += dy[int64_t(i) * out + j];
    }

    // ---- loss ----

    // Subtracting the row max keeps exp() from overflowing; the sums run in double.
    // dlogits may be nullptr when only the loss is wanted.
    void softmax_xent(int n, int classes, const float* logits, const int32_t* labels, float* loss_sum,
                      float* dlogits) const override
    {
        check_labels("softmax_xent", n, classes, labels); // before anything is written
        double total = 0.0;
        for (int i = 0; i < n; ++i) {
            const float* row = logits + int64_t(i) * classes;
            float max = row[0];
            for (int j = 1; j < classes; ++j)
                max = std::max(max, row[j]);
            double sum = 0.0;
            for (int j = 0; j < classes; ++j)
                sum += std::exp(double(row[j]) - max);
            // -log softmax[label] = log(sum) - (logit[label] - max)
            total += std::log(sum) - (double(row[labels[i]]) - max);
            if (dlogits) {
                float* d = dlogits + int64_t(i) * classes;
                for (int j = 0; j < classes; ++j)
                    d[j] = float(std::exp(double(row[j]) - max) / sum) - (j == labels[i] ? 1.0f : 0.0f);
            }
        }
        *loss_sum = float(total);
    }

    // Ties go to the first maximum. A label outside [0, classes) never matches.
    void count_correct(int n, int classes, const float* logits, const int32_t* labels,
                       float* correct) const override
    {
        int64_t count = 0;
        for (int i = 0; i < n && classes > 0; ++i) {
            const float* row = logits + int64_t(i) * classes;
            int best = 0;
            for (int j = 1; j < classes; ++j)
                if (row[j] > row[best])
                    best = j;
            if (best == labels[i])
                ++count;
        }
        *correct = float(count);
    }

    // ---- elementwise ----

    void sgd_update(int64_t count, float scale, const float* grad, float* w) const override
    {
        for (int64_t i = 0; i < count; ++i)
            w[i] -= scale * grad[i];
    }

    void add(int64_t count, const float* a, float* y) const override
    {
        for (int64_t i = 0; i < count; ++i)
            y[i] += a[i];
    }

    void copy(int64_t count, const float* src, float* dst) const override
    {
        if (count > 0 && src != dst)
            std::memmove(dst, src, size_t(count) * sizeof(float));
    }

    void fill(int64_t count, float value, float* y) const override
    {
        for (int64_t i = 0; i < count; ++i)
            y[i] = value;
    }

    void gather_rows(int n, int64_t row_bytes, const int32_t* index, int64_t src_rows, const void* src,
                     void* dst) const override
    {
        cpu_gather_rows(n, row_bytes, index, src_rows, src, dst);
    }
};

} // namespace

const Kernels& cpu_reference_kernels()
{
    static const CpuReferenceKernels kernels;
    return kernels;
}

} // namespace gpulab
