// The AVX2 (with FMA) paths of the fast CPU kernels (declared in cpu_fast_simd.h): 8 floats
// a vector, plain loads and stores wherever a row allows (a masked store, vmaskmovps, is
// microcoded and many times slower on AMD's Zen cores). Every function is compiled for
// AVX2 and FMA alone; cpu_fast_kernels.cpp calls them only on a table whose instruction
// set is AVX2 or more.
#include "kernels/cpu_fast_simd.h"

#if GPULAB_FAST_SIMD

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace gpulab::fast_cpu {
namespace {

// ---- helpers, and the direct convolution of one input channel: 8 output pixels a vector ---

// Lanes [0, left) of 8 (all when left >= 8), for maskload / maskstore.
inline __attribute__((target("avx2,fma"))) __m256i tail_mask8(int left)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(std::min(left, 8)), lane);
}

// Masked loads and stores only for a row's tail: on AMD's Zen cores a masked store
// (vmaskmovps) is microcoded and many times slower than a plain one.
inline __attribute__((target("avx2,fma"))) __m256 load8(const float* p, __m256i m, bool full)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

inline __attribute__((target("avx2,fma"))) void store8(float* p, __m256i m, bool full, __m256 v)
{
    if (full)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, m, v);
}

inline __attribute__((target("avx2,fma"))) float lane_sum8(__m256 v)
{
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    float sum = 0.0f;
    for (float l : lanes)
        sum += l;
    return sum;
}

// relu as the reference writes it: a NaN or -0 becomes +0 (the compare is false for both).
template <bool Relu>
inline __attribute__((target("avx2,fma"))) __m256 act8(__m256 v)
{
    return Relu ? _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ)) : v;
}

// Output rows of fewer than 8 pixels: one masked vector a row (not LeNet).
template <int R, int S, bool Relu>
__attribute__((target("avx2,fma"))) void direct1_forward_narrow_avx2(const ConvShape& sh, const float* x,
                                                                     const float* w, const float* b, float* y, int i0,
                                                                     int i1)
{
    constexpr int RS = R * S;
    const int oh = sh.oh(), ow = sh.ow(), pix = oh * ow, hw = sh.h * sh.w;
    const __m256i m = tail_mask8(ow);
    for (int i = i0; i < i1; ++i) {
        const float* xi = x + int64_t(i) * hw;
        float* yi = y + int64_t(i) * sh.k * pix;
        for (int oy = 0; oy < oh; ++oy) {
            __m256 in[RS];
            for (int ri = 0; ri < R; ++ri)
                for (int si = 0; si < S; ++si)
                    in[ri * S + si] = _mm256_maskload_ps(xi + (oy + ri) * sh.w + si, m);
            for (int f = 0; f < sh.k; ++f) {
                __m256 a0 = _mm256_setzero_ps();
                for (int t = 0; t < RS; ++t)
                    a0 = _mm256_fmadd_ps(in[t], _mm256_set1_ps(w[f * RS + t]), a0);
                _mm256_maskstore_ps(yi + int64_t(f) * pix + oy * ow, m,
                                    act8<Relu>(_mm256_add_ps(a0, _mm256_set1_ps(b[f]))));
            }
        }
    }
}

// F filters at V vector positions of one output row: F*V sums in registers, each weight
// broadcast once for V positions and each input vector loaded once for F filters (7 loads
// for 10 FMAs at F=5, V=2, where all filters at one position took about one load per FMA
// and ran out of load slots). Every sum adds its r*s products in the same order, then
// the bias.
template <int R, int S, int F, int V, bool Relu>
inline __attribute__((target("avx2,fma"))) void direct1_row_block_avx2(const float* xrow, int xw, const int* at,
                                                                      const float* w, const float* b, float* out,
                                                                      int64_t pix)
{
    constexpr int RS = R * S;
    __m256 acc[F][V];
    for (int f = 0; f < F; ++f)
        for (int v = 0; v < V; ++v)
            acc[f][v] = _mm256_setzero_ps();
    for (int ri = 0; ri < R; ++ri)
        for (int si = 0; si < S; ++si) {
            const int t = ri * S + si;
            __m256 wt[F];
            for (int f = 0; f < F; ++f)
                wt[f] = _mm256_broadcast_ss(w + f * RS + t);
            for (int v = 0; v < V; ++v) {
                const __m256 in = _mm256_loadu_ps(xrow + ri * xw + at[v] + si);
                for (int f = 0; f < F; ++f)
                    acc[f][v] = _mm256_fmadd_ps(in, wt[f], acc[f][v]);
            }
        }
    for (int f = 0; f < F; ++f) {
        const __m256 bias = _mm256_broadcast_ss(b + f);
        for (int v = 0; v < V; ++v)
            _mm256_storeu_ps(out + f * pix + at[v], act8<Relu>(_mm256_add_ps(acc[f][v], bias)));
    }
}

