// gpulab's own CUDA kernels: the small ops cuDNN and cuBLAS do not cover. Sections as in
// llm.c: kernels, then launchers. Reductions run in a fixed order, so results repeat.
#include "kernels/cuda_elementwise.h"

#include "device/cuda_async_error.h"
#include "device/cuda_check.h"
#include "kernels/cuda_avgpool2.h"

#include <math_constants.h>

#include <algorithm>
#include <cstdint>

namespace gpulab {
namespace cuda {
namespace {

constexpr int kThreads = 256;

// ---- kernels ------------------------------------------------------------------------------

__global__ void fill_kernel(int64_t count, float value, float* y)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        y[i] = value;
}

__global__ void gather_rows_kernel(int64_t count, int64_t row_words, const int32_t* index, int64_t src_rows,
                                   const uint32_t* src, uint32_t* dst)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t row = i / row_words, word = i % row_words;
        const int64_t from = index[row];
        dst[i] = from >= 0 && from < src_rows ? src[from * row_words + word] : 0u;
    }
}

__global__ void add_kernel(int64_t count, const float* a, float* y)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        y[i] += a[i];
}

__global__ void sgd_kernel(int64_t count, float scale, const float* grad, float* w)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        w[i] -= scale * grad[i];
}

__global__ void relu_backward_kernel(int64_t count, const float* y, const float* dy, float* dx)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

__global__ void broadcast_rows_kernel(int64_t count, int out, const float* b, float* y)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        y[i] = b[i % out];
}

__global__ void avgpool2_backward_kernel(int64_t count, int h, int w, const float* dy, const float* y, float* dx)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        dx[i] = avgpool2_backward_at(i, h, w, dy, y);
}

// One block per column: each thread sums a strided set of rows, then a tree in shared memory.
__global__ void column_sums_kernel(int n, int out, const float* dy, float* db)
{
    __shared__ float part[kThreads];
    const int j = blockIdx.x;
    float sum = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        sum += dy[int64_t(i) * out + j];
    part[threadIdx.x] = sum;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        db[j] = part[0];
}

// One block: rows are few (a device's shard) and classes fewer (10). Sums in double, as
// the CPU reference does.
__global__ void softmax_xent_kernel(int n, int classes, const float* logits, const int32_t* labels,
                                    float* loss_sum, float* dlogits, CudaAsyncError* err)
{
    __shared__ double part[kThreads];
    double total = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float* row = logits + int64_t(i) * classes;
        const int label = labels[i];
        const bool bad = label < 0 || label >= classes;
        if (bad) {
            if (atomicCAS(&err->code, 0, 1) == 0) {
                err->row = i;
                err->label = label;
                err->classes = classes;
            }
            total += CUDART_NAN;
        }
        float mx = row[0];
        for (int j = 1; j < classes; ++j)
            mx = fmaxf(mx, row[j]);
        double sum = 0.0;
        for (int j = 0; j < classes; ++j)
            sum += exp(double(row[j]) - mx);
        if (!bad)
            total += log(sum) - (double(row[label]) - mx);
        if (dlogits) {
            float* d = dlogits + int64_t(i) * classes;
            for (int j = 0; j < classes; ++j)
                d[j] = float(exp(double(row[j]) - mx) / sum) - (j == label ? 1.0f : 0.0f);
        }
    }
    part[threadIdx.x] = total;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        *loss_sum = float(part[0]);
}

__global__ void count_correct_kernel(int n, int classes, const float* logits, const int32_t* labels,
                                     float* correct)
{
    __shared__ int part[kThreads];
    int count = 0;
    for (int i = threadIdx.x; i < n && classes > 0; i += blockDim.x) {
        const float* row = logits + int64_t(i) * classes;
        int best = 0;
        for (int j = 1; j < classes; ++j)
            if (row[j] > row[best])
                best = j;
        if (best == labels[i])
            ++count;
    }
    part[threadIdx.x] = count;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        *correct = float(part[0]);
}

__global__ void bias_act_kernel(int64_t count, int k, int64_t plane, const float* b, float* y, bool relu)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
        const float v = y[i] + b[(i / plane) % k];
        y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
    }
}

