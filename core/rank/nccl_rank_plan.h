// GPU ranks before any GPU is touched: which GPUs a rank uses (its local index on its machine),
// the refusals (no NCCL in this build, too few GPUs on this machine), and NCCL's unique id
// carried through the ranks' rendezvous store. Plain C++: no CUDA, no NCCL, no Qt.
#pragma once

#include "error/error.h"

#include <string>
#include <vector>

namespace gpulab {

class RankGroup;

// ---- where a GPU rank runs ----
// A rank's local index is its number among the ranks on its own machine. It comes from the
// first of GPULAB_LOCAL_RANK, LOCAL_RANK (torchrun) and OMPI_COMM_WORLD_LOCAL_RANK (mpirun)
// that is set, else it is the rank modulo the machine's GPU count (right when every machine
// runs as many ranks as it has GPUs, numbered machine by machine). A rank of --devices n
// uses GPUs local x n ... local x n + n - 1: one GPU per device, none shared with another rank.
// NCCL 2.28 refuses two ranks on one GPU; NCCL 2.30 and later allow it where
// NCCL_MULTI_RANK_GPU_ENABLE=1, and so does this plan then (GPUs counted modulo the machine's).
struct GpuRankAsk {
    int rank = 0;
    int devices = 1;            // per rank
    int gpus = 0;               // GPUs this process sees
    bool nccl_built = true;
    std::string local_text;     // the local index as the environment gave it; "" for none
    std::string local_from;     // the variable it came from
    bool share_gpus = false;    // NCCL_MULTI_RANK_GPU_ENABLE=1
};
struct GpuRankPlan {
    int local = 0;              // the rank's local index
    std::string local_from;     // "LOCAL_RANK", or "rank mod GPUs"
    int first_gpu = 0;          // GPU of the rank's first device
};

// {value, variable} of the first local-index variable set, or {"", ""}.
std::pair<std::string, std::string> local_rank_from_environment();
// NCCL_MULTI_RANK_GPU_ENABLE=1 in the environment.
bool nccl_shares_gpus_from_environment();

// Code None and *plan filled when the rank can run; else RankCudaNeedsNccl,
// RankLocalIndexBad or RankTooFewGpus with its facts.
Error plan_gpu_rank(const GpuRankAsk& ask, GpuRankPlan* plan);

// ---- NCCL's unique id through the store ----
constexpr size_t kNcclIdBytes = 128; // sizeof(ncclUniqueId)

// Rank 0 puts `id` (kNcclIdBytes) in the rendezvous store; every rank gets it back from
// there, so rank 0 too returns what the store holds. Waits up to the job's timeout (throws
// GpulabError RankJoinTimeout); an id of another size throws RankNcclIdBad.
std::vector<char> share_nccl_id(RankGroup& group, const std::vector<char>& id);

} // namespace gpulab