// y[i] for images [i0, i1); with Relu, y = max(y, 0) as it is stored. A row of ow >= 8
// pixels is covered by whole vectors at 0, 8, ... and a last one ending at the row's end
// (LeNet's 26: 0, 8, 16, 18): the overlap is computed twice, the same way, and stored
// twice with the same values, so no masked load or store is needed (a masked store,
// vmaskmovps, is microcoded on AMD's cores).
template <int R, int S, bool Relu>
__attribute__((target("avx2,fma"))) void direct1_forward_avx2(const ConvShape& sh, const float* x, const float* w,
                                                              const float* b, float* y, int i0, int i1)
{
    constexpr int RS = R * S, F = 5, V = 2; // measured best on LeNet's conv1 (16 registers)
    const int oh = sh.oh(), ow = sh.ow(), pix = oh * ow, hw = sh.h * sh.w;
    if (ow < 8)
        return direct1_forward_narrow_avx2<R, S, Relu>(sh, x, w, b, y, i0, i1);
    std::vector<int> at; // vector positions in a row
    for (int ox = 0; ox < ow; ox += 8)
        at.push_back(std::min(ox, ow - 8));
    const int nv = int(at.size());
    for (int i = i0; i < i1; ++i) {
        const float* xi = x + int64_t(i) * hw;
        float* yi = y + int64_t(i) * sh.k * pix;
        for (int oy = 0; oy < oh; ++oy) {
            const float* xrow = xi + oy * sh.w;
            float* orow = yi + oy * ow;
            int v = 0;
            for (; v + V <= nv; v += V) {
                int f = 0;
                for (; f + F <= sh.k; f += F)
                    direct1_row_block_avx2<R, S, F, V, Relu>(xrow, sh.w, at.data() + v, w + f * RS, b + f,
                                                             orow + int64_t(f) * pix, pix);
                for (; f < sh.k; ++f)
                    direct1_row_block_avx2<R, S, 1, V, Relu>(xrow, sh.w, at.data() + v, w + f * RS, b + f,
                                                             orow + int64_t(f) * pix, pix);
            }
            for (; v < nv; ++v) {
                int f = 0;
                for (; f + 4 <= sh.k; f += 4)
                    direct1_row_block_avx2<R, S, 4, 1, Relu>(xrow, sh.w, at.data() + v, w + f * RS, b + f,
                                                             orow + int64_t(f) * pix, pix);
                for (; f < sh.k; ++f)
                    direct1_row_block_avx2<R, S, 1, 1, Relu>(xrow, sh.w, at.data() + v, w + f * RS, b + f,
                                                             orow + int64_t(f) * pix, pix);
            }
        }
    }
}

