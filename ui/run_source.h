// What feeds the lab's views: a run source. The window drains it on its timer and hands
// the events to every view with the run's RunInfo; the views never learn which kind of
// source it is: a live run in this process (LiveSource) or a recording being replayed
// (ReplaySource, replay_source.h).
#pragma once

#include "trace/event.h"
#include "train/train_config.h"

#include <memory>
#include <string>
#include <vector>

namespace gpulab {

class EventStream;
class RunController;

class RunSource {
public:
    virtual ~RunSource() = default;

    // Appends every event that is new since the last drain, in order (UI thread).
    virtual void drain(std::vector<Event>& out) = 0;
    // Every event this source has fed so far (exports: trace.json, events.csv).
    virtual std::vector<Event> events() const = 0;
    // Where the views look up the snapshots that Snapshot events name.
    virtual std::shared_ptr<const EventStream> stream() const = 0;
    // The run's outcome, once it has ended.
    virtual RunResult result() const = 0;
    // The run's devices' names (empty while they are still being made).
    virtual std::vector<std::string> deviceNames() const = 0;
};

// The run that RunController computes in this process.
class LiveSource : public RunSource {
public:
    explicit LiveSource(RunController* controller) : m_controller(controller) {}
    void drain(std::vector<Event>& out) override;
    std::vector<Event> events() const override;
    std::shared_ptr<const EventStream> stream() const override;
    RunResult result() const override;
    std::vector<std::string> deviceNames() const override;

private:
    RunController* m_controller;
};

} // namespace gpulab
