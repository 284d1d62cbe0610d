// Launchers of gpulab's own CUDA kernels (cuda_elementwise.cu): bias, loss, SGD, sums and
// fills. Each queues one kernel on the stream given and checks the launch. Plain C++, so
// the host code that calls them compiles with the C++ compiler; only the .cu needs nvcc.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace gpulab {

struct CudaAsyncError;

namespace cuda {

void fill(cudaStream_t s, int64_t count, float value, float* y);
// dst row i = src row index[i] (rows of row_words 4-byte words); a row whose index is outside
// [0, src_rows) is left zero.
void gather_rows(cudaStream_t s, int n, int64_t row_words, const int32_t* index, int64_t src_rows,
                 const uint32_t* src, uint32_t* dst);                     // y = value
void add(cudaStream_t s, int64_t count, const float* a, float* y);                   // y += a
void sgd(cudaStream_t s, int64_t count, float scale, const float* grad, float* w);   // w -= scale*grad
// dx = y > 0 ? dy : 0, elementwise (dx may be dy)
void relu_backward(cudaStream_t s, int64_t count, const float* y, const float* dy, float* dx);
// y (n,out): every row = b (out)
void broadcast_rows(cudaStream_t s, int n, int out, const float* b, float* y);
// db (out) = column sums of dy (n,out); deterministic (fixed summation order)
void column_sums(cudaStream_t s, int n, int out, const float* dy, float* db);
// As Kernels::softmax_xent; a label outside [0, classes) is written to *err (the first
// one) and its row adds NaN to the loss. dlogits may be nullptr.
void softmax_xent(cudaStream_t s, int n, int classes, const float* logits, const int32_t* labels,
                  float* loss_sum, float* dlogits, CudaAsyncError* err);
// dx (n,c,h,w) from dy (n,c,h/2,w/2): Kernels::avgpool2_backward; with y (n,c,h,w) given,
// zero where y <= 0 as well (Kernels::avgpool2_relu_backward). Writes every cell of dx, and
// reads neither x nor the pool's output (cuda_avgpool2.h holds the arithmetic).
void avgpool2_backward(cudaStream_t s, int n, int c, int h, int w, const float* dy, const float* y, float* dx);
// y (n,k,plane) += b (k) per channel; with relu, then y = y > 0 ? y : 0 (the epilogue of
// a convolution: bias, or bias and ReLU, in one pass).
void bias_act(cudaStream_t s, int n, int k, int64_t plane, const float* b, float* y, bool relu);
// db (k) = the sum of dy (n,k,plane) over n and plane, per channel; deterministic (fixed
// summation order). A convolution's bias gradient.
void channel_sums(cudaStream_t s, int n, int k, int64_t plane, const float* dy, float* db);
// The same sums in two passes over more blocks (channel_sums has one block per channel:
// for conv1's 20 channels of 256 x 26 x 26 values, 20 blocks each read 676 KB one load at
// a time). `slices` blocks per channel write their sums into scratch (k * slices floats),
// then one thread per channel adds them in order: deterministic too, in another order than
// channel_sums (the results agree within float rounding). slices from channel_sum_slices;
// 0 (a shape too large for 32-bit indices, or scratch too small) falls back to channel_sums.
int channel_sum_slices(int n, int k, int64_t plane, int64_t scratch_floats);
void channel_sums_split(cudaStream_t s, int n, int k, int64_t plane, const float* dy, float* db, float* scratch,
                        int slices);
// y (n,c,h/2,w/2) = 2x2 average of x (n,c,h,w), stride 2, with the CPU reference's float
// operations in its order: 0.25f * (x00 + x01 + x10 + x11).
void avgpool2_forward(cudaStream_t s, int n, int c, int h, int w, const float* x, float* y);
// y = x > 0 ? x : 0, elementwise (y may be x).
void relu_forward(cudaStream_t s, int64_t count, const float* x, float* y);
// y = a (+ y with accumulate), elementwise; a may live on another GPU with peer access
// enabled, or belong to another logical device of this GPU. 16-byte vector loads where
// both pointers allow. The allreduce's fused step: the peer's chunk is read in place.
void add_or_copy(cudaStream_t s, int64_t count, const float* a, float* y, bool accumulate);
// a = b = a + b, elementwise: both hold the sum afterwards (b may live on another GPU with
// peer access enabled, or belong to another logical device of this GPU). 16-byte vector
// accesses where both pointers allow. The allreduce's fused exchange for a ring of two.
void exchange_sum(cudaStream_t s, int64_t count, float* a, float* b);
// Holds the stream: one thread waits until *open (pinned host memory the GPU can read) is
// non-zero, or max_ns nanoseconds have passed; then sets *timed_out (device-readable memory)
// to 0 or 1. For the benchmark's GPU times (CudaGpuSpan).
void gate(cudaStream_t s, const int* open, int* timed_out, uint64_t max_ns);
// As Kernels::count_correct (ties go to the first maximum).
void count_correct(cudaStream_t s, int n, int classes, const float* logits, const int32_t* labels,
                   float* correct);

} // namespace cuda
} // namespace gpulab
