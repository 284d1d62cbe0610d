// kernels_for: picks the kernel table for a device, so the trainer never names a backend.
#include "device/device.h"
#include "kernels/cpu_fast_kernels.h"
#include "kernels/kernels.h"

#include <stdexcept>
#include <string>

#ifdef GPULAB_HAVE_CUDA
#include "device/cuda_device.h"
#include "kernels/cuda_kernels.h"
#endif

namespace gpulab {

const Kernels& kernels_for(const Device& device)
{
    switch (device.kind()) {
    case DeviceKind::CpuSim:
        return cpu_sim_kernels(device); // fast, or the reference with GPULAB_KERNELS=reference
    case DeviceKind::Cuda:
#ifdef GPULAB_HAVE_CUDA
        // Each CUDA device has its own table (its stream, handles and cuDNN plans), kept
        // in the device's extension slot and made on first use.
        if (const auto* cuda = dynamic_cast<const CudaDevice*>(&device)) {
            struct Table final : Device::Extension {
                std::unique_ptr<Kernels> kernels;
            };
            auto& ext = device.extension([cuda] {
                auto t = std::make_unique<Table>();
                t->kernels = make_cuda_kernels(const_cast<CudaDevice&>(*cuda));
                return t;
            });
            return *static_cast<Table&>(ext).kernels;
        }
        throw std::logic_error("kernels_for: " + device.name() + " says it is CUDA but is no CudaDevice");
#else
        throw std::runtime_error("CUDA kernels not built: " + device.name()
                                 + " needs a gpulab built with a CUDA toolkit (GPULAB_WITH_CUDA=ON)");
#endif
    }
    throw std::logic_error("kernels_for: unknown device kind for " + device.name());
}

} // namespace gpulab
