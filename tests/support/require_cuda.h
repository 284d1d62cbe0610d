// require_cuda(): how the GPU suites start each test. A test runs where CUDA is usable,
// skips only where there is nothing to use (no NVIDIA driver, or no GPU), and fails where a
// GPU is present but unusable, or anywhere GPULAB_REQUIRE_CUDA=1 (the GPU checks set it on
// a machine whose nvidia-smi lists a GPU). The rule itself: gpulab::cuda_verdict().
#pragma once

#include "plain_test.h"

#include "device/device_factory.h"

#include <string>

inline void require_cuda()
{
    std::string why;
    switch (gpulab::cuda_verdict(&why)) {
    case gpulab::CudaVerdict::Run:
        return;
    case gpulab::CudaVerdict::Skip:
        PT_SKIP("no CUDA device (" + why + ")");
    case gpulab::CudaVerdict::Fail:
        PT_FAIL(why);
    }
}
