// The flat columns an event had before events were typed: the CSV export's columns (see
// trace_export.h) and the event record of version 1 recordings. One place maps each kind's
// named fields to and from them, so both stay what they were. Fields added since have
// columns of their own after those (modelled .. ranks); version 1 recordings lack them and
// read as their defaults. No Qt.
#pragma once

#include "trace/event.h"

#include <cstdint>
#include <string>

namespace gpulab {

// A column a kind does not use keeps the default below.
struct EventColumns {
    double t_us = 0;
    double t_end_us = 0;  // Op, AllreduceStep: the end
    int device = -1;
    int epoch = 0;        // AllreduceStep, MinibatchLoss, EpochEnd, Snapshot
    int batch = 0;        // AllreduceStep, MinibatchLoss, Snapshot
    int step = -1;        // AllreduceStep
    int src = -1;         // AllreduceStep
    int dst = -1;         // AllreduceStep
    int chunk = -1;       // AllreduceStep
    int snapshot = -1;    // Snapshot: its index (not a CSV column)
    int64_t bytes = 0;    // MemAlloc/MemFree/MemOom: bytes; AllreduceStep: bytes moved;
                          // EpochEnd: images
    int64_t in_use = 0;   // MemAlloc/MemFree/MemOom
    double value = 0;     // RunBegin: devices; MemAlloc/MemFree: reserved; AllreduceStep:
                          // steps; MinibatchLoss: loss; EpochEnd: train loss; Snapshot: what
                          // (0 params, 1 gradient before allreduce, 2 after)
    double value2 = 0;    // MinibatchLoss: images; EpochEnd: test accuracy
    double value3 = 0;    // MinibatchLoss: minibatches in the epoch; EpochEnd: seconds
    std::string name;     // RunBegin: settings; RunEnd: status; Push/Op: op;
                          // AllreduceStep: phase; Snapshot: tensor
    std::string text;     // RunEnd/Error: message; Log: text
    gpulab::Error error;  // RunEnd, Error (not a CSV column)
    // added after the first columns (not in version 1 recordings):
    int modelled = 0;          // AllreduceStep: 1 when a link model set its time
    int64_t charged_bytes = 0; // AllreduceStep: bytes the link model charged
    std::string stage;         // AllreduceStep: "within-rank" | "across-ranks"; "" = within
    int world = 0;             // RunBegin: ranks in the job (0 = 1)
    std::string ranks;         // RunBegin: each device's rank, ';'-separated ("0;0;1;1");
                               // "" = every device rank 0's
};

EventColumns event_columns(const Event& e);
// The event of kind k that those columns describe. Throws std::invalid_argument when a
// column cannot hold a field's value (a snapshot kind other than 0, 1, 2; a count that is
// not a whole number).
Event event_from_columns(EventKind k, const EventColumns& c);

} // namespace gpulab
