// One record of the event stream: what every layer of the engine reports, and what
// the UI, the CLI and the exporters read. Plain data, no Qt.
#pragma once

#include "error/error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gpulab {

enum class EventKind {
    RunBegin,       // name = description of the run's settings
    RunEnd,         // name = "completed" | "cancelled" | "failed"; text = message
    Push,           // front end pushed an op: device = target device, name = op
    Op,             // a device worker ran an op: t_us .. t_end_us, name, device
    MemAlloc,       // bytes = request, in_use = device bytes in use afterwards,
                    // value = bytes reserved (CUDA pool: in use + cached)
    MemFree,        // bytes = released, in_use = afterwards, value = bytes reserved
    MemOom,         // bytes = failed request, in_use = bytes in use at the time
    AllreduceStep,  // step, src, dst, chunk, bytes, t_us .. t_end_us
    MinibatchLoss,  // epoch, batch, value = mean loss of the minibatch
    EpochEnd,       // epoch, value = mean train loss, value2 = test acc, value3 = seconds
    Error,          // text = message; device = where, or -1
    Snapshot,       // snapshot = index for EventStream::snapshot(); value: 0 params,
                    // 1 gradient before allreduce, 2 after
    Log,            // text = human readable note
};

const char* event_kind_name(EventKind k);

struct Event {
    EventKind kind = EventKind::Log;
    double t_us = 0;      // microseconds since the stream's start
    double t_end_us = 0;  // spans (OpEnd, AllreduceStep): end time
    int device = -1;      // -1 = the front end / not device specific
    int epoch = 0;
    int batch = 0;
    int step = -1;        // allreduce step index within one allreduce
    int src = -1;
    int dst = -1;
    int chunk = -1;       // -1 = the whole buffer
    int snapshot = -1;
    int64_t bytes = 0;
    int64_t in_use = 0;
    double value = 0;
    double value2 = 0;
    double value3 = 0;
    std::string name;     // op name, phase ("reduce", "broadcast", ...), state
    std::string text;     // messages
    Error error;          // Error, RunEnd: the failure as a code and its facts (text: its English)
};

// Host copies of parameters (every device) or of one gradient (before/after allreduce).
struct Snapshot {
    enum class What { Params, GradBefore, GradAfter };
    What what = What::Params;
    int epoch = 0;           // Params: epoch 0, batch -1 = the initial parameters
    int batch = 0;
    int device = 0;
    std::string tensor;                     // "all" for Params, parameter name otherwise
    std::vector<std::string> names;         // parameter names, in order (Params only)
    std::vector<std::vector<float>> values; // one vector per parameter (Params) or one
};

} // namespace gpulab
