// NCCL allreduce over CUDA devices that each have their own GPU: one grouped
// ncclAllReduce per buffer, on every device's own stream. Built with GPULAB_HAVE_NCCL.
#pragma once

#include "comm/allreduce.h"

#include <string>
#include <vector>

namespace gpulab {

class Device;

// Empty when NCCL can sum over these devices; otherwise why not (not CUDA devices, two of
// them on one GPU).
std::string nccl_unsupported_reason(const std::vector<const Device*>& devices);

// Pushes one op, on the first device's worker, that sums every device's whole buffer (all
// its chunks) in place with a grouped ncclAllReduce, and records one AllreduceStep event
// per device (src -1: every device takes part). Runs for a single device too (a one-rank
// communicator). The communicators are made on first use and kept by the devices.
// Throws std::invalid_argument with nccl_unsupported_reason when it cannot run.
bool push_nccl_allreduce(const AllreduceContext& ctx, const std::vector<std::vector<Tensor>>& bufs);

} // namespace gpulab
