// event_columns / event_from_columns (event_columns.h).
#include "trace/event_columns.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace gpulab {

namespace {

template <class... F>
struct Overload : F... {
    using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>; // clang 14 does not deduce it for an aggregate

template <class I>
I whole(double v, const char* what)
{
    // checked before the cast: a value out of range would be undefined behaviour
    if (!std::isfinite(v) || v != std::floor(v) || v < double(std::numeric_limits<I>::min()) ||
        v > double(std::numeric_limits<I>::max()))
        throw std::invalid_argument(std::string("event column ") + what + " is not a whole number in range");
    return static_cast<I>(v);
}

} // namespace

EventColumns event_columns(const Event& e)
{
    EventColumns c;
    c.t_us = e.t_us;
    c.device = e.device;
    std::visit(Overload{
                   [&](const ev::RunBegin& x) {
                       c.name = x.settings;
                       c.value = x.devices;
                       c.world = x.world;
                       for (size_t i = 0; i < x.device_ranks.size(); ++i) {
                           if (i > 0)
                               c.ranks += ';';
                           c.ranks += std::to_string(x.device_ranks[i]);
                       }
                   },
                   [&](const ev::RunEnd& x) {
                       c.name = x.status;
                       c.text = x.message;
                       c.error = x.error;
                   },
                   [&](const ev::Push& x) { c.name = x.op; },
                   [&](const ev::Op& x) {
                       c.name = x.op;
                       c.t_end_us = x.t_end_us;
                   },
                   [&](const ev::MemAlloc& x) {
                       c.bytes = x.bytes;
                       c.in_use = x.in_use;
                       c.value = static_cast<double>(x.reserved);
                   },
                   [&](const ev::MemFree& x) {
                       c.bytes = x.bytes;
                       c.in_use = x.in_use;
                       c.value = static_cast<double>(x.reserved);
                   },
                   [&](const ev::MemOom& x) {
                       c.bytes = x.bytes;
                       c.in_use = x.in_use;
                   },
                   [&](const ev::AllreduceStep& x) {
                       c.t_end_us = x.t_end_us;
                       c.epoch = x.epoch;
                       c.batch = x.batch;
                       c.step = x.step;
                       c.value = x.steps;
                       c.src = x.src;
                       c.dst = x.dst;
                       c.chunk = x.chunk;
                       c.bytes = x.bytes;
                       c.name = x.phase;
                       c.modelled = x.modelled ? 1 : 0;
                       c.charged_bytes = x.charged_bytes;
                       c.stage = allreduce_stage_name(x.stage);
                   },
                   [&](const ev::MinibatchLoss& x) {
                       c.epoch = x.epoch;
                       c.batch = x.batch;
                       c.value = x.loss;
                       c.value2 = static_cast<double>(x.images);
                       c.value3 = x.batches_in_epoch;
                   },
                   [&](const ev::EpochEnd& x) {
                       c.epoch = x.epoch;
                       c.value = x.train_loss;
                       c.value2 = x.test_accuracy;
                       c.value3 = x.seconds;
                       c.bytes = x.images;
                   },
                   [&](const ev::Error& x) {
                       c.text = x.message;
                       c.error = x.error;
                   },
                   [&](const ev::Snapshot& x) {
                       c.snapshot = x.index;
                       c.epoch = x.epoch;
                       c.batch = x.batch;
                       c.name = x.tensor;
                       c.value = x.what == SnapshotWhat::Params       ? 0
                                 : x.what == SnapshotWhat::GradBefore ? 1
                                                                      : 2;
                   },
                   [&](const ev::Log& x) { c.text = x.text; },
               },
               e.data);
    return c;
}

Event event_from_columns(EventKind k, const EventColumns& c)
{
    Event e{.t_us = c.t_us, .device = c.device};
    switch (k) {
    case EventKind::RunBegin: {
        ev::RunBegin x{.settings = c.name, .devices = whole<int>(c.value, "value"), .world = c.world == 0 ? 1 : c.world, .device_ranks = {}};
        if (x.world < 1)
            throw std::invalid_argument("a run's world size is at least 1");
        for (size_t at = 0; !c.ranks.empty() && at <= c.ranks.size();) {
            const size_t semi = std::min(c.ranks.find(';', at), c.ranks.size());
            const std::string r = c.ranks.substr(at, semi - at);
            if (r.empty() || r.size() > 9 || r.find_first_not_of("0123456789") != std::string::npos)
                throw std::invalid_argument("a device's rank is a whole number");
            x.device_ranks.push_back(std::stoi(r));
            if (x.device_ranks.back() >= x.world)
                throw std::invalid_argument("a device's rank is below the world size");
            at = semi + 1;
        }
        e.data = std::move(x);
        break;
    }
    case EventKind::RunEnd:
        e.data = ev::RunEnd{.status = c.name, .message = c.text, .error = c.error};
        break;
    case EventKind::Push: e.data = ev::Push{.op = c.name}; break;
    case EventKind::Op: e.data = ev::Op{.op = c.name, .t_end_us = c.t_end_us}; break;
    case EventKind::MemAlloc:
        e.data = ev::MemAlloc{.bytes = c.bytes, .in_use = c.in_use, .reserved = whole<int64_t>(c.value, "value")};
        break;
    case EventKind::MemFree:
        e.data = ev::MemFree{.bytes = c.bytes, .in_use = c.in_use, .reserved = whole<int64_t>(c.value, "value")};
        break;
    case EventKind::MemOom: e.data = ev::MemOom{.bytes = c.bytes, .in_use = c.in_use}; break;
    case EventKind::AllreduceStep:
        e.data = ev::AllreduceStep{.t_end_us = c.t_end_us,
                                   .epoch = c.epoch,
                                   .batch = c.batch,
                                   .step = c.step,
                                   .steps = whole<int>(c.value, "value"),
                                   .src = c.src,
                                   .dst = c.dst,
                                   .chunk = c.chunk,
                                   .bytes = c.bytes,
                                   .phase = c.name,
                                   .modelled = c.modelled != 0,
                                   .charged_bytes = c.charged_bytes,
                                   .stage = c.stage == allreduce_stage_name(AllreduceStage::AcrossRanks)
                                                ? AllreduceStage::AcrossRanks
                                                : AllreduceStage::WithinRank};
        break;
    case EventKind::MinibatchLoss:
        e.data = ev::MinibatchLoss{.epoch = c.epoch,
                                   .batch = c.batch,
                                   .batches_in_epoch = whole<int>(c.value3, "value3"),
                                   .images = whole<int64_t>(c.value2, "value2"),
                                   .loss = c.value};
        break;
    case EventKind::EpochEnd:
        e.data = ev::EpochEnd{.epoch = c.epoch,
                              .train_loss = c.value,
                              .test_accuracy = c.value2,
                              .seconds = c.value3,
                              .images = c.bytes};
        break;
    case EventKind::Error: e.data = ev::Error{.message = c.text, .error = c.error}; break;
    case EventKind::Snapshot: {
        const int what = whole<int>(c.value, "value");
        if (what < 0 || what > 2)
            throw std::invalid_argument("a snapshot's kind is 0, 1 or 2");
        e.data = ev::Snapshot{.index = c.snapshot,
                              .what = static_cast<SnapshotWhat>(what),
                              .epoch = c.epoch,
                              .batch = c.batch,
                              .tensor = c.name};
        break;
    }
    case EventKind::Log: e.data = ev::Log{.text = c.text}; break;
    }
    return e;
}

} // namespace gpulab
