// pushed_allreduce: what an allreduce over the given devices pushes and records, read from a
// trace: the ops' names in push order, and each step event as "step phase src->dst chunk c".
// The buffers hold 1, 2, ... on device 0, 2, 3, ... on device 1 and so on; `sums` gets each
// device's buffer afterwards. For checks that a switch changes (or leaves) the op sequence.
#pragma once

#include "comm/allreduce.h"
#include "device/device.h"
#include "engine/engine.h"
#include "engine/tensor.h"
#include "trace/event_stream.h"

#include <string>
#include <vector>

struct PushedAllreduce {
    std::vector<std::string> ops;
    std::vector<std::string> steps;
    std::vector<std::vector<float>> sums;
};

inline PushedAllreduce pushed_allreduce(const std::vector<gpulab::Device*>& devices, gpulab::AllreduceKind kind,
                                        gpulab::EngineKind engine_kind, int fused_exchange, int64_t count)
{
    using namespace gpulab;
    PushedAllreduce out;
    EventStream trace;
    const int n = static_cast<int>(devices.size());
    {
        auto eng = make_engine(engine_kind, n, &trace);
        std::vector<Tensor> whole;
        std::vector<std::vector<Tensor>> bufs;
        const int chunks = kind == AllreduceKind::Ring ? n : 1;
        for (int d = 0; d < n; ++d) {
            Tensor t = make_tensor(*eng, *devices[size_t(d)], {count});
            std::vector<float> host(static_cast<size_t>(count));
            for (int64_t i = 0; i < count; ++i)
                host[size_t(i)] = float(d + 1 + i % 1000);
            devices[size_t(d)]->upload(t.f(), host.data(), count * 4);
            whole.push_back(t);
            bufs.push_back(split_chunks(*eng, t, chunks));
        }
        AllreduceContext ctx;
        ctx.engine = eng.get();
        ctx.trace = &trace;
        ctx.fused_exchange = fused_exchange;
        push_allreduce(kind, ctx, bufs);
        eng->wait_all();
        for (int d = 0; d < n; ++d) {
            out.sums.emplace_back(static_cast<size_t>(count));
            devices[size_t(d)]->download(out.sums.back().data(), whole[size_t(d)].f(), count * 4);
        }
    }
    for (const Event& e : trace.all()) {
        if (const auto* p = e.get<ev::Push>())
            out.ops.push_back(p->op);
        else if (const auto* s = e.get<ev::AllreduceStep>())
            out.steps.push_back(std::to_string(s->step) + "/" + std::to_string(s->steps) + " " + s->phase + " "
                                + std::to_string(s->src) + "->" + std::to_string(s->dst) + " chunk "
                                + std::to_string(s->chunk));
    }
    return out;
}
