// EventStream: append-only, mutex for the few instructions of an append or a drain.
#include "trace/event_stream.h"

namespace gpulab {

const char* event_kind_name(EventKind k)
{
    switch (k) {
    case EventKind::RunBegin: return "run_begin";
    case EventKind::RunEnd: return "run_end";
    case EventKind::Push: return "push";
    case EventKind::Op: return "op";
    case EventKind::MemAlloc: return "mem_alloc";
    case EventKind::MemFree: return "mem_free";
    case EventKind::MemOom: return "mem_oom";
    case EventKind::AllreduceStep: return "allreduce_step";
    case EventKind::MinibatchLoss: return "minibatch_loss";
    case EventKind::EpochEnd: return "epoch_end";
    case EventKind::Error: return "error";
    case EventKind::Snapshot: return "snapshot";
    case EventKind::Log: return "log";
    }
    return "unknown";
}

const char* allreduce_stage_name(AllreduceStage s)
{
    return s == AllreduceStage::AcrossRanks ? "across-ranks" : "within-rank";
}

EventStream::EventStream() : m_start(std::chrono::steady_clock::now()) {}

double EventStream::now_us() const
{
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - m_start)
        .count();
}

void EventStream::record(Event e)
{
    if (e.t_us == 0)
        e.t_us = now_us();
    std::lock_guard lock(m_mutex);
    m_events.push_back(std::move(e));
}

void EventStream::record_snapshot(Snapshot s)
{
    Event e{.t_us = now_us(),
            .device = s.device,
            .data = ev::Snapshot{.what = s.what, .epoch = s.epoch, .batch = s.batch, .tensor = s.tensor}};
    auto p = std::make_shared<const Snapshot>(std::move(s));
    std::lock_guard lock(m_mutex);
    std::get<ev::Snapshot>(e.data).index = static_cast<int>(m_snapshots.size());
    m_snapshots.push_back(std::move(p));
    m_events.push_back(std::move(e));
}

void EventStream::drain(size_t& cursor, std::vector<Event>& out) const
{
    std::lock_guard lock(m_mutex);
    for (size_t i = cursor; i < m_events.size(); ++i)
        out.push_back(m_events[i]);
    cursor = m_events.size();
}

std::vector<Event> EventStream::all() const
{
    std::lock_guard lock(m_mutex);
    return {m_events.begin(), m_events.end()};
}

size_t EventStream::size() const
{
    std::lock_guard lock(m_mutex);
    return m_events.size();
}

std::shared_ptr<const Snapshot> EventStream::snapshot(size_t index) const
{
    std::lock_guard lock(m_mutex);
    return index < m_snapshots.size() ? m_snapshots[index] : nullptr;
}

std::shared_ptr<const Snapshot> EventStream::snapshot_of(const Event& e) const
{
    const auto* s = e.get<ev::Snapshot>();
    return s && s->index >= 0 ? snapshot(static_cast<size_t>(s->index)) : nullptr;
}

size_t EventStream::snapshot_count() const
{
    std::lock_guard lock(m_mutex);
    return m_snapshots.size();
}

void EventStream::clear()
{
    std::lock_guard lock(m_mutex);
    m_events.clear();
    m_snapshots.clear();
}

} // namespace gpulab
