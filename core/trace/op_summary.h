// Where the time went: the Op events of a run summed per device and op name. On simulated
// devices an op's time is its computation; on a GPU it is the host's time to queue its
// kernels (plus any wait for the GPU: read-backs, allreduce steps).
#pragma once

#include "trace/event.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gpulab {

struct OpStats {
    int device = 0;
    std::string name;
    int64_t count = 0;
    double total_us = 0;
    double max_us = 0;
    double mean_us() const { return count > 0 ? total_us / double(count) : 0.0; }
};

struct OpSummary {
    std::vector<OpStats> ops;     // by device, then by total time, longest first
    std::vector<double> busy_us;  // per device: the sum of its ops' times
    std::vector<int64_t> op_count; // per device
    double span_us = 0;           // first op's start to last op's end
    int64_t minibatches = 0;      // MinibatchLoss events
};

OpSummary summarize_ops(const std::vector<Event>& events);

// A table per device, its `top` longest ops (the rest as one "other" row), with count,
// total ms, mean and max µs, and each op's share of the device's busy time.
std::string format_op_summary(const OpSummary& s, int top = 12);

} // namespace gpulab