// dw[f], db[f] for filters [f0, f1), rows of any width: r*s + 1 vector sums per filter (10
// of AVX2's 16 registers for 3x3), each pixel row's gradient loaded once and used r*s
// times. Masked lanes load 0, so a row's tail adds nothing. (What rows under 8 pixels run.)
template <int R, int S>
__attribute__((target("avx2,fma"))) void direct1_backward_weights_narrow_avx2(const ConvShape& sh, const float* x,
                                                                       const float* dy, float* dw, float* db, int f0,
                                                                       int f1)
{
    constexpr int RS = R * S;
    const int oh = sh.oh(), ow = sh.ow(), pix = oh * ow, hw = sh.h * sh.w;
    for (int f = f0; f < f1; ++f) {
        __m256 acc[RS];
        for (int t = 0; t < RS; ++t)
            acc[t] = _mm256_setzero_ps();
        __m256 accb = _mm256_setzero_ps();
        for (int i = 0; i < sh.n; ++i) {
            const float* xi = x + int64_t(i) * hw;
            const float* d = dy + (int64_t(i) * sh.k + f) * pix;
            for (int oy = 0; oy < oh; ++oy)
                for (int ox = 0; ox < ow; ox += 8) {
                    const __m256i m = tail_mask8(ow - ox);
                    const bool full = ow - ox >= 8;
                    const __m256 g = load8(d + oy * ow + ox, m, full);
                    accb = _mm256_add_ps(accb, g);
                    for (int ri = 0; ri < R; ++ri)
                        for (int si = 0; si < S; ++si)
                            acc[ri * S + si] = _mm256_fmadd_ps(g, load8(xi + (oy + ri) * sh.w + ox + si, m, full),
                                                               acc[ri * S + si]);
                }
        }
        for (int t = 0; t < RS; ++t)
            dw[int64_t(f) * RS + t] = lane_sum8(acc[t]);
        db[f] = lane_sum8(accb);
    }
}

// One image's share of the sums of filters [f, f + F) and taps [T0, T1) (and their bias
// sums when Bias), kept in acc (per filter: r*s tap sums, then the bias sum) between calls.
// Rows are covered as in forward, by whole vectors at `at` (the last one ending at the
// row's end); the last one's gradient keeps only the lanes no vector before covered
// (`fresh`), so no pixel counts twice and no load is masked.
template <int R, int S, int F, int T0, int T1, bool Bias>
inline __attribute__((target("avx2,fma"))) void direct1_bwd_w_image_avx2(const float* xi, int xw, const float* d,
                                                                        int64_t pix, int oh, int ow, const int* at,
                                                                        int nv, __m256 fresh, float* acc)
{
    constexpr int RS = R * S, T = T1 - T0;
    __m256 a[F][T], ab[F];
    for (int f = 0; f < F; ++f) {
        for (int t = 0; t < T; ++t)
            a[f][t] = _mm256_loadu_ps(acc + 8 * (f * (RS + 1) + T0 + t));
        ab[f] = Bias ? _mm256_loadu_ps(acc + 8 * (f * (RS + 1) + RS)) : _mm256_setzero_ps();
    }
    auto step = [&](int oy, int ox, bool last) __attribute__((target("avx2,fma"))) {
        __m256 g[F];
        for (int f = 0; f < F; ++f) {
            g[f] = _mm256_loadu_ps(d + f * pix + oy * ow + ox);
            if (last)
                g[f] = _mm256_and_ps(g[f], fresh);
            if (Bias)
                ab[f] = _mm256_add_ps(ab[f], g[f]);
        }
        for (int t = T0; t < T1; ++t) {
            const __m256 in = _mm256_loadu_ps(xi + (oy + t / S) * xw + ox + t % S);
            for (int f = 0; f < F; ++f)
                a[f][t - T0] = _mm256_fmadd_ps(g[f], in, a[f][t - T0]);
        }
    };
    for (int oy = 0; oy < oh; ++oy) {
        for (int v = 0; v + 1 < nv; ++v)
            step(oy, at[v], false);
        step(oy, at[nv - 1], true);
    }
    for (int f = 0; f < F; ++f) {
        for (int t = 0; t < T; ++t)
            _mm256_storeu_ps(acc + 8 * (f * (RS + 1) + T0 + t), a[f][t]);
        if (Bias)
            _mm256_storeu_ps(acc + 8 * (f * (RS + 1) + RS), ab[f]);
    }
}

