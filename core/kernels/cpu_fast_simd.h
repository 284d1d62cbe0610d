// The vector paths of the fast CPU kernels (cpu_fast_kernels.cpp), one file per instruction
// set: cpu_fast_avx512.cpp and cpu_fast_avx2.cpp. Each function is compiled for its set
// alone (target attributes), so the one binary runs on every x86-64 CPU; the caller takes a
// path only where its table's CpuIsa allows it. On other CPUs or compilers none is built
// (GPULAB_FAST_SIMD is 0) and the portable loops run.
#pragma once

#include "kernels/kernels.h" // ConvShape

#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#define GPULAB_FAST_SIMD 1
#else
#define GPULAB_FAST_SIMD 0
#endif

namespace gpulab::fast_cpu {

// The output region a convolution's GEMMs cover: all of (oh, ow), or less in backward when
// a trailing row or column of dy is zero (cpu_fast_kernels.cpp, nonzero_extent).
struct Extent {
    int oh = 0, ow = 0;
    int pix() const { return oh * ow; }
};

#if GPULAB_FAST_SIMD

// ---- AVX-512 (cpu_fast_avx512.cpp) ----
// im2col / col2im of a block of b images (col: (c*r*s, b*e.pix())), rows of at most 16 floats.
void im2col_narrow_avx512(const ConvShape& sh, Extent e, const float* x, int b, float* col);
void col2im_narrow_avx512(const ConvShape& sh, Extent e, const float* col, int b, float* dx); // sh.w <= 16
// Direct convolution of one input channel, 3x3 (LeNet's conv1): y of images [i0, i1), with
// the ReLU applied as it is stored when relu. (Its backward-weights is AVX2's on AVX-512
// machines too: register-blocked, it ran faster there than the AVX-512 one, 0.53 vs 0.79 ms
// for 128 images on a Zen 4.)
void direct3x3_forward_avx512(const ConvShape& sh, const float* x, const float* w, const float* b, float* y,
                              int i0, int i1, bool relu);
// 2x2 average-pool backward and the ReLU's mask in one pass, even w <= 32.
void avgpool2_relu_backward_avx512(int64_t planes, int h, int w, const float* dy, const float* y, float* dx);

// ---- AVX2 with FMA (cpu_fast_avx2.cpp): the same ops, other limits ----
void im2col_narrow_avx2(const ConvShape& sh, Extent e, const float* x, int b, float* col); // 8 <= e.ow <= 16
void col2im_narrow_avx2(const ConvShape& sh, Extent e, const float* col, int b, float* dx); // 8 < sh.w <= 16
void direct3x3_forward_avx2(const ConvShape& sh, const float* x, const float* w, const float* b, float* y, int i0,
                            int i1, bool relu);
// dw, db of filters [f0, f1) over every image; also what AVX-512 tables run.
void direct3x3_backward_weights_avx2(const ConvShape& sh, const float* x, const float* dy, float* dw, float* db,
                                     int f0, int f1);
void avgpool2_relu_backward_avx2(int64_t planes, int h, int w, const float* dy, const float* y, float* dx); // w >= 2
// 2x2 average pooling forward, the reference's result to the bit, w / 2 >= 8 (also run on AVX-512).
void avgpool2_forward_avx2(int64_t planes, int h, int w, const float* x, float* y);

#endif

} // namespace gpulab::fast_cpu
