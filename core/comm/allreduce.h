// Allreduce strategies over the devices' gradient buffers: the book's naive one (sum
// into device 0, broadcast back) and ring (reduce-scatter, then all-gather). Each
// transfer is an engine op on the receiving device and an AllreduceStep event.
#pragma once

#include "engine/tensor.h"

#include <functional>
#include <string>
#include <vector>

namespace gpulab {

class EventStream;
class LinkClock;

enum class AllreduceKind { Naive, Ring, Nccl };

const char* allreduce_name(AllreduceKind k);
// "naive" | "ring" | "nccl"; throws std::invalid_argument naming the choices.
AllreduceKind parse_allreduce(const std::string& s);

// Steps an allreduce of n devices takes: naive 2(n-1), ring 2(n-1) (each with n
// transfers at once), NCCL 1 (one collective; one event per device); 0 when n == 1.
int allreduce_steps(AllreduceKind k, int n);

// Whether this build has NCCL; when not, why (one line).
bool nccl_available(std::string* why_not = nullptr);

struct AllreduceStepInfo {
    int step = 0;         // 0 .. steps-1
    int steps = 0;
    std::string phase;    // "reduce", "broadcast", "reduce-scatter", "all-gather"
};

struct AllreduceContext {
    Engine* engine = nullptr;
    EventStream* trace = nullptr;
    int epoch = 0, batch = 0; // for the events
    // The link model's clock (comm/link.h), or null for no link: after its data has landed,
    // each transfer's receiving worker waits until the link would have carried it.
    LinkClock* link = nullptr;
    // Called on the front end before each step is pushed; false stops the allreduce
    // (the caller is cancelling). May block (the GUI's step mode).
    std::function<bool(const AllreduceStepInfo&)> before_step;
    // The fused exchange of a ring of two (see push_allreduce): -1 follows the switch
    // GPULAB_CUDA_FUSED_EXCHANGE=1 (off by default), read when the ring is pushed; 0 off; 1 on.
    int fused_exchange = -1;
};

// bufs[d] = device d's gradient, split into chunks (views with their own vars). For ring,
// every buffer must have exactly bufs.size() chunks; naive uses every chunk var at once.
// Pushes the ops; returns false when before_step asked to stop.
// The fused exchange (on as fused_exchange says): a ring of two CUDA devices that can each
// read the other's memory (logical devices on one GPU, or GPUs with peer access), without a
// link model, takes one op per device instead of two: in the reduce-scatter step each device's
// kernel writes its chunk's sum into both devices' buffers (a = b = a + b), so the all-gather
// step has nothing left to move. The step events stay those of the ring: the reduce-scatter
// step's and the all-gather step's, each transfer as src -> dst, both with the one kernel's
// span (the all-gather's data moved in that kernel); before_step is asked for the first step
// only, and the op is named for both steps.

bool push_allreduce(AllreduceKind kind, const AllreduceContext& ctx,
                    const std::vector<std::vector<Tensor>>& bufs);

// `whole` as `chunks` consecutive views, each with a var of its own from `engine`: the
// first count % chunks views one float longer (what push_allreduce's bufs hold per device).
std::vector<Tensor> split_chunks(Engine& engine, const Tensor& whole, int chunks);

// Sum of the parts, host side: what every device must hold afterwards (tests).
std::vector<float> reference_allreduce(const std::vector<std::vector<float>>& parts);

} // namespace gpulab
