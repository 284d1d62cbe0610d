// Owns one training run at a time: the Trainer, its event stream and the std::thread its
// blocking run() executes on. Steering calls return at once; the destructor cancels and
// joins, so no thread outlives the window.
//
// A job of several ranks (TrainConfig::ranks > 1): this process is rank 0. Its thread
// serves the rendezvous on 127.0.0.1 (a free port, a random token), joins the job and trains
// its share; ranks 1..N-1 are `gpulab-cli train --world N --rank r ...` processes started
// here. stream() is then the job's stream (core/rank/rank_events.h): every rank's events,
// devices numbered globally. A rank that ends on its own fails the run, naming it; Stop and
// the destructor end every rank (also while they join: the join stops within a tenth of a
// second), and finished() comes once every process and rank 0's thread have ended.
#pragma once

#include "train/train_config.h"

#include <QObject>
#include <QString>
#include <QStringList>

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
    // A job's: every rank's, "rank R: cpu-sim(d)".
    std::vector<std::string> deviceNames() const;

    // ---- a job of several ranks ----
    // The gpulab-cli train options that load the run's data in the other ranks (--data DIR,
    // or --synthetic ...); set before start().
    void setRankDataArgs(const QStringList& args) { m_rankDataArgs = args; }
    // gpulab-cli: GPULAB_CLI, else beside this program, else on the PATH; empty when none.
    static QString cliProgram();
    // Why the last job failed, as the other ranks tell it: "rank 1 ended with exit code 1;
    // its last lines: ..." (empty when no other rank failed).
    QString rankNote() const { return m_rankNote; }
    // The other ranks' process ids while they run (tests).
    QList<qint64> rankPids() const;
    // Where the current (or last) job's rendezvous is served, "127.0.0.1:PORT" (tests).
    QString rankMaster() const { return m_rankMaster; }

signals:
    void stateChanged(gpulab::RunController::State state);
    // The run's thread has ended and been joined; lastResult() holds the outcome.
    void finished();

private:
    struct Job;
    bool startJob(std::shared_ptr<const FashionMnist> data, QString* error);
    void onRankOutput(int index);
    void onRankEnded(int index, int exitCode, bool crashed);
    void endRanks(bool now);        // terminate the other ranks (now: kill them)
    void finishJobIfDone();
    // Before the ranks have joined: the join stops, and the run ends as status, error.
    // False when they have joined already.
    bool stopJoining(RunStatus status, const Error& error);
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

    // a job of several ranks
    std::shared_ptr<Job> m_job;      // shared with the run's thread
    QStringList m_rankDataArgs;
    struct RankProc;
    std::vector<std::unique_ptr<RankProc>> m_ranks; // ranks 1..N-1
    bool m_threadDone = true;        // the run's thread has ended
    bool m_stopping = false;         // Stop (or a failure) asked the other ranks to end
    QString m_rankNote;
    QString m_rankMaster;
};

} // namespace gpulab