// dw[f], db[f] for filters [f0, f1). Two filters at a time share each input load, their
// taps in two passes (5 and 4 of 3x3's 9, the bias sums with the first) so that the sums
// fit AVX2's 16 registers: 7 loads for 10 FMAs, where one filter's 9 taps at once took 10
// for 9. Images are the outer loop, so one image's input stays in L1 for every filter.
template <int R, int S>
__attribute__((target("avx2,fma"))) void direct1_backward_weights_avx2(const ConvShape& sh, const float* x,
                                                                       const float* dy, float* dw, float* db, int f0,
                                                                       int f1)
{
    constexpr int RS = R * S, TA = (RS + 1) / 2;
    const int oh = sh.oh(), ow = sh.ow(), pix = oh * ow, hw = sh.h * sh.w;
    if (ow < 8)
        return direct1_backward_weights_narrow_avx2<R, S>(sh, x, dy, dw, db, f0, f1);
    std::vector<int> at;
    for (int ox = 0; ox < ow; ox += 8)
        at.push_back(std::min(ox, ow - 8));
    const int nv = int(at.size());
    const int dup = 8 * nv - ow; // lanes of the last vector that the one before covered
    const __m256 fresh = _mm256_castsi256_ps(
        _mm256_cmpgt_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(dup - 1)));
    std::vector<float> acc(size_t(f1 - f0) * (RS + 1) * 8, 0.0f); // per filter: r*s + 1 vectors of sums
    for (int i = 0; i < sh.n; ++i) {
        const float* xi = x + int64_t(i) * hw;
        int f = f0;
        for (; f + 2 <= f1; f += 2) {
            const float* d = dy + (int64_t(i) * sh.k + f) * pix;
            float* a = acc.data() + size_t(f - f0) * (RS + 1) * 8;
            direct1_bwd_w_image_avx2<R, S, 2, 0, TA, true>(xi, sh.w, d, pix, oh, ow, at.data(), nv, fresh, a);
            direct1_bwd_w_image_avx2<R, S, 2, TA, RS, false>(xi, sh.w, d, pix, oh, ow, at.data(), nv, fresh, a);
        }
        if (f < f1)
            direct1_bwd_w_image_avx2<R, S, 1, 0, RS, true>(xi, sh.w, dy + (int64_t(i) * sh.k + f) * pix, pix, oh, ow,
                                                           at.data(), nv, fresh,
                                                           acc.data() + size_t(f - f0) * (RS + 1) * 8);
    }
    for (int f = f0; f < f1; ++f) {
        const float* a = acc.data() + size_t(f - f0) * (RS + 1) * 8;
        for (int t = 0; t < RS; ++t)
            dw[int64_t(f) * RS + t] = lane_sum8(_mm256_loadu_ps(a + 8 * t));
        db[f] = lane_sum8(_mm256_loadu_ps(a + 8 * RS));
    }
}

} // namespace

// ---- im2col / col2im ------------------------------------------------------------------------

// im2col of rows of 8 to 16 floats (LeNet's conv2: 9): two unmasked 8-float moves, the
// first 8 floats and the last 8 (they overlap, with the same values), every store inside
// the row (a masked store is slow on AMD's cores, and a wider store would reach into memory
// written before). One float at a time after the first 8 cost 6% of an AVX2 epoch. Rows of
// exactly 8 (LeNet's conv2 over the 8 x 8 window its pool reads) take one move: the two
// moves to the same place took 1.25 ms for 252 images on a Zen 4, one takes 0.82 (a whole
// epoch did not change beyond its noise, ~1%).
__attribute__((target("avx2,fma"))) void im2col_narrow_avx2(const ConvShape& sh, Extent e, const float* x, int b, float* col)
{
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
                    if (e.ow == 8) { // LeNet's conv2 with its window: one move a row
                        for (int oy = 0; oy < e.oh; ++oy)
                            _mm256_storeu_ps(out + oy * 8, _mm256_loadu_ps(in + int64_t(oy) * sh.w));
                        continue;
                    }
                    for (int oy = 0; oy < e.oh; ++oy) {
                        float* o = out + oy * e.ow;
                        const float* src = in + int64_t(oy) * sh.w;
                        const __m256 head = _mm256_loadu_ps(src), tail = _mm256_loadu_ps(src + e.ow - 8);
                        _mm256_storeu_ps(o, head);
                        _mm256_storeu_ps(o + e.ow - 8, tail); // overlaps head: the same values
                    }
                }
    }
}

