// GPULAB_CUDA_CHECK: the one checking macro for every CUDA runtime, cuBLAS, cuDNN and NCCL
// call. A failure throws CudaError naming the call, the file and the line.
// Only CUDA-enabled sources include this header.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#ifdef GPULAB_HAVE_NCCL
#include <nccl.h>
#endif

#include <stdexcept>
#include <string>

namespace gpulab {

// A CUDA, cuBLAS, cuDNN or NCCL call failed. what(): "cudaMalloc(&p, size) failed at
// core/device/cuda_device.cpp:120: out of memory (cudaErrorMemoryAllocation)".
class CudaError : public std::runtime_error {
public:
    CudaError(const std::string& message, int code) : std::runtime_error(message), code(code) {}
    int code; // the library's status value
};

namespace cuda_check_detail {

[[noreturn]] void fail(const char* call, const char* file, int line, int code, const std::string& why);

inline const char* cublas_status_name(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "unknown cuBLAS status";
}

inline void check(cudaError_t s, const char* call, const char* file, int line)
{
    if (s != cudaSuccess) {
        (void)cudaGetLastError(); // clear a non-sticky error so the next call starts clean
        fail(call, file, line, int(s),
             std::string(cudaGetErrorString(s)) + " (" + cudaGetErrorName(s) + ")");
    }
}

inline void check(cublasStatus_t s, const char* call, const char* file, int line)
{
    if (s != CUBLAS_STATUS_SUCCESS)
        fail(call, file, line, int(s), cublas_status_name(s));
}

inline void check(cudnnStatus_t s, const char* call, const char* file, int line)
{
    if (s != CUDNN_STATUS_SUCCESS)
        fail(call, file, line, int(s), cudnnGetErrorString(s));
}

#ifdef GPULAB_HAVE_NCCL
inline void check(ncclResult_t s, const char* call, const char* file, int line)
{
    if (s != ncclSuccess && s != ncclInProgress)
        fail(call, file, line, int(s), ncclGetErrorString(s));
}
#endif

} // namespace cuda_check_detail

#define GPULAB_CUDA_CHECK(call) ::gpulab::cuda_check_detail::check((call), #call, __FILE__, __LINE__)

} // namespace gpulab
