// One record of the event stream: what every layer of the engine reports, and what
// the UI, the CLI and the exporters read. Plain data, no Qt.
//
// An Event is the two fields every kind has (when, and which device) and one struct of
// named fields per kind, held in a std::variant. Read a kind's fields with
//     if (const auto* x = e.get<ev::EpochEnd>()) use(x->test_accuracy);
// or switch on e.kind(). Make one with designated initializers:
//     Event{.device = d, .data = ev::Push{.op = name}}
#pragma once

#include "error/error.h"

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace gpulab {

// What a snapshot holds: every parameter of one device, or one gradient of one device
// just before or just after the allreduce.
enum class SnapshotWhat { Params, GradBefore, GradAfter };

// Where an allreduce step moves data: between the devices of one rank (one process; every
// allreduce of a single-process run), or across ranks (the network stage of a job of
// several processes).
enum class AllreduceStage { WithinRank, AcrossRanks };
const char* allreduce_stage_name(AllreduceStage s); // "within-rank" | "across-ranks"

namespace ev {

// The run starts (the first event of a run).
struct RunBegin {
    std::string settings; // TrainConfig::describe(): the run's settings in one line
    int devices = 0;      // how many devices the run trains on (all ranks together)
    int world = 1;        // how many ranks (processes) the job has; 1 = a single process
    // device_ranks[d]: the rank that owns global device d. Empty: every device is rank 0's
    // (a single process); otherwise one entry per device, each in 0 .. world-1.
    std::vector<int> device_ranks;
    int rank_of(int device) const
    {
        return device >= 0 && static_cast<size_t>(device) < device_ranks.size()
                   ? device_ranks[static_cast<size_t>(device)]
                   : 0;
    }
    friend bool operator==(const RunBegin&, const RunBegin&) = default;
};

// The run is over (the last event of a run).
struct RunEnd {
    std::string status;   // run_status_name(): "completed" | "cancelled" | "failed"
    std::string message;  // the failure in English, empty when it completed
    gpulab::Error error;  // the failure as a code and its facts (None when it completed)
    friend bool operator==(const RunEnd&, const RunEnd&) = default;
};

// The front end pushed an op to the engine, for Event::device.
struct Push {
    std::string op;       // the op's name ("conv1_fwd", "allreduce", ...)
    friend bool operator==(const Push&, const Push&) = default;
};

// A device worker ran an op: from Event::t_us to t_end_us, on Event::device.
struct Op {
    std::string op;       // the op's name, as pushed
    double t_end_us = 0;  // when it ended, microseconds since the stream's start
    friend bool operator==(const Op&, const Op&) = default;
};

// Event::device allocated a buffer.
struct MemAlloc {
    int64_t bytes = 0;    // the request
    int64_t in_use = 0;   // the device's bytes in use afterwards
    int64_t reserved = 0; // bytes reserved from the device (a CUDA pool: in use + cached)
    friend bool operator==(const MemAlloc&, const MemAlloc&) = default;
};

// Event::device released a buffer.
struct MemFree {
    int64_t bytes = 0;    // released
    int64_t in_use = 0;   // the device's bytes in use afterwards
    int64_t reserved = 0; // bytes reserved from the device afterwards
    friend bool operator==(const MemFree&, const MemFree&) = default;
};

// An allocation on Event::device did not fit.
struct MemOom {
    int64_t bytes = 0;    // the request that failed
    int64_t in_use = 0;   // the device's bytes in use at the time
    friend bool operator==(const MemOom&, const MemOom&) = default;
};

// One step of an allreduce: data moved from src into dst (Event::device is -1), from
// Event::t_us to t_end_us.
struct AllreduceStep {
    double t_end_us = 0;  // when the data had landed
    int epoch = 0;        // the minibatch whose gradients it reduces: epoch from 1,
    int batch = 0;        // minibatch from 0 within the epoch
    int step = -1;        // this step's index within the allreduce, from 0
    int steps = 0;        // the allreduce's number of steps
    int src = -1;         // the sending device (-1: every device, e.g. NCCL's)
    int dst = -1;         // the receiving device
    int chunk = -1;       // the chunk of the gradient moved (-1: the whole buffer)
    int64_t bytes = 0;    // bytes moved
    std::string phase;    // "reduce", "broadcast", "reduce-scatter", "allgather", "nccl", ...
    // The step's time is modelled: a link model (--link) set how long it took, not the
    // copy alone. Such steps are labelled "modelled" wherever they appear.
    bool modelled = false;
    // What the link model charged for the step: bytes, or more with --link-params ("as if
    // the model were bigger": charged_bytes > bytes). 0 when not modelled.
    int64_t charged_bytes = 0;
    AllreduceStage stage = AllreduceStage::WithinRank; // within a rank, or across ranks
    friend bool operator==(const AllreduceStep&, const AllreduceStep&) = default;
};

// A minibatch was trained: its mean loss over all devices.
struct MinibatchLoss {
    int epoch = 0;            // from 1
    int batch = 0;            // from 0 within the epoch
    int batches_in_epoch = 0; // minibatches in this epoch
    int64_t images = 0;       // images in this minibatch (all devices together)
    double loss = 0;          // mean cross-entropy loss of the minibatch
    friend bool operator==(const MinibatchLoss&, const MinibatchLoss&) = default;
};

// An epoch was trained and evaluated.
struct EpochEnd {
    int epoch = 0;            // from 1
    double train_loss = 0;    // mean training loss over the epoch's minibatches
    double test_accuracy = 0; // fraction of the test images classified right, 0..1
    double seconds = 0;       // wall time of the epoch (training and evaluation)
    int64_t images = 0;       // training images seen in the epoch
    friend bool operator==(const EpochEnd&, const EpochEnd&) = default;
};

// The run failed: on Event::device, or -1 when not device specific.
struct Error {
    std::string message;  // the failure in English
    gpulab::Error error;  // the failure as a code and its facts
    friend bool operator==(const Error&, const Error&) = default;
};

// A snapshot was taken of Event::device: EventStream::snapshot(index) holds its values.
struct Snapshot {
    int index = -1;           // into EventStream::snapshot() / Recording::snapshots
    SnapshotWhat what = SnapshotWhat::Params;
    int epoch = 0;            // the minibatch after which it was taken (Params: epoch 0,
    int batch = 0;            // batch -1 = the initial parameters)
    std::string tensor;       // "all" for Params, the parameter's name for a gradient
    friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// A note for people.
struct Log {
    std::string text;     // human readable
    friend bool operator==(const Log&, const Log&) = default;
};

} // namespace ev

// The kinds, in the order of Event::Data's alternatives.
enum class EventKind {
    RunBegin, RunEnd, Push, Op, MemAlloc, MemFree, MemOom, AllreduceStep, MinibatchLoss,
    EpochEnd, Error, Snapshot, Log,
};

const char* event_kind_name(EventKind k);

struct Event {
    using Data = std::variant<ev::RunBegin, ev::RunEnd, ev::Push, ev::Op, ev::MemAlloc, ev::MemFree,
                              ev::MemOom, ev::AllreduceStep, ev::MinibatchLoss, ev::EpochEnd,
                              ev::Error, ev::Snapshot, ev::Log>;

    double t_us = 0;      // microseconds since the stream's start (spans: the start)
    int device = -1;      // the device it happened on; -1 = the front end / not device specific
    Data data = ev::Log{};

    EventKind kind() const { return static_cast<EventKind>(data.index()); }
    template <class T>
    const T* get() const { return std::get_if<T>(&data); }
    template <class T>
    T* get() { return std::get_if<T>(&data); }
    template <class T>
    bool is() const { return std::holds_alternative<T>(data); }
    friend bool operator==(const Event&, const Event&) = default;
};

static_assert(std::is_same_v<std::variant_alternative_t<size_t(EventKind::RunBegin), Event::Data>, ev::RunBegin>);
static_assert(std::is_same_v<std::variant_alternative_t<size_t(EventKind::AllreduceStep), Event::Data>, ev::AllreduceStep>);
static_assert(std::is_same_v<std::variant_alternative_t<size_t(EventKind::Log), Event::Data>, ev::Log>);
static_assert(std::variant_size_v<Event::Data> == size_t(EventKind::Log) + 1);

// Host copies of parameters (every device) or of one gradient (before/after allreduce).
struct Snapshot {
    using What = SnapshotWhat;
    What what = What::Params;
    int epoch = 0;           // Params: epoch 0, batch -1 = the initial parameters
    int batch = 0;
    int device = 0;
    std::string tensor;                     // "all" for Params, parameter name otherwise
    std::vector<std::string> names;         // parameter names, in order (Params only)
    std::vector<std::vector<float>> values; // one vector per parameter (Params) or one
};

} // namespace gpulab
