// The event stream: producers (device workers, the front end) append under a short
// mutex and never wait for a consumer; consumers keep a cursor and drain what is new.
#pragma once

#include "trace/event.h"

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

namespace gpulab {

class EventStream {
public:
    EventStream();

    // ---- producing ----
    double now_us() const;                   // time since the stream started
    void record(Event e);                    // t_us is filled in when it is 0
    void record_snapshot(Snapshot s);        // also records a Snapshot event
    // (not "emit": that is a macro in every Qt translation unit)

    // ---- consuming ----
    // Appends every event with index >= cursor to out and advances cursor.
    void drain(size_t& cursor, std::vector<Event>& out) const;
    std::vector<Event> all() const;
    size_t size() const;
    std::shared_ptr<const Snapshot> snapshot(size_t index) const;
    // The snapshot a Snapshot event names; nullptr for any other event.
    std::shared_ptr<const Snapshot> snapshot_of(const Event& e) const;
    size_t snapshot_count() const;
    void clear();

private:
    std::chrono::steady_clock::time_point m_start;
    mutable std::mutex m_mutex;
    std::deque<Event> m_events;
    std::deque<std::shared_ptr<const Snapshot>> m_snapshots;
};

} // namespace gpulab
