// The fast CPU kernels: what simulated devices run by default (GPULAB_KERNELS=reference
// selects the plain reference instead). Same interface and results as the reference up to
// float rounding; tst_kernels checks every op against it on LeNet's shapes and odd ones.
//
// Where the time goes (LeNet, per image): conv2 is 12.2 of 13.3 MFLOP (forward, backward
// data, backward weights: 4.05 each), so convolution is one large GEMM per block of images
// instead of one small GEMM per image: im2col of a block into (c*r*s, images*oh*ow),
// then a single sgemm (oneDNN's AVX-512 kernels where built with it). A block is sized to
// stay in the core's L2 cache. Pooling, ReLU and the loss are memory-bound loops.
//
// One binary for every x86-64 CPU: each table has an instruction set (cpu_isa(): what the
// CPU has, capped by GPULAB_CPU_ISA), and the paths written for AVX-512 or AVX2 (one file
// each: cpu_fast_avx512.cpp, cpu_fast_avx2.cpp) are compiled for it alone (target
// attributes) and taken only where the table's set allows.
#include "kernels/cpu_fast_kernels.h"

#include "device/cpu_device.h"
#include "kernels/cpu_fast_gemm.h"
#include "kernels/cpu_fast_simd.h"
#include "kernels/kernel_checks.h"
#include "kernels/kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gpulab {
namespace {

// ---- preconditions --------------------------------------------------------------------

// check_conv_shape, check_workspace: kernels/kernel_checks.h

// ---- threads --------------------------------------------------------------------------
// f(thread, threads) on `threads` threads of the calling device (1: the caller alone, no
// OpenMP team at all). An exception in any thread is rethrown on the caller.
template <class F>
void run_threads(int threads, F&& f)
{
#ifdef _OPENMP
    if (threads > 1) {
        std::exception_ptr err;
        std::mutex err_mutex;
#pragma omp parallel num_threads(threads)
        {
            try {
                f(omp_get_thread_num(), omp_get_num_threads());
            } catch (...) {
                std::lock_guard lock(err_mutex);
                if (!err)
                    err = std::current_exception();
            }
        }
        if (err)
            std::rethrow_exception(err);
        return;
    }
#endif
    (void)threads;
    f(0, 1);
}

// ---- blocking -------------------------------------------------------------------------
// A block of images is convolved with one GEMM. Its im2col buffer (c*r*s, block*oh*ow)
// and the GEMM's output (k, block*oh*ow) are sized to stay in a core's L2 cache.
constexpr int64_t kBlockFloats = 256 * 1024; // 1 MiB of im2col per block

struct ConvPlan {
    int depth = 0;           // c*r*s
    int pix = 0;             // oh*ow
    int block = 1;           // images per GEMM
    int threads = 1;         // threads that get blocks
    int64_t col = 0;         // floats: im2col (depth, block*pix)
    int64_t stage = 0;       // floats: GEMM output / gathered dy (k, block*pix)
    int64_t partial = 0;     // floats: a thread's own dw and db (threads > 1)
    int64_t per_thread = 0;  // floats
};

ConvPlan plan_conv(const ConvShape& sh, int max_threads)
{
    ConvPlan p;
    p.depth = sh.c * sh.r * sh.s;
    p.pix = sh.oh() * sh.ow();
    const int n = std::max(1, sh.n);
    const int64_t per_image = int64_t(p.depth) * p.pix;
    p.block = int(std::clamp<int64_t>(kBlockFloats / std::max<int64_t>(1, per_image), 1, n));
    // With OpenBLAS the GEMM itself runs on the device's threads; the blocks run in turn.
    p.threads = fast_sgemm_has_own_threads() ? 1 : std::max(1, std::min(max_threads, n));
    if (p.threads > 1) // every thread gets at least one block
        p.block = std::min(p.block, (n + p.threads - 1) / p.threads);
    p.col = per_image * p.block;
    p.stage = int64_t(sh.k) * p.pix * p.block;
    p.partial = p.threads > 1 ? int64_t(sh.k) * p.depth + sh.k : 0;
    // Keep each thread's part 64-byte aligned.
    p.per_thread = (p.col + p.stage + p.partial + 15) / 16 * 16;
    return p;
}

// ---- the output region a GEMM covers ----------------------------------------------------
// Normally all of (oh, ow). In backward, a trailing output row or column whose gradient is
// zero for every image and filter adds nothing to dx or dw, so it is left out of the GEMMs.
// LeNet meets this on every step: its second pool drops conv2's 9th row and column (floor),
// so 17 of conv2's 81 output pixels always have a zero gradient (21% of its backward work).
using fast_cpu::Extent;

Extent full_extent(const ConvShape& sh)
{
    return {sh.oh(), sh.ow()};
}

// Drops the last output row and/or column when dy is exactly zero there (NaN is not).
Extent nonzero_extent(const ConvShape& sh, const float* dy)
{
    Extent e = full_extent(sh);
    const int64_t planes = int64_t(sh.n) * sh.k, pix = int64_t(e.oh) * e.ow;
    bool row_zero = e.oh > 1, col_zero = e.ow > 1;
    for (int64_t pl = 0; pl < planes && (row_zero || col_zero); ++pl) {
        const float* d = dy + pl * pix;
        if (row_zero)
            for (int ox = 0; ox < e.ow; ++ox)
                row_zero &= d[(e.oh - 1) * e.ow + ox] == 0.0f;
        if (col_zero)
            for (int oy = 0; oy < e.oh; ++oy)
                col_zero &= d[oy * e.ow + e.ow - 1] == 0.0f;
    }
    e.oh -= row_zero ? 1 : 0;
    e.ow -= col_zero ? 1 : 0;
    return e;
}

bool avx512(CpuIsa isa) { return isa == CpuIsa::Avx512; }
bool avx2_or_more(CpuIsa isa) { return isa >= CpuIsa::Avx2; }

// ---- im2col / col2im over a block of images -------------------------------------------
// col (depth, b*pix), leading dimension b*pix (pix = e.oh*e.ow): row (ci, ri, si), column
// (i, oy, ox) holds x[i, ci, oy+ri, ox+si]. The image loop is outermost so that one image
// stays in L1. Narrow rows take the vector paths (cpu_fast_simd.h).

void im2col_block(const ConvShape& sh, Extent e, const float* x, int b, float* col, CpuIsa isa)
{
#if GPULAB_FAST_SIMD
    if (e.ow <= 16 && avx512(isa))
        return fast_cpu::im2col_narrow_avx512(sh, e, x, b, col);
    if (e.ow >= 8 && e.ow <= 16 && avx2_or_more(isa))
        return fast_cpu::im2col_narrow_avx2(sh, e, x, b, col);
#endif
    const int pix = e.pix();
    const int64_t ld = int64_t(b) * pix, chw = int64_t(sh.c) * sh.h * sh.w;
    for (int i = 0; i < b; ++i) {
        const float* xi = x + i * chw;
        float* ci_out = col + int64_t(i) * pix;
        int64_t row = 0;
        for (int ci = 0; ci < sh.c; ++ci)
            for (int ri = 0; ri < sh.r; ++ri)
                for (int si = 0; si < sh.s; ++si, ++row) {
                    float* out = ci_out + row * ld;
                    const float* in = xi + (int64_t(ci) * sh.h + ri) * sh.w + si;
                    for (int oy = 0; oy < e.oh; ++oy)
                        std::memcpy(out + oy * e.ow, in + int64_t(oy) * sh.w, size_t(e.ow) * sizeof(float));
                }
    }
}

// dx of the block's images = the adjoint of im2col_block (overwritten).
void col2im_block(const ConvShape& sh, Extent e, const float* col, int b, float* dx, CpuIsa isa)
{
#if GPULAB_FAST_SIMD
    if (sh.w <= 16 && avx512(isa))
        return fast_cpu::col2im_narrow_avx512(sh, e, col, b, dx);
    if (sh.w > 8 && sh.w <= 16 && avx2_or_more(isa))
        return fast_cpu::col2im_narrow_avx2(sh, e, col, b, dx);
#endif
    const int pix = e.pix();
    const int64_t ld = int64_t(b) * pix, chw = int64_t(sh.c) * sh.h * sh.w;
    std::fill(dx, dx + b * chw, 0.0f);
    for (int i = 0; i < b; ++i) {
        float* dxi = dx + i * chw;
        const float* ci_in = col + int64_t(i) * pix;
        int64_t row = 0;
        for (int ci = 0; ci < sh.c; ++ci)
            for (int ri = 0; ri < sh.r; ++ri)
                for (int si = 0; si < sh.s; ++si, ++row) {
                    const float* in = ci_in + row * ld;
                    float* out = dxi + (int64_t(ci) * sh.h + ri) * sh.w + si;
                    for (int oy = 0; oy < e.oh; ++oy) {
                        float* o = out + int64_t(oy) * sh.w;
                        const float* g = in + oy * e.ow;
                        for (int ox = 0; ox < e.ow; ++ox)
                            o[ox] += g[ox];
                    }
                }
    }
}

// stage (k, b*pix) <- dy[i] (k, oh, ow) restricted to the extent, for the block's images.
void gather_dy(const ConvShape& sh, Extent e, const float* dy, int b, float* stage)
{
    const int full_ow = sh.ow(), full_pix = sh.oh() * full_ow, pix = e.pix();
    const int64_t ld = int64_t(b) * pix;
    for (int i = 0; i < b; ++i)
        for (int f = 0; f < sh.k; ++f) {
            const float* src = dy + (int64_t(i) * sh.k + f) * full_pix;
            float* dst = stage + f * ld + int64_t(i) * pix;
            if (e.ow == full_ow) {
                std::memcpy(dst, src, size_t(pix) * sizeof(float));
            } else {
                for (int oy = 0; oy < e.oh; ++oy)
                    std::memcpy(dst + oy * e.ow, src + oy * full_ow, size_t(e.ow) * sizeof(float));
            }
        }
}

// ---- direct convolution of one input channel (LeNet's conv1) --------------------------
// As a GEMM its depth would be c*r*s = 9: too thin to run near peak, and its backward
// weights would be a (20 x 9) result summed over 676 pixels per image. Instead a vector
// holds 16 neighbouring output pixels of a row; forward loads the r*s shifted input
// vectors once and uses them for every filter, backward keeps r*s vector sums per filter.
// AVX-512 (16 pixels a vector) and AVX2 with FMA (8); with neither the GEMM path runs.

bool use_direct(const ConvShape& sh, CpuIsa isa)
{
    return sh.c == 1 && sh.r == 3 && sh.s == 3 && avx2_or_more(isa);
}

void direct_forward(const ConvShape& sh, const float* x, const float* w, const float* b, float* y, int i0, int i1,
                    bool relu, CpuIsa isa)
{
#if GPULAB_FAST_SIMD
    if (avx512(isa))
        fast_cpu::direct3x3_forward_avx512(sh, x, w, b, y, i0, i1, relu);
    else
        fast_cpu::direct3x3_forward_avx2(sh, x, w, b, y, i0, i1, relu);
#else
    (void)sh, (void)x, (void)w, (void)b, (void)y, (void)i0, (void)i1, (void)relu, (void)isa;
    throw std::logic_error("direct convolution is not built for this CPU");
#endif
}

void direct_backward_weights(const ConvShape& sh, const float* x, const float* dy, float* dw, float* db, int f0,
                             int f1, CpuIsa isa)
{
#if GPULAB_FAST_SIMD
    (void)isa; // AVX2's on AVX-512 machines too (cpu_fast_simd.h)
    fast_cpu::direct3x3_backward_weights_avx2(sh, x, dy, dw, db, f0, f1);
#else
    (void)sh, (void)x, (void)dy, (void)dw, (void)db, (void)f0, (void)f1, (void)isa;
    throw std::logic_error("direct convolution is not built for this CPU");
#endif
}

// The sum of v[0, n) in 8 independent partial sums, added in a fixed order at the end. One
// running sum is a chain of dependent adds, 4 cycles each: conv2's bias gradient took 0.45
// of the 5.4 ms its backward-weights costs for 128 images. (GCC vectorizes the lanes.)
float sum_floats(const float* v, int64_t n)
{
    float lane[8] = {};
    int64_t q = 0;
    for (; q + 8 <= n; q += 8)
        for (int l = 0; l < 8; ++l)
            lane[l] += v[q + l];
    for (int l = 0; q < n; ++q, ++l)
        lane[l] += v[q];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// o[q] = s[q] + bias for q < count, through the ReLU (v > 0 ? v : 0, as the reference) when relu.
void store_bias_act(const float* s, int count, float bias, bool relu, float* o)
{
    if (relu) {
        for (int q = 0; q < count; ++q) {
            const float v = s[q] + bias;
            o[q] = v > 0.0f ? v : 0.0f;
        }
    } else {
        for (int q = 0; q < count; ++q)
            o[q] = s[q] + bias;
    }
}

// [begin, end) of `count` items for thread t of nt: contiguous, as even as can be.
std::pair<int, int> share(int count, int t, int nt)
{
    const int base = count / nt, extra = count % nt;
    const int begin = t * base + std::min(t, extra);
    return {begin, begin + base + (t < extra ? 1 : 0)};
}

// ---- the kernels ----------------------------------------------------------------------

class CpuFastKernels final : public Kernels {
public:
    CpuFastKernels(int threads, CpuIsa isa) : m_threads(std::max(1, threads)), m_isa(isa) {}

    const char* name() const override { return "cpu-fast"; }
    CpuIsa isa() const { return m_isa; }

    // ---- convolution ----

    int64_t conv_workspace_bytes(const ConvShape& sh) const override
    {
        if (use_direct(sh, m_isa))
            return 0;
        const ConvPlan p = plan_conv(sh, m_threads);
        return p.per_thread * p.threads * int64_t(sizeof(float));
    }

    void conv2d_forward(const ConvShape& sh, const float* x, const float* w, const float* b, float* y,
                        float* ws) const override
    {
        conv_forward(sh, x, w, b, y, ws, false);
    }

    // One pass: the ReLU is applied as the output is stored.
    void conv2d_relu_forward(const ConvShape& sh, const float* x, const float* w, const float* b, float* y,
                             float* ws) const override
    {
        conv_forward(sh, x, w, b, y, ws, true);
    }

    // The GEMM path computes the window alone (its im2col and GEMM cover rows x cols pixels:
    // LeNet's conv2 64 of 81, 21% of its forward work) and writes 0 to the rest; the direct
    // path (conv1) computes every pixel.
    void conv2d_relu_forward_window(const ConvShape& sh, int rows, int cols, const float* x, const float* w,
                                    const float* b, float* y, float* ws) const override
    {
        check_conv_shape("conv2d_relu_forward_window", sh);
        check_conv_window("conv2d_relu_forward_window", sh, rows, cols);
        conv_forward(sh, x, w, b, y, ws, true, Extent{rows, cols});
    }

    // y over the extent e (all of it unless a window is asked for); pixels outside it get 0.
    void conv_forward(const ConvShape& sh, const float* x, const float* w, const float* b, float* y, float* ws,
                      bool relu, Extent e = {}) const
    {
        check_conv_shape("conv2d_forward", sh);
        if (sh.n == 0)
            return;
        if (use_direct(sh, m_isa)) {
            const int threads = std::min(m_threads, sh.n);
            run_threads(threads, [&](int t, int nt) {
                const auto [i0, i1] = share(sh.n, t, nt);
                direct_forward(sh, x, w, b, y, i0, i1, relu, m_isa);
            });
            return;
        }
        check_workspace("conv2d_forward", ws);
        const ConvPlan p = plan_conv(sh, m_threads);
        if (e.oh == 0)
            e = full_extent(sh);
        const bool full = e.oh == sh.oh() && e.ow == sh.ow();
        const int ow = sh.ow(), epix = e.pix();
        const int64_t chw = int64_t(sh.c) * sh.h * sh.w, kp = int64_t(sh.k) * p.pix;
        const int blocks = (sh.n + p.block - 1) / p.block;
        run_threads(p.threads, [&](int t, int nt) {
            float* col = ws + t * p.per_thread;
            float* stage = col + p.col;
            for (int blk = t; blk < blocks; blk += nt) {
                const int i0 = blk * p.block, bn = std::min(p.block, sh.n - i0);
                const int ld = bn * epix;
                im2col_block(sh, e, x + i0 * chw, bn, col, m_isa);
                // stage (k, bn*epix) = w (k, depth) . col (depth, bn*epix)
                fast_sgemm(false, false, sh.k, ld, p.depth, 1.0f, w, p.depth, col, ld, 0.0f, stage, ld, gemm_threads());
                for (int i = 0; i < bn; ++i) {
                    float* yi = y + (i0 + i) * kp;
                    for (int f = 0; f < sh.k; ++f) {
                        const float* s = stage + int64_t(f) * ld + int64_t(i) * epix;
                        float* o = yi + int64_t(f) * p.pix;
                        const float bias = b[f];
                        if (full) {
                            store_bias_act(s, p.pix, bias, relu, o);
                            continue;
                        }
                        for (int oy = 0; oy < e.oh; ++oy) {
                            store_bias_act(s + oy * e.ow, e.ow, bias, relu, o + oy * ow);
                            std::fill(o + oy * ow + e.ow, o + (oy + 1) * ow, 0.0f);
                        }
                        std::fill(o + e.oh * ow, o + p.pix, 0.0f);
                    }
                }
            }
        });
    }

    void conv2d_backward_data(const ConvShape& sh, const float* dy, const float* w, float* dx,
                              float* ws) const override
    {
        check_conv_shape("conv2d_backward_data", sh);
        if (sh.n == 0)
            return;
        if (use_direct(sh, m_isa)) { // not in LeNet (conv1 needs no dx): plain loops, no workspace
            const int oh = sh.oh(), ow = sh.ow(), rs = sh.r * sh.s;
            std::fill(dx, dx + int64_t(sh.n) * sh.h * sh.w, 0.0f);
            for (int i = 0; i < sh.n; ++i) {
                float* dxi = dx + int64_t(i) * sh.h * sh.w;
                for (int f = 0; f < sh.k; ++f) {
                    const float* d = dy + (int64_t(i) * sh.k + f) * oh * ow;
                    for (int oy = 0; oy < oh; ++oy)
                        for (int ri = 0; ri < sh.r; ++ri)
                            for (int si = 0; si < sh.s; ++si) {
                                const float wv = w[f * rs + ri * sh.s + si];
                                float* o = dxi + (oy + ri) * sh.w + si;
                                for (int ox = 0; ox < ow; ++ox)
                                    o[ox] += wv * d[oy * ow + ox];
                            }
                }
            }
            return;
        }
        check_workspace("conv2d_backward_data", ws);
        const ConvPlan p = plan_conv(sh, m_threads);
        const Extent e = nonzero_extent(sh, dy);
        const int64_t chw = int64_t(sh.c) * sh.h * sh.w, kp = int64_t(sh.k) * p.pix;
        const int blocks = (sh.n + p.block - 1) / p.block;
        run_threads(p.threads, [&](int t, int nt) {
            float* col = ws + t * p.per_thread;
            float* stage = col + p.col;
            for (int blk = t; blk < blocks; blk += nt) {
                const int i0 = blk * p.block, bn = std::min(p.block, sh.n - i0);
                const int ld = bn * e.pix();
                gather_dy(sh, e, dy + i0 * kp, bn, stage);
                // dcol (depth, bn*pix) = w^T (depth, k) . dy (k, bn*pix)
                fast_sgemm(true, false, p.depth, ld, sh.k, 1.0f, w, p.depth, stage, ld, 0.0f, col, ld, gemm_threads());
                col2im_block(sh, e, col, bn, dx + i0 * chw, m_isa);
            }
        });
    }

    void conv2d_backward_weights(const ConvShape& sh, const float* x, const float* dy, float* dw, float* db,
                                 float* ws) const override
    {
        check_conv_shape("conv2d_backward_weights", sh);
        const int64_t wsize = int64_t(sh.k) * sh.c * sh.r * sh.s;
        if (sh.n == 0) {
            std::fill(dw, dw + wsize, 0.0f);
            std::fill(db, db + sh.k, 0.0f);
            return;
        }
        if (use_direct(sh, m_isa)) {
            const int threads = std::min(m_threads, sh.k);
            run_threads(threads, [&](int t, int nt) {
                const auto [f0, f1] = share(sh.k, t, nt);
                direct_backward_weights(sh, x, dy, dw, db, f0, f1, m_isa);
            });
            return;
        }
        check_workspace("conv2d_backward_weights", ws);
        const ConvPlan p = plan_conv(sh, m_threads);
        const Extent e = nonzero_extent(sh, dy);
        const int64_t chw = int64_t(sh.c) * sh.h * sh.w, kp = int64_t(sh.k) * p.pix;
        const int blocks = (sh.n + p.block - 1) / p.block;
        std::vector<int> used(size_t(p.threads), 0);
        run_threads(p.threads, [&](int t, int nt) {
            float* col = ws + t * p.per_thread;
            float* stage = col + p.col;
            // Thread 0 sums into dw, db; the others into their own part, added below.
            float* my_dw = t == 0 ? dw : stage + p.stage;
            float* my_db = t == 0 ? db : my_dw + wsize;
            bool first = true;
            for (int blk = t; blk < blocks; blk += nt) {
                const int i0 = blk * p.block, bn = std::min(p.block, sh.n - i0);
                const int ld = bn * e.pix();
                im2col_block(sh, e, x + i0 * chw, bn, col, m_isa);
                gather_dy(sh, e, dy + i0 * kp, bn, stage);
                // dw (k, depth) (+)= dy (k, bn*pix) . col^T (bn*pix, depth)
                fast_sgemm(false, true, sh.k, p.depth, ld, 1.0f, stage, ld, col, ld, first ? 0.0f : 1.0f, my_dw,
                           p.depth, gemm_threads());
                for (int f = 0; f < sh.k; ++f) {
                    const float sum = sum_floats(stage + int64_t(f) * ld, ld);
                    my_db[f] = first ? sum : my_db[f] + sum;
                }
                first = false;
            }
            used[size_t(t)] = first ? 0 : 1;
        });
        for (int t = 1; t < p.threads; ++t) {
            if (!used[size_t(t)])
                continue;
            const float* pdw = ws + t * p.per_thread + p.col + p.stage;
            const float* pdb = pdw + wsize;
            for (int64_t j = 0; j < wsize; ++j)
                dw[j] += pdw[j];
            for (int f = 0; f < sh.k; ++f)
                db[f] += pdb[f];
        }
    }

    // ---- 2x2 average pooling, stride 2 (as the reference: floor, dropped cells get 0) ----

    void avgpool2_forward(int n, int c, int h, int w, const float* x, float* y) const override
    {
#if GPULAB_FAST_SIMD
        if (w / 2 >= 8 && avx2_or_more(m_isa)) // LeNet's pool1 (26 -> 13); pool2 (9 -> 4) below
            return fast_cpu::avgpool2_forward_avx2(int64_t(n) * c, h, w, x, y);
#endif
        const int oh = h / 2, ow = w / 2;
        for (int64_t plane = 0; plane < int64_t(n) * c; ++plane) {
            const float* xp = x + plane * h * w;
            float* yp = y + plane * oh * ow;
            for (int oy = 0; oy < oh; ++oy) {
                const float* r0 = xp + (2 * oy) * w;
                const float* r1 = r0 + w;
                float* o = yp + oy * ow;
                for (int ox = 0; ox < ow; ++ox)
                    o[ox] = 0.25f * (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]);
            }
        }
    }

    void avgpool2_backward(int n, int c, int h, int w, const float* dy, float* dx) const override
    {
        const int oh = h / 2, ow = w / 2;
        for (int64_t plane = 0; plane < int64_t(n) * c; ++plane) {
            const float* dyp = dy + plane * oh * ow;
            float* dxp = dx + plane * h * w;
            for (int oy = 0; oy < oh; ++oy) {
                const float* g = dyp + oy * ow;
                float* r0 = dxp + (2 * oy) * w;
                float* r1 = r0 + w;
                for (int ox = 0; ox < ow; ++ox) {
                    const float v = 0.25f * g[ox];
                    r0[2 * ox] = v;
                    r0[2 * ox + 1] = v;
                    r1[2 * ox] = v;
                    r1[2 * ox + 1] = v;
                }
                if (w & 1) {
                    r0[w - 1] = 0.0f;
                    r1[w - 1] = 0.0f;
                }
            }
            if (h & 1)
                std::fill(dxp + (h - 1) * w, dxp + h * w, 0.0f);
        }
    }

    // pool backward and the ReLU's mask in one pass over dx (the same values as the two).
    void avgpool2_relu_backward(int n, int c, int h, int w, const float* dy, const float* y,
                                float* dx) const override
    {
#if GPULAB_FAST_SIMD
        if (w % 2 == 0 && w <= 32 && avx512(m_isa))
            return fast_cpu::avgpool2_relu_backward_avx512(int64_t(n) * c, h, w, dy, y, dx);
        if (w >= 2 && avx2_or_more(m_isa)) // also LeNet's pool2 (9 -> 4) on AVX-512 machines
            return fast_cpu::avgpool2_relu_backward_avx2(int64_t(n) * c, h, w, dy, y, dx);
#endif
        const int oh = h / 2, ow = w / 2;
        for (int64_t plane = 0; plane < int64_t(n) * c; ++plane) {
            const float* dyp = dy + plane * oh * ow;
            const float* yp = y + plane * h * w;
            float* dxp = dx + plane * h * w;
            for (int oy = 0; oy < oh; ++oy) {
                const float* g = dyp + oy * ow;
                const float* y0 = yp + (2 * oy) * w;
                const float* y1 = y0 + w;
                float* r0 = dxp + (2 * oy) * w;
                float* r1 = r0 + w;
                for (int ox = 0; ox < ow; ++ox) {
                    const float v = 0.25f * g[ox];
                    r0[2 * ox] = y0[2 * ox] > 0.0f ? v : 0.0f;
                    r0[2 * ox + 1] = y0[2 * ox + 1] > 0.0f ? v : 0.0f;
                    r1[2 * ox] = y1[2 * ox] > 0.0f ? v : 0.0f;
                    r1[2 * ox + 1] = y1[2 * ox + 1] > 0.0f ? v : 0.0f;
                }
                if (w & 1) {
                    r0[w - 1] = 0.0f;
                    r1[w - 1] = 0.0f;
                }
            }
            if (h & 1)
                std::fill(dxp + (h - 1) * w, dxp + h * w, 0.0f);
        }
    }

    // ---- ReLU ----

    // LeNet runs both in place (x == y, dy == dx); element i only touches index i, so the
    // loops are vector loops whatever the aliasing (ivdep). Backward loads dy[i] whatever
    // the mask: the reference's `y > 0 ? dy : 0` loads it only where y > 0, which GCC keeps
    // as a branch per element (mispredicted half the time: 25x slower on conv1's output).
    void relu_forward(int64_t count, const float* x, float* y) const override
    {
#pragma GCC ivdep
        for (int64_t i = 0; i < count; ++i)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    }

    void relu_backward(int64_t count, const float* y, const float* dy, float* dx) const override
    {
#pragma GCC ivdep
        for (int64_t i = 0; i < count; ++i) {
            const float g = dy[i];
            dx[i] = y[i] > 0.0f ? g : 0.0f;
        }
    }

    // ---- dense ----

    void dense_forward(int n, int in, int out, const float* x, const float* w, const float* b,
                       float* y) const override
    {
        for (int i = 0; i < n; ++i)
            std::memcpy(y + int64_t(i) * out, b, size_t(out) * sizeof(float));
        if (n == 0 || in == 0 || out == 0)
            return;
        // y (n,out) += x (n,in) . w (in,out)
        fast_sgemm(false, false, n, out, in, 1.0f, x, in, w, out, 1.0f, y, out, m_threads);
    }

    void dense_backward(int n, int in, int out, const float* x, const float* w, const float* dy, float* dx,
                        float* dw, float* db) const override
    {
        if (n == 0 || in == 0 || out == 0) {
            std::fill(dw, dw + int64_t(in) * out, 0.0f);
            std::fill(db, db + out, 0.0f);
            if (dx)
                std::fill(dx, dx + int64_t(n) * in, 0.0f);
            return;
        }
        // dx (n,in) = dy (n,out) . w^T (out,in)
        if (dx)
            fast_sgemm(false, true, n, in, out, 1.0f, dy, out, w, out, 0.0f, dx, in, m_threads);
        // dw (in,out) = x^T (in,n) . dy (n,out)
        fast_sgemm(true, false, in, out, n, 1.0f, x, in, dy, out, 0.0f, dw, out, m_threads);
        // db (out) = column sums of dy
        std::fill(db, db + out, 0.0f);
        for (int i = 0; i < n; ++i) {
            const float* row = dy + int64_t(i) * out;
            for (int j = 0; j < out; ++j)
                db[j] += row[j];
        }
    }

    // ---- loss, elementwise: tiny next to the convolutions; the reference's loops ----

    void softmax_xent(int n, int classes, const float* logits, const int32_t* labels, float* loss_sum,
                      float* dlogits) const override
    {
        cpu_reference_kernels().softmax_xent(n, classes, logits, labels, loss_sum, dlogits);
    }

    void count_correct(int n, int classes, const float* logits, const int32_t* labels,
                       float* correct) const override
    {
        cpu_reference_kernels().count_correct(n, classes, logits, labels, correct);
    }

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

    void fill(int64_t count, float value, float* y) const override { std::fill(y, y + count, value); }

    void gather_rows(int n, int64_t row_bytes, const int32_t* index, int64_t src_rows, const void* src,
                     void* dst) const override
    {
        cpu_gather_rows(n, row_bytes, index, src_rows, src, dst);
    }

private:
    // Threads for a GEMM inside a convolution's block loop: the caller's thread alone,
    // unless the GEMM library threads itself (then the blocks run in turn, see plan_conv).
    int gemm_threads() const { return fast_sgemm_has_own_threads() ? m_threads : 1; }

    int m_threads;
    CpuIsa m_isa;
};

} // namespace