// One block per channel: each thread sums a strided set of (image, cell) pairs, then a tree
// in shared memory. The order depends only on the shape: results repeat.
constexpr int kSumThreads = 512;
__global__ void channel_sums_kernel(int n, int k, int64_t plane, const float* dy, float* db)
{
    __shared__ float part[kSumThreads];
    const int j = blockIdx.x;
    const int64_t cells = int64_t(n) * plane;
    float sum = 0.0f;
    for (int64_t t = threadIdx.x; t < cells; t += blockDim.x) {
        const int64_t img = t / plane, cell = t - img * plane;
        sum += dy[(img * k + j) * plane + cell];
    }
    part[threadIdx.x] = sum;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        db[j] = part[0];
}

// The bias gradient in two passes, for more blocks than channels: block (s, j) sums its
// slice of the images of channel j into part[j * slices + s] (four running sums a thread,
// so that four loads are in flight, then a tree), and one thread per channel adds its
// slices in order. Every order depends only on the shape: results repeat. 32-bit indices:
// the launcher checks that n * plane fits.
constexpr int kSliceThreads = 256;
__global__ void channel_slice_sums_kernel(int n, int k, int plane, int slices, const float* dy, float* part)
{
    __shared__ float tree[kSliceThreads];
    const int j = blockIdx.y, s = blockIdx.x;
    const int img0 = int(int64_t(n) * s / slices), img1 = int(int64_t(n) * (s + 1) / slices);
    const int cells = (img1 - img0) * plane;
    const int stride = blockDim.x;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    int t = threadIdx.x;
    auto at = [&](int u) {
        const int img = img0 + u / plane, cell = u - (u / plane) * plane;
        return dy[(int64_t(img) * k + j) * plane + cell];
    };
    for (; t + 3 * stride < cells; t += 4 * stride) {
        a0 += at(t);
        a1 += at(t + stride);
        a2 += at(t + 2 * stride);
        a3 += at(t + 3 * stride);
    }
    for (; t < cells; t += stride)
        a0 += at(t);
    tree[threadIdx.x] = (a0 + a1) + (a2 + a3);
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half)
            tree[threadIdx.x] += tree[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        part[int64_t(j) * slices + s] = tree[0];
}

__global__ void slice_totals_kernel(int k, int slices, const float* part, float* db)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= k)
        return;
    float sum = 0.0f;
    for (int s = 0; s < slices; ++s)
        sum += part[int64_t(j) * slices + s];
    db[j] = sum;
}

__global__ void avgpool2_forward_kernel(int64_t count, int h, int w, const float* x, float* y)
{
    const int oh = h / 2, ow = w / 2;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t plane = i / (int64_t(oh) * ow);
        const int cell = int(i - plane * oh * ow);
        const int oy = cell / ow, ox = cell % ow;
        const float* p = x + plane * h * w + int64_t(2 * oy) * w + 2 * ox;
        y[i] = 0.25f * (((p[0] + p[1]) + p[w]) + p[w + 1]);
    }
}

__global__ void relu_forward_kernel(int64_t count, const float* x, float* y)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// y = a (+ y): 4 floats at a time (both pointers 16-byte aligned), then the tail.
__global__ void add_or_copy4_kernel(int64_t quads, const float4* a, float4* y, bool accumulate)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < quads; i += int64_t(gridDim.x) * blockDim.x) {
        const float4 v = a[i];
        if (accumulate) {
            float4 o = y[i];
            o.x += v.x;
            o.y += v.y;
            o.z += v.z;
            o.w += v.w;
            y[i] = o;
        } else {
            y[i] = v;
        }
    }
}

__global__ void add_or_copy_kernel(int64_t count, const float* a, float* y, bool accumulate)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
        y[i] = accumulate ? y[i] + a[i] : a[i];
}

// a = b = a + b: 4 floats at a time (both pointers 16-byte aligned), then the tail. The sum
// is a + b in float, the add kernels' y + a: the same bits in both places.
__global__ void exchange_sum4_kernel(int64_t quads, float4* a, float4* b)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < quads; i += int64_t(gridDim.x) * blockDim.x) {
        float4 o = a[i];
        const float4 v = b[i];
        o.x += v.x;
        o.y += v.y;
        o.z += v.z;
        o.w += v.w;
        a[i] = o;
        b[i] = o;
    }
}

