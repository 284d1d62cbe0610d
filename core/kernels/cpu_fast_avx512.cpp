// The AVX-512 paths of the fast CPU kernels (declared in cpu_fast_simd.h): masked loads and
// stores for rows of at most 16 floats, 16 output pixels a vector in the direct convolution.
// Every function is compiled for AVX-512 alone; cpu_fast_kernels.cpp calls them only on a
// table whose instruction set is AVX-512.
#include "kernels/cpu_fast_simd.h"

#if GPULAB_FAST_SIMD

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace gpulab::fast_cpu {
namespace {

// ---- direct convolution of one input channel: 16 output pixels a vector ------------------

inline __attribute__((target("avx512f"))) __mmask16 tail_mask(int left)
{
    return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
}

// relu(v) as the reference writes it (v > 0 ? v : 0): a NaN or -0 becomes +0.
inline __attribute__((target("avx512f"))) __m512 relu_lanes(__m512 v)
{
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
}

template <bool Relu>
inline __attribute__((target("avx512f"))) __m512 act(__m512 v)
{
    return Relu ? relu_lanes(v) : v;
}

// y[i] for images [i0, i1); with Relu, y = max(y, 0) as it is stored.
template <int R, int S, bool Relu>
__attribute__((target("avx512f"))) void direct1_forward(const ConvShape& sh, const float* x, const float* w,
                                                         const float* b, float* y, int i0, int i1)
{
    constexpr int RS = R * S;
    const int oh = sh.oh(), ow = sh.ow(), pix = oh * ow, hw = sh.h * sh.w;
    for (int i = i0; i < i1; ++i) {
        const float* xi = x + int64_t(i) * hw;
        float* yi = y + int64_t(i) * sh.k * pix;
        for (int oy = 0; oy < oh; ++oy)
            for (int ox = 0; ox < ow; ox += 16) {
                const __mmask16 m = tail_mask(ow - ox);
                __m512 in[RS];
                for (int ri = 0; ri < R; ++ri)
                    for (int si = 0; si < S; ++si)
                        in[ri * S + si] = _mm512_maskz_loadu_ps(m, xi + (oy + ri) * sh.w + ox + si);
                float* out = yi + oy * ow + ox;
                int f = 0;
                for (; f + 1 < sh.k; f += 2) { // two independent sums in flight
                    const float* w0 = w + f * RS;
                    const float* w1 = w0 + RS;
                    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
                    for (int t = 0; t < RS; ++t) {
                        a0 = _mm512_fmadd_ps(in[t], _mm512_set1_ps(w0[t]), a0);
                        a1 = _mm512_fmadd_ps(in[t], _mm512_set1_ps(w1[t]), a1);
                    }
                    _mm512_mask_storeu_ps(out + int64_t(f) * pix, m, act<Relu>(_mm512_add_ps(a0, _mm512_set1_ps(b[f]))));
                    _mm512_mask_storeu_ps(out + int64_t(f + 1) * pix, m,
                                          act<Relu>(_mm512_add_ps(a1, _mm512_set1_ps(b[f + 1]))));
                }
                for (; f < sh.k; ++f) {
                    const float* w0 = w + f * RS;
                    __m512 a0 = _mm512_setzero_ps();
                    for (int t = 0; t < RS; ++t)
                        a0 = _mm512_fmadd_ps(in[t], _mm512_set1_ps(w0[t]), a0);
                    _mm512_mask_storeu_ps(out + int64_t(f) * pix, m, act<Relu>(_mm512_add_ps(a0, _mm512_set1_ps(b[f]))));
                }
            }
    }
}

} // namespace

// ---- im2col / col2im ------------------------------------------------------------------------

// Rows of at most 16 floats (LeNet's conv2: 9) move as one masked AVX-512 load and store;
// a memcpy call per 9 floats costs as much as the copy (im2col was 16% of conv2's time).
__attribute__((target("avx512f"))) void im2col_narrow_avx512(const ConvShape& sh, Extent e, const float* x, int b,
                                                             float* col)
{
    const __mmask16 m = __mmask16((1u << e.ow) - 1u);
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
                        _mm512_mask_storeu_ps(out + oy * e.ow, m, _mm512_maskz_loadu_ps(m, in + int64_t(oy) * sh.w));
                }
    }
}