// col2im of dx rows of 9 to 16 floats (LeNet's conv2: 13): each row summed in two
// registers from masked loads (lanes [si, si + ow) take column si's values), then stored
// with one plain 8-float store and the rest one by one.
__attribute__((target("avx2,fma"))) void col2im_narrow_avx2(const ConvShape& sh, Extent e, const float* col,
                                                                  int b, float* dx)
{
    const int pix = e.pix();
    const int64_t ld = int64_t(b) * pix, chw = int64_t(sh.c) * sh.h * sh.w;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), lane8 = _mm256_add_epi32(lane, _mm256_set1_epi32(8));
    __m256i lo[16], hi[16]; // sh.s <= sh.w <= 16
    for (int si = 0; si < sh.s; ++si) {
        const __m256i first = _mm256_set1_epi32(si - 1), end = _mm256_set1_epi32(si + e.ow);
        lo[si] = _mm256_and_si256(_mm256_cmpgt_epi32(lane, first), _mm256_cmpgt_epi32(end, lane));
        hi[si] = _mm256_and_si256(_mm256_cmpgt_epi32(lane8, first), _mm256_cmpgt_epi32(end, lane8));
    }
    alignas(32) float tail[8];
    for (int i = 0; i < b; ++i) {
        float* dxi = dx + i * chw;
        const float* ci_in = col + int64_t(i) * pix;
        for (int ci = 0; ci < sh.c; ++ci)
            for (int y = 0; y < sh.h; ++y) {
                __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
                const int ri0 = std::max(0, y - e.oh + 1), ri1 = std::min(sh.r - 1, y);
                for (int ri = ri0; ri <= ri1; ++ri) {
                    const int oy = y - ri;
                    const float* rows = ci_in + (int64_t(ci) * sh.r + ri) * sh.s * ld + oy * e.ow;
                    for (int si = 0; si < sh.s; ++si) {
                        const float* p = rows + si * ld - si; // lane L holds column L - si
                        acc0 = _mm256_add_ps(acc0, _mm256_maskload_ps(p, lo[si]));
                        acc1 = _mm256_add_ps(acc1, _mm256_maskload_ps(p + 8, hi[si]));
                    }
                }
                float* out = dxi + (int64_t(ci) * sh.h + y) * sh.w;
                _mm256_storeu_ps(out, acc0);
                _mm256_store_ps(tail, acc1);
                for (int q = 8; q < sh.w; ++q)
                    out[q] = tail[q - 8];
            }
    }
}

// ---- direct convolution of one input channel ----------------------------------------------

__attribute__((target("avx2,fma"))) void direct3x3_forward_avx2(const ConvShape& sh, const float* x, const float* w,
                                                               const float* b, float* y, int i0, int i1, bool relu)
{
    if (relu)
        direct1_forward_avx2<3, 3, true>(sh, x, w, b, y, i0, i1);
    else
        direct1_forward_avx2<3, 3, false>(sh, x, w, b, y, i0, i1);
}

__attribute__((target("avx2,fma"))) void direct3x3_backward_weights_avx2(const ConvShape& sh, const float* x,
                                                                        const float* dy, float* dw, float* db, int f0,
                                                                        int f1)
{
    direct1_backward_weights_avx2<3, 3>(sh, x, dy, dw, db, f0, f1);
}

// ---- pooling backward through a ReLU --------------------------------------------------------

