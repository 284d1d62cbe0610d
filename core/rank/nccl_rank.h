// GPU ranks: the across-ranks stage of a minibatch's gradient sum runs as one NCCL allreduce
// on the GPUs, over a communicator of one GPU per rank (ncclCommInitRank, its unique id carried
// by the ranks' rendezvous store). The ranks' start (rank 0's parameters), the test counts and
// the news of a rank that failed still go through the group the ranks joined (Gloo). No Qt.
#pragma once

#include "rank/rank_group.h"

#include <chrono>
#include <memory>

namespace gpulab {

// Makes the NCCL communicator of the ranks in `joined` (every rank calls this at the same
// point), with this rank on GPU `first_gpu` (nccl_rank_plan.h says which), and returns a group
// that sums gradients with it (device_allreduce_sum) and does everything else through
// `joined`. The communicator is made without blocking: one that is not ready within `timeout`
// (a rank never came), or that a failing rank leaves half made, is aborted. Throws GpulabError:
// RankCudaNeedsNccl (a build without NCCL), RankNcclInitFailed, RankNcclInitTimeout, RankLost,
// RankJoinTimeout (the id never came). This rank's failure is reported to the others first.
std::unique_ptr<RankGroup> join_nccl_ranks(std::unique_ptr<RankGroup> joined, int first_gpu,
                                           std::chrono::milliseconds timeout);

} // namespace gpulab
