// Where a GPU rank runs, its refusals, and NCCL's unique id through the rendezvous store.
#include "rank/nccl_rank_plan.h"

#include "rank/rank_group.h"

#include <cstdlib>

namespace gpulab {

std::pair<std::string, std::string> local_rank_from_environment()
{
    for (const char* name : {"GPULAB_LOCAL_RANK", "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"})
        if (const char* v = std::getenv(name); v && *v)
            return {v, name};
    return {"", ""};
}

bool nccl_shares_gpus_from_environment()
{
    const char* v = std::getenv("NCCL_MULTI_RANK_GPU_ENABLE");
    return v && std::string(v) == "1";
}

Error plan_gpu_rank(const GpuRankAsk& ask, GpuRankPlan* plan)
{
    if (!ask.nccl_built)
        return Error(ErrorCode::RankCudaNeedsNccl);
    GpuRankPlan p;
    if (!ask.local_text.empty()) {
        long long v = -1;
        try {
            size_t used = 0;
            v = std::stoll(ask.local_text, &used);
            if (used != ask.local_text.size())
                v = -1;
        } catch (...) {
        }
        if (v < 0 || v > 1023)
            return Error(ErrorCode::RankLocalIndexBad, {{"variable", ask.local_from}, {"value", ask.local_text}});
        p.local = static_cast<int>(v);
        p.local_from = ask.local_from;
    } else {
        p.local = ask.gpus > 0 ? ask.rank % ask.gpus : 0;
        p.local_from = "rank mod GPUs";
    }
    p.first_gpu = p.local * ask.devices;
    if (ask.share_gpus && ask.gpus > 0)
        p.first_gpu %= ask.gpus; // the devices follow it modulo the GPUs too (make_devices)
    const int last = p.first_gpu + ask.devices - 1;
    if (last >= ask.gpus && !(ask.share_gpus && ask.gpus > 0)) {
        const std::string needs = ask.devices == 1 ? "GPU " + std::to_string(p.first_gpu)
                                                   : "GPUs " + std::to_string(p.first_gpu) + " to " + std::to_string(last);
        return Error(ErrorCode::RankTooFewGpus, {{"rank", std::to_string(ask.rank)},
                                                 {"local", std::to_string(p.local)},
                                                 {"from", p.local_from},
                                                 {"needs", needs},
                                                 {"gpus", std::to_string(ask.gpus)}});
    }
    *plan = p;
    return {};
}

std::vector<char> share_nccl_id(RankGroup& group, const std::vector<char>& id)
{
    const std::string key = "gpulab-nccl-unique-id";
    if (group.rank() == 0) {
        if (id.size() != kNcclIdBytes)
            throw GpulabError(Error(ErrorCode::RankNcclIdBad, {{"bytes", std::to_string(id.size())}}));
        group.store_set(key, std::string(id.begin(), id.end()));
    }
    const std::string text = group.store_get(key);
    std::vector<char> got(text.begin(), text.end());
    if (got.size() != kNcclIdBytes)
        throw GpulabError(Error(ErrorCode::RankNcclIdBad, {{"bytes", std::to_string(got.size())}}));
    return got;
}

} // namespace gpulab

#ifndef GPULAB_HAVE_NCCL
#include "rank/nccl_rank.h"

namespace gpulab {

std::unique_ptr<RankGroup> join_nccl_ranks(std::unique_ptr<RankGroup> joined, int, std::chrono::milliseconds)
{
    const Error e(ErrorCode::RankCudaNeedsNccl);
    joined->report_failure(english(e));
    throw GpulabError(e);
}

} // namespace gpulab
#endif
