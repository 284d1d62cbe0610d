// Owns one training run at a time: the Trainer, its event stream and the std::thread its
// blocking run() executes on. Steering calls return at once; the destructor cancels and
// joins, so no thread outlives the window.
#pragma once

#include "train/train_config.h"

#include <QObject>

#include <functional>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gpulab {

class EventStream;
class Trainer;
struct Event;
struct FashionMnist;

class RunController : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Running, Paused, Stopping };
    Q_ENUM(State)

    // Niceness of the run's threads (Linux: inherited by the engine's workers).
    static constexpr int kRunNice = 5;

    explicit RunController(QObject* parent = nullptr);
    ~RunController() override;

    // ---- a run ----
    // Starts config on data. False (with a one-line error) when a run is still going or
    // the configuration does not validate.
    bool start(const TrainConfig& config, std::shared_ptr<const FashionMnist> data,
               QString* error);
    void pause();
    void resume();
    void step();                 // paused: one minibatch; step mode: one allreduce step
    void stop();                 // cancel; finished() follows once the thread has ended
    void setStepMode(bool on);

    State state() const { return m_state; }
    bool busy() const { return m_state != State::Idle; }
    bool stepMode() const { return m_stepMode; }

    // Fault drills and tests: called with each new Trainer before its run starts (e.g. to
    // set Trainer::inject_in_loss_op).
    void setTrainerHook(std::function<void(Trainer&)> hook) { m_trainerHook = std::move(hook); }

    // ---- its events ----
    // The current (or last) run's stream; null before the first run.
    std::shared_ptr<EventStream> stream() const { return m_stream; }
    // Everything recorded since the last drain (UI thread only).
    void drain(std::vector<Event>& out);
    const RunResult& lastResult() const { return m_result; }
    const TrainConfig& config() const { return m_config; }
    // The current run's devices' names, once its devices are made (empty before); any thread.
    std::vector<std::string> deviceNames() const;

signals:
    void stateChanged(gpulab::RunController::State state);
    // The run's thread has ended and been joined; lastResult() holds the outcome.
    void finished();

private:
    void onThreadDone();
    void setState(State s);
    void joinThread();

    TrainConfig m_config;
    std::shared_ptr<EventStream> m_stream;
    std::unique_ptr<Trainer> m_trainer;
    std::thread m_thread;
    size_t m_cursor = 0;
    State m_state = State::Idle;
    bool m_stepMode = false;
    std::function<void(Trainer&)> m_trainerHook;

    mutable std::mutex m_namesMutex;
    std::vector<std::string> m_deviceNames;
    std::mutex m_resultMutex;    // the run's thread hands its result over under it
    RunResult m_pending;
    RunResult m_result;
};

} // namespace gpulab