// dx rows of width >= 2: 8 dx values at a time take 4 pooled gradients, each duplicated
// (v[x] = dy[x/2] / 4), kept where the ReLU's output is > 0. Rows whose pooled part is 8 or
// more wide end with a vector that overlaps the one before (it starts at an even column:
// the same pairs), which writes the same values again instead of a masked store; narrower
// rows are masked (LeNet's pool2: 8 of 9 columns, one plain vector). An odd last column
// and row get 0.
__attribute__((target("avx2,fma"))) void avgpool2_relu_backward_avx2(int64_t planes, int h, int w,
                                                                     const float* dy, const float* y, float* dx)
{
    const int oh = h / 2, ow = w / 2, wp = 2 * ow; // wp: the columns the pool covers (all but an odd last)
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256 quarter = _mm256_set1_ps(0.25f), zero = _mm256_setzero_ps();
    const bool overlap = wp >= 8;
    const __m256i m = tail_mask8(wp), gm = tail_mask8(ow); // wp < 8 only
    for (int64_t plane = 0; plane < planes; ++plane) {
        const float* dyp = dy + plane * oh * ow;
        const float* yp = y + plane * h * w;
        float* dxp = dx + plane * h * w;
        for (int oy = 0; oy < oh; ++oy) {
            const float* g = dyp + oy * ow;
            const int64_t row0 = int64_t(2 * oy) * w;
            if (!overlap) {
                const __m256 v = _mm256_mul_ps(
                    quarter, _mm256_permutevar8x32_ps(
                                 _mm256_castps128_ps256(_mm_maskload_ps(g, _mm256_castsi256_si128(gm))), dup));
                for (int r = 0; r < 2; ++r) {
                    const int64_t at = row0 + int64_t(r) * w;
                    const __m256 yv = _mm256_maskload_ps(yp + at, m);
                    _mm256_maskstore_ps(dxp + at, m, _mm256_and_ps(v, _mm256_cmp_ps(yv, zero, _CMP_GT_OQ)));
                }
            }
            for (int x0 = 0; overlap && x0 < wp; x0 += 8) {
                const int x = std::min(x0, wp - 8); // even
                const __m256 v = _mm256_mul_ps(
                    quarter, _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(g + x / 2)), dup));
                for (int r = 0; r < 2; ++r) {
                    const int64_t at = row0 + int64_t(r) * w + x;
                    const __m256 yv = _mm256_loadu_ps(yp + at);
                    _mm256_storeu_ps(dxp + at, _mm256_and_ps(v, _mm256_cmp_ps(yv, zero, _CMP_GT_OQ)));
                }
            }
            if (w & 1) { // the last column, left out by the pool
                dxp[row0 + w - 1] = 0.0f;
                dxp[row0 + 2 * w - 1] = 0.0f;
            }
        }
        if (h & 1)
            std::fill(dxp + (h - 1) * w, dxp + h * w, 0.0f);
    }
}

// ---- 2x2 average pooling forward ------------------------------------------------------------

// Output rows of 8 or more: 8 outputs from 16 inputs of each of the two rows, split into
// even and odd columns, summed in the reference's order ((r0 even + r0 odd) + r1 even) +
// r1 odd, so the result is the reference's to the bit. The last vector of a row ends at
// its end, overlapping the one before with the same values.
__attribute__((target("avx2,fma"))) void avgpool2_forward_avx2(int64_t planes, int h, int w, const float* x, float* y)
{
    const int oh = h / 2, ow = w / 2; // ow >= 8
    const __m256 quarter = _mm256_set1_ps(0.25f);
    for (int64_t plane = 0; plane < planes; ++plane) {
        const float* xp = x + plane * h * w;
        float* yp = y + plane * oh * ow;
        for (int oy = 0; oy < oh; ++oy) {
            const float* r0 = xp + int64_t(2 * oy) * w;
            const float* r1 = r0 + w;
            float* o = yp + oy * ow;
            for (int ox0 = 0; ox0 < ow; ox0 += 8) {
                const int ox = std::min(ox0, ow - 8);
                const __m256 a0 = _mm256_loadu_ps(r0 + 2 * ox), b0 = _mm256_loadu_ps(r0 + 2 * ox + 8);
                const __m256 a1 = _mm256_loadu_ps(r1 + 2 * ox), b1 = _mm256_loadu_ps(r1 + 2 * ox + 8);
                // even / odd columns, in the lane order 0 1 4 5 2 3 6 7 of the outputs
                __m256 sum = _mm256_add_ps(_mm256_shuffle_ps(a0, b0, 0x88), _mm256_shuffle_ps(a0, b0, 0xDD));
                sum = _mm256_add_ps(sum, _mm256_shuffle_ps(a1, b1, 0x88));
                sum = _mm256_add_ps(sum, _mm256_shuffle_ps(a1, b1, 0xDD));
                sum = _mm256_mul_ps(quarter, sum);
                _mm256_storeu_ps(o + ox, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(sum), 0xD8)));
            }
        }
    }
}

} // namespace gpulab::fast_cpu

#endif // GPULAB_FAST_SIMD
