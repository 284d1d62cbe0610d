// summarize_ops / format_op_summary (op_summary.h).
#include "trace/op_summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>

namespace gpulab {

OpSummary summarize_ops(const std::vector<Event>& events)
{
    OpSummary s;
    std::map<std::pair<int, std::string>, OpStats> by_op;
    double first = 0, last = 0;
    bool any = false;
    for (const Event& e : events) {
        if (e.is<ev::MinibatchLoss>())
            ++s.minibatches;
        const auto* op = e.get<ev::Op>();
        if (!op || e.device < 0)
            continue;
        const double us = std::max(0.0, op->t_end_us - e.t_us);
        OpStats& st = by_op[{e.device, op->op}];
        st.device = e.device;
        st.name = op->op;
        ++st.count;
        st.total_us += us;
        st.max_us = std::max(st.max_us, us);
        if (static_cast<size_t>(e.device) >= s.busy_us.size()) {
            s.busy_us.resize(static_cast<size_t>(e.device) + 1, 0.0);
            s.op_count.resize(static_cast<size_t>(e.device) + 1, 0);
        }
        s.busy_us[static_cast<size_t>(e.device)] += us;
        ++s.op_count[static_cast<size_t>(e.device)];
        first = any ? std::min(first, e.t_us) : e.t_us;
        last = any ? std::max(last, op->t_end_us) : op->t_end_us;
        any = true;
    }
    s.span_us = any ? last - first : 0.0;
    for (auto& [key, st] : by_op)
        s.ops.push_back(std::move(st));
    std::stable_sort(s.ops.begin(), s.ops.end(), [](const OpStats& a, const OpStats& b) {
        return a.device != b.device ? a.device < b.device : a.total_us > b.total_us;
    });
    return s;
}

std::string format_op_summary(const OpSummary& s, int top)
{
    std::string out;
    char line[256];
    auto row = [&](const char* name, int64_t count, double total_us, double mean_us, double max_us, double busy) {
        std::snprintf(line, sizeof line, "  %-22s %9lld %11.1f %10.1f %10.1f %6.1f%%\n", name,
                      static_cast<long long>(count), total_us / 1e3, mean_us, max_us,
                      busy > 0 ? 100.0 * total_us / busy : 0.0);
        out += line;
    };
    std::snprintf(line, sizeof line,
                  "ops: %.3f s from the first op to the last, %lld minibatches trained: %.1f us per minibatch "
                  "(evaluation included)\n",
                  s.span_us / 1e6, static_cast<long long>(s.minibatches),
                  s.minibatches > 0 ? s.span_us / double(s.minibatches) : 0.0);
    out += line;
    for (size_t d = 0; d < s.busy_us.size(); ++d) {
        std::snprintf(line, sizeof line, "device %zu: busy %.3f s (%.0f%% of the span), %lld ops\n", d,
                      s.busy_us[d] / 1e6, s.span_us > 0 ? 100.0 * s.busy_us[d] / s.span_us : 0.0,
                      static_cast<long long>(s.op_count[d]));
        out += line;
        std::snprintf(line, sizeof line, "  %-22s %9s %11s %10s %10s %7s\n", "op", "count", "total ms", "mean us",
                      "max us", "share");
        out += line;
        int shown = 0;
        int64_t rest_count = 0;
        double rest_us = 0, rest_max = 0;
        for (const OpStats& st : s.ops) {
            if (st.device != static_cast<int>(d))
                continue;
            if (shown < top) {
                row(st.name.c_str(), st.count, st.total_us, st.mean_us(), st.max_us, s.busy_us[d]);
                ++shown;
            } else {
                rest_count += st.count;
                rest_us += st.total_us;
                rest_max = std::max(rest_max, st.max_us);
            }
        }
        if (rest_count > 0)
            row("(other ops)", rest_count, rest_us, rest_us / double(rest_count), rest_max, s.busy_us[d]);
    }
    return out;
}

} // namespace gpulab
