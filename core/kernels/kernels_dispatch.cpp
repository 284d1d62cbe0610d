// kernels_for: picks the kernel table for a device, so the trainer never names a backend.
#include "device/device.h"
#include "kernels/cpu_fast_kernels.h"
#include "kernels/kernels.h"

#include <stdexcept>
#include <string>

namespace gpulab {

#ifdef GPULAB_HAVE_CUDA
extern const Kernels& cuda_kernels(); // core/kernels/cuda_kernels.cu
#endif

const Kernels& kernels_for(const Device& device)
{
    switch (device.kind()) {
    case DeviceKind::CpuSim:
        return cpu_sim_kernels(device); // fast, or the reference with GPULAB_KERNELS=reference
    case DeviceKind::Cuda:
#ifdef GPULAB_HAVE_CUDA
        return cuda_kernels();
#else
        throw std::runtime_error("CUDA kernels not built: " + device.name()
                                 + " needs a gpulab built with a CUDA toolkit (GPULAB_WITH_CUDA=ON)");
#endif
    }
    throw std::logic_error("kernels_for: unknown device kind for " + device.name());
}

} // namespace gpulab
