// The link model: what a transfer between two simulated devices costs. A link has a
// latency alpha and a per-direction bandwidth beta; a transfer of B bytes takes at least
// alpha + B/beta. Each device has one link with a send side and a receive side; a transfer
// holds the sender's send side and the receiver's receive side for its whole time, so
// transfers that share a side run one after another (they share its bandwidth). In naive
// allreduce every copy goes through device 0's link; in ring allreduce each device sends to
// one neighbour and receives from the other, so the steps' transfers run side by side.
// "none" costs nothing: the devices share the host's memory, as without a link model.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace gpulab {

struct LinkModel {
    std::string name = "none";  // a named link, or "custom:LAT_US,GB_PER_S"
    double latency_us = 0;      // alpha
    double gb_per_s = 0;        // beta, per direction, 1 GB = 1e9 bytes; 0 for "none"

    bool none() const { return gb_per_s <= 0; }
    // alpha + bytes / beta, in microseconds; 0 for "none"
    double transfer_us(int64_t bytes) const;
};

// The named links, in the order the help lists them ("none" first).
const std::vector<std::string>& link_names();
// "pcie4", "custom:2000,0.05", ...; throws std::invalid_argument saying what is wrong
// (an unknown name, or a custom value that is not latency >= 0 and bandwidth > 0).
LinkModel parse_link(const std::string& s);
// What the help and errors offer: "none, pcie3, ... or custom:LAT_US,GB_PER_S (...)".
std::string link_choices_text();

// ---- the whole allreduce, as the alpha-beta model gives it ----
// S = bytes of one device's gradient (as charged), n devices, alpha and beta the link's.
// Ring (NCCL's): 2(n-1) steps, each sending one chunk of S/n per device, side by side:
//   2(n-1)*alpha + 2(n-1)/n * S/beta.
// Naive (the book's): 2(n-1) copies of the whole buffer, every one through device 0's link:
//   2(n-1)*alpha + 2(n-1) * S/beta.
// 0 for "none" or n < 2.
double ring_allreduce_model_us(const LinkModel& m, int n, double bytes);
double naive_allreduce_model_us(const LinkModel& m, int n, double bytes);
// nccl-tests' allreduce figures (doc/PERFORMANCE.md there): algbw = S / t, and the bus
// bandwidth busbw = algbw * 2(n-1)/n, comparable with a link's bandwidth whatever n is.
// In GB/s (1e9 bytes); 0 when t <= 0.
double allreduce_algbw_gb_s(double bytes, double seconds);
double allreduce_busbw_gb_s(double bytes, double seconds, int n);

// The link state of one run: when each device's send and receive sides are next free.
// Thread-safe: the devices' workers reserve their transfers through it.
class LinkClock {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    // bytes_scale: each transfer is charged bytes * bytes_scale ("as if the model were
    // bigger"; 1 = the bytes moved). stop: when it becomes true, a waiting transfer returns
    // at once (a run being stopped never waits out a long modelled transfer); may be null.
    explicit LinkClock(LinkModel m, double bytes_scale = 1.0, const std::atomic<bool>* stop = nullptr)
        : m_model(std::move(m)), m_scale(bytes_scale), m_stop(stop)
    {
    }
    const LinkModel& model() const { return m_model; }
    double bytes_scale() const { return m_scale; }
    // What a transfer of bytes is charged for: bytes * bytes_scale, rounded.
    int64_t charged_bytes(int64_t bytes) const;
    // Books a transfer of bytes (charged as charged_bytes(bytes)) from src to dst: it starts
    // no earlier than now and no earlier than both sides are free, and holds both sides for
    // alpha + charged / beta (rounded up to the nanosecond).
    struct Booking {
        TimePoint start, end;
    };
    Booking book(int src, int dst, int64_t bytes);
    // Sleeps until end (the receiving worker waits, as a copy engine's stream would), or
    // until stop.
    void wait_until(TimePoint end) const;
    // book(), then wait_until() its end.
    void transfer(int src, int dst, int64_t bytes);

private:
    LinkModel m_model;
    double m_scale = 1.0;
    const std::atomic<bool>* m_stop = nullptr;
    std::mutex m_mutex;
    std::map<int, TimePoint> m_send_free, m_recv_free;
};

} // namespace gpulab
