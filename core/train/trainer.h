// Trainer: the book's train(num_gpus, batch_size, lr) on the engine. run() is the front
// end: it pushes ops and returns when the run ends; cancel/pause/step come from any
// other thread.
#pragma once

#include "trace/event.h"
#include "train/train_config.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>
#include <stdexcept>

namespace gpulab {

class Device;
class EventStream;
class RankGroup;
struct FashionMnist;

// The loss became NaN, infinite or absurdly large: the learning rate is too high.
class NonFiniteLoss : public GpulabError {
public:
    using GpulabError::GpulabError;
};

class Trainer {
public:
    Trainer(TrainConfig config, std::shared_ptr<const FashionMnist> data, EventStream& trace);
    ~Trainer();

    // Runs to the end, a cancel or an error. Never throws for run-time failures: they
    // are in the result (and in the event stream). Throws std::invalid_argument when
    // the configuration does not validate.
    RunResult run();

    // ---- steering (any thread) ----
    void cancel();
    void pause();              // stops at the next minibatch boundary
    void resume();
    void step();               // paused: run one more minibatch; step mode: one allreduce step
    void set_step_mode(bool on);
    bool paused() const { return m_paused; }

    // ---- where the front end is (any thread) ----
    // Lets a caller wait for "paused", "waiting for Step" or "finished" instead of sleeping
    // and guessing. `waits` counts the times the front end has blocked so far, so a caller
    // that pressed Step can wait for the *next* block.
    // InFlightLimit: bounded mode, K minibatches in flight, waiting for the oldest to finish.
    enum class Blocked { No, Paused, WaitingForStep, InFlightLimit };
    struct FrontEnd {
        Blocked blocked = Blocked::No;
        int64_t waits = 0;
        bool finished = false; // run() has ended (completed, cancelled or failed)
    };
    FrontEnd front_end() const;
    // Blocks until pred(front_end()) holds (true) or timeout passes (false).
    bool wait_front_end(const std::function<bool(const FrontEnd&)>& pred, std::chrono::milliseconds timeout) const;

    // Test hook: called on the front end after each minibatch is pushed.
    std::function<void(int epoch, int64_t batch)> on_minibatch_pushed;
    // Test hook: runs inside the op that computes device d's loss of a minibatch (fault
    // injection: throw from it).
    std::function<void(int device, int epoch, int64_t batch)> inject_in_loss_op;
    // Test hook: called on the front end once the devices are made, before any op.
    std::function<void(const std::vector<Device*>&)> on_devices_made;

    const TrainConfig& config() const { return m_cfg; }

    // One rank of a job of several (rank_group.h): this trainer's devices take their share
    // of every global minibatch, the ranks' gradients are summed after the devices' own
    // allreduce, and rank 0's initial parameters go to every rank. Set before run(); the
    // group outlives the run.
    void set_ranks(RankGroup* ranks) { m_ranks = ranks; }

private:
    struct Run;
    struct EpochState;
    bool wait_at_boundary();                 // false when cancelled
    bool wait_allreduce_gate();              // false when cancelled
    // The run, in named steps (trainer.cpp): set up, one minibatch, evaluate, snapshots.
    void run_epochs(Run& r, RunResult& res);
    void set_up(Run& r, RunResult& res);
    void push_minibatch(Run& r, RunResult& res, EpochState& ep, int64_t batch);
    double evaluate(Run& r);
    void push_param_snapshots(Run& r, int epoch, int batch);
    void push_grad_snapshots(Run& r, Snapshot::What what, int epoch, int batch);
    void push_finish_readbacks(Run& r);
    void push_rank_allreduce(Run& r, EpochState& ep, const std::vector<Tensor>& losses, int64_t batch, int64_t bs);

    TrainConfig m_cfg;
    std::shared_ptr<const FashionMnist> m_data;
    EventStream& m_trace;

    bool block_until(std::unique_lock<std::mutex>& lock, Blocked why, const std::function<bool()>& go);
    void set_blocked(Blocked why);
    void set_finished();

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    mutable std::condition_variable m_state_cv; // front end blocked or finished; under m_mutex
    FrontEnd m_front;                           // under m_mutex
    std::atomic<bool> m_cancel{false};
    std::atomic<bool> m_paused{false};
    std::atomic<bool> m_step_mode{false};
    int m_step_tokens = 0;
    // Seconds the front end spent waiting for Resume or Step (front-end thread only): an
    // epoch's seconds leave them out, so a paused or stepped run reports its training time.
    double m_waited_s = 0;
    Engine* m_engine = nullptr; // the running engine, for cancel(); under m_mutex
    RankGroup* m_ranks = nullptr;
};

} // namespace gpulab
