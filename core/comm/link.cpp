// The link model (link.h): the named links' figures and the per-device link clock.
#include "comm/link.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

namespace gpulab {

namespace {

struct NamedLink {
    const char* name;
    double latency_us;
    double gb_per_s; // per direction
};

// Per-direction bandwidths from the vendors' specifications; latencies are typical published
// figures, not measurements (the README's table gives the sources).
const NamedLink kLinks[] = {
    {"none", 0, 0},
    {"pcie3", 1.0, 15.75},  // PCIe 3.0 x16: 8 GT/s x 16 lanes, 128b/130b
    {"pcie4", 1.0, 31.5},   // PCIe 4.0 x16
    {"pcie5", 1.0, 63.0},   // PCIe 5.0 x16
    {"nvlink3", 1.0, 300},  // A100: 600 GB/s total, 300 per direction
    {"nvlink4", 1.0, 450},  // H100: 900 GB/s total, 450 per direction
    {"ib-hdr", 0.6, 25},    // InfiniBand HDR, 200 Gb/s
    {"ib-ndr", 0.6, 50},    // InfiniBand NDR, 400 Gb/s
    {"100gbe", 10, 12.5},   // Ethernet line rates; TCP latency
    {"25gbe", 20, 3.125},
    {"10gbe", 30, 1.25},
    {"1gbe", 50, 0.125},
};

} // namespace

double LinkModel::transfer_us(int64_t bytes) const
{
    if (none())
        return 0;
    return latency_us + static_cast<double>(bytes) / (gb_per_s * 1e9) * 1e6;
}

const std::vector<std::string>& link_names()
{
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const NamedLink& l : kLinks)
            v.push_back(l.name);
        return v;
    }();
    return names;
}

std::string link_choices_text()
{
    std::string s;
    for (const NamedLink& l : kLinks)
        s += std::string(l.name) + ", ";
    return s + "or custom:LAT_US,GB_PER_S with a latency >= 0 microseconds and a bandwidth > 0 GB/s per "
               "direction, e.g. custom:2000,0.05";
}

LinkModel parse_link(const std::string& s)
{
    for (const NamedLink& l : kLinks)
        if (s == l.name)
            return LinkModel{l.name, l.latency_us, l.gb_per_s};
    const std::string prefix = "custom:";
    if (s.rfind(prefix, 0) != 0)
        throw std::invalid_argument("unknown link '" + s + "' (choose " + link_choices_text() + ")");
    const std::string rest = s.substr(prefix.size());
    const size_t comma = rest.find(',');
    auto number = [&](const std::string& t, double& out) {
        try {
            size_t used = 0;
            out = std::stod(t, &used);
            return used == t.size() && std::isfinite(out);
        } catch (...) {
            return false;
        }
    };
    double lat = 0, bw = 0;
    if (comma == std::string::npos || !number(rest.substr(0, comma), lat) ||
        !number(rest.substr(comma + 1), bw))
        throw std::invalid_argument("cannot read link '" + s +
                                    "': a custom link is custom:LAT_US,GB_PER_S, two numbers, e.g. "
                                    "custom:2000,0.05");
    if (lat < 0 || bw <= 0)
        throw std::invalid_argument("link '" + s +
                                    "' needs a latency >= 0 microseconds and a bandwidth > 0 GB/s, "
                                    "e.g. custom:2000,0.05");
    return LinkModel{s, lat, bw};
}

double ring_allreduce_model_us(const LinkModel& m, int n, double bytes)
{
    if (m.none() || n < 2)
        return 0;
    return 2.0 * (n - 1) * m.latency_us + 2.0 * (n - 1) / n * bytes / (m.gb_per_s * 1e9) * 1e6;
}

double naive_allreduce_model_us(const LinkModel& m, int n, double bytes)
{
    if (m.none() || n < 2)
        return 0;
    return 2.0 * (n - 1) * (m.latency_us + bytes / (m.gb_per_s * 1e9) * 1e6);
}

double allreduce_algbw_gb_s(double bytes, double seconds)
{
    return seconds > 0 ? bytes / seconds / 1e9 : 0;
}

double allreduce_busbw_gb_s(double bytes, double seconds, int n)
{
    return n >= 1 ? allreduce_algbw_gb_s(bytes, seconds) * 2.0 * (n - 1) / n : 0;
}

int64_t LinkClock::charged_bytes(int64_t bytes) const
{
    return m_scale == 1.0 ? bytes : static_cast<int64_t>(std::llround(static_cast<double>(bytes) * m_scale));
}

LinkClock::Booking LinkClock::book(int src, int dst, int64_t bytes)
{
    const auto now = std::chrono::steady_clock::now();
    // rounded up, so that the booked time is never shorter than the model's
    const auto cost = std::chrono::nanoseconds(
        static_cast<int64_t>(std::ceil(m_model.transfer_us(charged_bytes(bytes)) * 1000.0)));
    std::lock_guard lock(m_mutex);
    TimePoint& send = m_send_free[src];
    TimePoint& recv = m_recv_free[dst];
    const TimePoint start = std::max({now, send, recv});
    const TimePoint end = start + cost;
    send = recv = end;
    return {start, end};
}

void LinkClock::transfer(int src, int dst, int64_t bytes)
{
    if (m_model.none())
        return;
    wait_until(book(src, dst, bytes).end);
}

void LinkClock::wait_until(TimePoint end) const
{
    if (!m_stop) {
        std::this_thread::sleep_until(end);
        return;
    }
    // in slices, so that a stop is seen within 20 ms; a short transfer is one sleep
    constexpr auto slice = std::chrono::milliseconds(20);
    for (;;) {
        if (m_stop->load())
            return;
        const TimePoint now = std::chrono::steady_clock::now();
        if (now >= end)
            return;
        std::this_thread::sleep_until(std::min(end, now + slice));
    }
}

} // namespace gpulab