__global__ void exchange_sum_kernel(int64_t count, float* a, float* b)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
        const float v = a[i] + b[i];
        a[i] = v;
        b[i] = v;
    }
}

// One thread waits until *open is non-zero or max_ns have passed (the GPU's global timer);
// then *timed_out says which.
__global__ void gate_kernel(const volatile int* open, int* timed_out, unsigned long long max_ns)
{
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    for (;;) {
        if (*open != 0) {
            *timed_out = 0;
            return;
        }
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
        if (t - t0 > max_ns) {
            *timed_out = 1;
            return;
        }
        __nanosleep(1000);
    }
}

// ---- launch helpers -----------------------------------------------------------------------

int blocks_for(int64_t count)
{
    return int(std::min<int64_t>((count + kThreads - 1) / kThreads, 4096));
}

} // namespace

// ---- launchers ----------------------------------------------------------------------------

void gather_rows(cudaStream_t s, int n, int64_t row_words, const int32_t* index, int64_t src_rows,
                 const uint32_t* src, uint32_t* dst)
{
    const int64_t count = int64_t(n) * row_words;
    if (count <= 0)
        return;
    gather_rows_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, row_words, index, src_rows, src, dst);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void fill(cudaStream_t s, int64_t count, float value, float* y)
{
    if (count <= 0)
        return;
    fill_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, value, y);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void add(cudaStream_t s, int64_t count, const float* a, float* y)
{
    if (count <= 0)
        return;
    add_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, a, y);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void sgd(cudaStream_t s, int64_t count, float scale, const float* grad, float* w)
{
    if (count <= 0)
        return;
    sgd_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, scale, grad, w);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void relu_backward(cudaStream_t s, int64_t count, const float* y, const float* dy, float* dx)
{
    if (count <= 0)
        return;
    relu_backward_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, y, dy, dx);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void broadcast_rows(cudaStream_t s, int n, int out, const float* b, float* y)
{
    const int64_t count = int64_t(n) * out;
    if (count <= 0)
        return;
    broadcast_rows_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, out, b, y);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void avgpool2_backward(cudaStream_t s, int n, int c, int h, int w, const float* dy, const float* y, float* dx)
{
    const int64_t count = int64_t(n) * c * h * w;
    if (count <= 0)
        return;
    avgpool2_backward_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, h, w, dy, y, dx);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void column_sums(cudaStream_t s, int n, int out, const float* dy, float* db)
{
    if (out <= 0)
        return;
    column_sums_kernel<<<out, kThreads, 0, s>>>(n, out, dy, db);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void bias_act(cudaStream_t s, int n, int k, int64_t plane, const float* b, float* y, bool relu)
{
    const int64_t count = int64_t(n) * k * plane;
    if (count <= 0)
        return;
    bias_act_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, k, plane, b, y, relu);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void channel_sums(cudaStream_t s, int n, int k, int64_t plane, const float* dy, float* db)
{
    if (k <= 0)
        return;
    channel_sums_kernel<<<k, kSumThreads, 0, s>>>(n, k, plane, dy, db);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

int channel_sum_slices(int n, int k, int64_t plane, int64_t scratch_floats)
{
    if (n <= 0 || k <= 0 || plane <= 0 || int64_t(n) * plane > INT32_MAX || k > 65535)
        return 0;
    // About 4 K values a block (16 a thread: four rounds of four loads), at most 64 slices,
    // all in scratch: conv1 at batch 256 gets 42 slices per channel, conv2 5.
    const int64_t want = std::clamp<int64_t>(int64_t(n) * plane / 4096, 1, 64);
    const int64_t fit = scratch_floats / k;
    return int(std::min<int64_t>({want, fit, int64_t(n)}));
}

void channel_sums_split(cudaStream_t s, int n, int k, int64_t plane, const float* dy, float* db, float* scratch,
                        int slices)
{
    if (k <= 0)
        return;
    if (slices <= 0) { // the shape does not fit the two passes
        channel_sums(s, n, k, plane, dy, db);
        return;
    }
    channel_slice_sums_kernel<<<dim3(unsigned(slices), unsigned(k)), kSliceThreads, 0, s>>>(n, k, int(plane), slices,
                                                                                             dy, scratch);
    GPULAB_CUDA_CHECK(cudaGetLastError());
    slice_totals_kernel<<<(k + 127) / 128, 128, 0, s>>>(k, slices, scratch, db);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void avgpool2_forward(cudaStream_t s, int n, int c, int h, int w, const float* x, float* y)
{
    const int64_t count = int64_t(n) * c * (h / 2) * (w / 2);
    if (count <= 0)
        return;
    avgpool2_forward_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, h, w, x, y);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void relu_forward(cudaStream_t s, int64_t count, const float* x, float* y)
{
    if (count <= 0)
        return;
    relu_forward_kernel<<<blocks_for(count), kThreads, 0, s>>>(count, x, y);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void add_or_copy(cudaStream_t s, int64_t count, const float* a, float* y, bool accumulate)
{
    if (count <= 0)
        return;
    const bool aligned = (reinterpret_cast<uintptr_t>(a) % 16 == 0) && (reinterpret_cast<uintptr_t>(y) % 16 == 0);
    const int64_t quads = aligned ? count / 4 : 0;
    if (quads > 0) {
        // Enough blocks to keep every SM's memory pipeline full, a few loads per thread.
        const int blocks = int(std::min<int64_t>((quads + kThreads - 1) / kThreads, 8192));
        add_or_copy4_kernel<<<blocks, kThreads, 0, s>>>(quads, reinterpret_cast<const float4*>(a),
                                                        reinterpret_cast<float4*>(y), accumulate);
        GPULAB_CUDA_CHECK(cudaGetLastError());
    }
    const int64_t done = quads * 4, rest = count - done;
    if (rest > 0) {
        add_or_copy_kernel<<<blocks_for(rest), kThreads, 0, s>>>(rest, a + done, y + done, accumulate);
        GPULAB_CUDA_CHECK(cudaGetLastError());
    }
}

void exchange_sum(cudaStream_t s, int64_t count, float* a, float* b)
{
    if (count <= 0)
        return;
    const bool aligned = (reinterpret_cast<uintptr_t>(a) % 16 == 0) && (reinterpret_cast<uintptr_t>(b) % 16 == 0);
    const int64_t quads = aligned ? count / 4 : 0;
    if (quads > 0) {
        const int blocks = int(std::min<int64_t>((quads + kThreads - 1) / kThreads, 8192));
        exchange_sum4_kernel<<<blocks, kThreads, 0, s>>>(quads, reinterpret_cast<float4*>(a),
                                                         reinterpret_cast<float4*>(b));
        GPULAB_CUDA_CHECK(cudaGetLastError());
    }
    const int64_t done = quads * 4, rest = count - done;
    if (rest > 0) {
        exchange_sum_kernel<<<blocks_for(rest), kThreads, 0, s>>>(rest, a + done, b + done);
        GPULAB_CUDA_CHECK(cudaGetLastError());
    }
}

void gate(cudaStream_t s, const int* open, int* timed_out, uint64_t max_ns)
{
    gate_kernel<<<1, 1, 0, s>>>(open, timed_out, static_cast<unsigned long long>(max_ns));
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void softmax_xent(cudaStream_t s, int n, int classes, const float* logits, const int32_t* labels,
                  float* loss_sum, float* dlogits, CudaAsyncError* err)
{
    softmax_xent_kernel<<<1, kThreads, 0, s>>>(n, classes, logits, labels, loss_sum, dlogits, err);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

void count_correct(cudaStream_t s, int n, int classes, const float* logits, const int32_t* labels,
                   float* correct)
{
    count_correct_kernel<<<1, kThreads, 0, s>>>(n, classes, logits, labels, correct);
    GPULAB_CUDA_CHECK(cudaGetLastError());
}

} // namespace cuda
} // namespace gpulab
