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

template <int R, int S, bool Relu>
__attribute__((target("avx2,fma"))) void direct1_forward_avx2(const ConvShape& sh, const float* x, const float* w,
                                                              const float* b, float* y, int i0, int i1)
{
    constexpr int RS = R * S;
    const int oh = sh.oh(), ow = sh.ow(), pix = oh * ow, hw = sh.h * sh.w;
    for (int i = i0; i < i1; ++i) {
        const float* xi = x + int64_t(i) * hw;
        float* yi = y + int64_t(i) * sh.k * pix;
        for (int oy = 0; oy < oh; ++oy)
            for (int ox = 0; ox < ow; ox += 8) {
                const __m256i m = tail_mask8(ow - ox);
                const bool full = ow - ox >= 8;
                __m256 in[RS];
                for (int ri = 0; ri < R; ++ri)
                    for (int si = 0; si < S; ++si)
                        in[ri * S + si] = load8(xi + (oy + ri) * sh.w + ox + si, m, full);
                float* out = yi + oy * ow + ox;
                int f = 0;
                for (; f + 1 < sh.k; f += 2) { // two independent sums in flight
                    const float* w0 = w + f * RS;
                    const float* w1 = w0 + RS;
                    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
                    for (int t = 0; t < RS; ++t) {
                        a0 = _mm256_fmadd_ps(in[t], _mm256_set1_ps(w0[t]), a0);
                        a1 = _mm256_fmadd_ps(in[t], _mm256_set1_ps(w1[t]), a1);
                    }
                    store8(out + int64_t(f) * pix, m, full, act8<Relu>(_mm256_add_ps(a0, _mm256_set1_ps(b[f]))));
                    store8(out + int64_t(f + 1) * pix, m, full, act8<Relu>(_mm256_add_ps(a1, _mm256_set1_ps(b[f + 1]))));
                }
                for (; f < sh.k; ++f) {
                    const float* w0 = w + f * RS;
                    __m256 a0 = _mm256_setzero_ps();
                    for (int t = 0; t < RS; ++t)
                        a0 = _mm256_fmadd_ps(in[t], _mm256_set1_ps(w0[t]), a0);
                    store8(out + int64_t(f) * pix, m, full, act8<Relu>(_mm256_add_ps(a0, _mm256_set1_ps(b[f]))));
                }
            }
    }
}

// dw[f], db[f] for filters [f0, f1): r*s + 1 vector sums per filter (10 of AVX2's 16
// registers for 3x3), each pixel row's gradient loaded once and used r*s times. Masked
// lanes load 0, so a row's tail adds nothing.
template <int R, int S>
__attribute__((target("avx2,fma"))) void direct1_backward_weights_avx2(const ConvShape& sh, const float* x,
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

} // namespace

// ---- im2col / col2im ------------------------------------------------------------------------

// im2col of rows of 8 to 16 floats (LeNet's conv2: 9): one unmasked 8-float move
// and the rest one float at a time, every store inside the row (a masked store is slow on
// AMD's cores, and a wider store would reach into memory written before).
// (no-tree-loop-distribute-patterns: the tail loop stays a loop, not a memcpy call.)
__attribute__((target("avx2,fma"), optimize("no-tree-loop-distribute-patterns"))) void
im2col_narrow_avx2(const ConvShape& sh, Extent e, const float* x, int b, float* col)
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
                    for (int oy = 0; oy < e.oh; ++oy) {
                        float* o = out + oy * e.ow;
                        const float* src = in + int64_t(oy) * sh.w;
                        _mm256_storeu_ps(o, _mm256_loadu_ps(src));
                        for (int q = 8; q < e.ow; ++q)
                            o[q] = src[q];
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

// dx rows of even width: 8 dx values at a time take 4 pooled gradients, each duplicated
// (v[x] = dy[x/2] / 4), kept where the ReLU's output is > 0.
__attribute__((target("avx2,fma"))) void avgpool2_relu_backward_avx2(int64_t planes, int h, int w,
                                                                          const float* dy, const float* y, float* dx)
{
    const int oh = h / 2, ow = w / 2;
    const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256 quarter = _mm256_set1_ps(0.25f), zero = _mm256_setzero_ps();
    for (int64_t plane = 0; plane < planes; ++plane) {
        const float* dyp = dy + plane * oh * ow;
        const float* yp = y + plane * h * w;
        float* dxp = dx + plane * h * w;
        for (int oy = 0; oy < oh; ++oy) {
            const float* g = dyp + oy * ow;
            for (int x = 0; x < w; x += 8) {
                const int left = w - x; // >= 2, even
                const bool full = left >= 8;
                const __m256i m = tail_mask8(left), gm = tail_mask8(std::min(4, left / 2));
                const __m256 v = _mm256_mul_ps(
                    quarter, _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_maskload_ps(g + x / 2, _mm256_castsi256_si128(gm))), dup));
                for (int r = 0; r < 2; ++r) {
                    const int64_t at = int64_t(2 * oy + r) * w + x;
                    const __m256 yv = load8(yp + at, m, full);
                    store8(dxp + at, m, full, _mm256_and_ps(v, _mm256_cmp_ps(yv, zero, _CMP_GT_OQ)));
                }
            }
        }
        if (h & 1)
            std::fill(dxp + (h - 1) * w, dxp + h * w, 0.0f);
    }
}

} // namespace gpulab::fast_cpu

#endif // GPULAB_FAST_SIMD