// dx rows of at most 16 floats: each row of dx is summed in a register from every column
// of col that lands in it (a masked load shifted by si puts them in place), then stored
// once. Adding into dx in place instead stalls on store-to-load forwarding (overlapping
// masked stores, one float apart).
__attribute__((target("avx512f"))) void col2im_narrow_avx512(const ConvShape& sh, Extent e, const float* col, int b,
                                                             float* dx)
{
    const __mmask16 m = __mmask16((1u << e.ow) - 1u), row_mask = __mmask16((1u << sh.w) - 1u);
    const int pix = e.pix();
    const int64_t ld = int64_t(b) * pix, chw = int64_t(sh.c) * sh.h * sh.w;
    for (int i = 0; i < b; ++i) {
        float* dxi = dx + i * chw;
        const float* ci_in = col + int64_t(i) * pix;
        for (int ci = 0; ci < sh.c; ++ci)
            for (int y = 0; y < sh.h; ++y) {
                __m512 acc = _mm512_setzero_ps();
                const int ri0 = std::max(0, y - e.oh + 1), ri1 = std::min(sh.r - 1, y);
                for (int ri = ri0; ri <= ri1; ++ri) {
                    const int oy = y - ri;
                    const float* rows = ci_in + (int64_t(ci) * sh.r + ri) * sh.s * ld + oy * e.ow;
                    for (int si = 0; si < sh.s; ++si)
                        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(__mmask16(m << si), rows + si * ld - si));
                }
                _mm512_mask_storeu_ps(dxi + (int64_t(ci) * sh.h + y) * sh.w, row_mask, acc);
            }
    }
}

// ---- direct convolution of one input channel ----------------------------------------------

__attribute__((target("avx512f"))) void direct3x3_forward_avx512(const ConvShape& sh, const float* x,
                                                                  const float* w, const float* b, float* y, int i0,
                                                                  int i1, bool relu)
{
    if (relu)
        direct1_forward<3, 3, true>(sh, x, w, b, y, i0, i1);
    else
        direct1_forward<3, 3, false>(sh, x, w, b, y, i0, i1);
}

// ---- pooling backward through a ReLU --------------------------------------------------------
// dx rows of even width <= 32 (LeNet's pool1: 26): 16 dx values at a time take 8 pooled
// gradients, each duplicated (v[x] = dy[x/2] / 4), kept where the ReLU's output is > 0.
__attribute__((target("avx512f"))) void avgpool2_relu_backward_avx512(int64_t planes, int h, int w, const float* dy,
                                                                     const float* y, float* dx)
{
    const int oh = h / 2, ow = w / 2;
    const __m512i dup = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __m512 quarter = _mm512_set1_ps(0.25f), zero = _mm512_setzero_ps();
    for (int64_t plane = 0; plane < planes; ++plane) {
        const float* dyp = dy + plane * oh * ow;
        const float* yp = y + plane * h * w;
        float* dxp = dx + plane * h * w;
        for (int oy = 0; oy < oh; ++oy) {
            const float* g = dyp + oy * ow;
            for (int x = 0; x < w; x += 16) {
                const int left = w - x; // >= 2, even
                const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
                const __mmask16 gm = __mmask16((1u << std::min(8, left / 2)) - 1u);
                const __m512 v = _mm512_mul_ps(
                    quarter, _mm512_maskz_permutexvar_ps(__mmask16(0xFFFF), dup, _mm512_maskz_loadu_ps(gm, g + x / 2)));
                for (int r = 0; r < 2; ++r) {
                    const int64_t at = int64_t(2 * oy + r) * w + x;
                    const __m512 yv = _mm512_maskz_loadu_ps(m, yp + at);
                    const __mmask16 keep = _mm512_cmp_ps_mask(yv, zero, _CMP_GT_OQ);
                    _mm512_mask_storeu_ps(dxp + at, m, _mm512_maskz_mov_ps(keep, v));
                }
            }
        }
        if (h & 1)
            std::fill(dxp + (h - 1) * w, dxp + h * w, 0.0f);
    }
}

} // namespace gpulab::fast_cpu

#endif // GPULAB_FAST_SIMD