const Kernels& cpu_fast_kernels(int threads_per_device)
{
    return cpu_fast_kernels(threads_per_device, cpu_isa());
}

const Kernels& cpu_fast_kernels(int threads_per_device, CpuIsa isa)
{
    // One table per thread count and instruction set, made once and never freed (devices
    // hold references).
    static std::mutex mutex;
    static std::map<std::pair<int, CpuIsa>, std::unique_ptr<CpuFastKernels>> tables;
    threads_per_device = std::max(1, threads_per_device);
    isa = std::min(isa, cpu_isa_detected());
    std::lock_guard lock(mutex);
    auto& k = tables[{threads_per_device, isa}];
    if (!k)
        k = std::make_unique<CpuFastKernels>(threads_per_device, isa);
    return *k;
}

std::string cpu_fast_kernel_paths(const Kernels& kernels)
{
    const auto* fast = dynamic_cast<const CpuFastKernels*>(&kernels);
    if (!fast)
        return std::string(kernels.name()) + ": plain loops";
    const CpuIsa isa = fast->isa();
    std::string s = std::string("isa ") + cpu_isa_name(isa) + " (CPU: " + cpu_isa_name(cpu_isa_detected());
    if (const char* cap = std::getenv("GPULAB_CPU_ISA"); cap && *cap)
        s += std::string(", GPULAB_CPU_ISA=") + cap;
    s += "); conv1 (1 channel, 3x3): ";
    s += avx2_or_more(isa) ? std::string("direct ") + cpu_isa_name(isa) + " forward, avx2 backward-weights"
                           : std::string("im2col + GEMM");
    s += "; conv2: im2col + GEMM, im2col of narrow rows ";
    s += avx512(isa) ? "avx512 masked" : avx2_or_more(isa) ? "avx2" : "memcpy";
    s += ", col2im ";
    s += avx512(isa) ? "avx512 masked" : avx2_or_more(isa) ? "avx2" : "loops";
    s += "; pool forward (rows of 16+): ";
    s += avx2_or_more(isa) ? "avx2" : "loops";
    s += "; pool+ReLU backward: ";
    s += avx512(isa) ? "avx512 (even rows up to 32), avx2 (others)" : avx2_or_more(isa) ? "avx2" : "loops";
    s += "; GEMM: ";
    s += fast_sgemm_backend();
    return s;
}

const Kernels& cpu_sim_kernels(const Device& device)
{
    const char* choice = std::getenv("GPULAB_KERNELS");
    const std::string c = choice ? choice : "";
    if (c == "reference")
        return cpu_reference_kernels();
    if (!c.empty() && c != "fast")
        throw std::invalid_argument("GPULAB_KERNELS='" + c + "' is not a kernel set: use fast (the default) "
                                    "or reference (the plain oracle)");
    const auto* cpu = dynamic_cast<const CpuDevice*>(&device);
    return cpu_fast_kernels(cpu ? cpu->threads() : 1, cpu_isa()); // cpu_isa() throws for a bad GPULAB_CPU_ISA
}

const char* cpu_fast_gemm_backend()
{
    return fast_sgemm_backend();
}

} // namespace gpulab
