// The scaling sweep: the book's conclusion measured on this machine. Every combination of
// device count and batch size trains for a fixed number of minibatches (sync mode, as the
// book's train); each reports images/s, the time per minibatch, and how the devices spent
// that time: computing, in the allreduce, or waiting.
#pragma once

#include "train/train_config.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gpulab {

struct Event;
struct FashionMnist;
class Trainer;

// ---- what to run ----

enum class LrScale { Linear, None };
const char* lr_scale_name(LrScale s);   // "linear", "none"
LrScale parse_lr_scale(const std::string& s); // throws std::invalid_argument

struct SweepConfig {
    TrainConfig base;                   // backend, allreduce, seed, threads, budget...; lr at
                                        // kLrBaseBatch when lr_scale is Linear
    std::vector<int> devices{1, 2, 4};
    std::vector<int64_t> batch_sizes{256, 512, 1024};
    int minibatches = 30;               // timed per combination (after the warm-up)
    int warmup = 2;                     // minibatches run first and not timed (pools fill)
    LrScale lr_scale = LrScale::Linear;

    static constexpr int64_t kLrBaseBatch = 256;
    // Linear: lr grows with the batch (base.lr * batch / 256); None: base.lr for every batch.
    double lr_for(int64_t batch_size) const;
    // The run of one combination: sync mode, one epoch over exactly the minibatches needed.
    TrainConfig combination(int devices, int64_t batch_size) const;
};

// Empty when every combination can run; else one line: which value is wrong and what to do.
// train_images: the size of the training set the sweep will use.
std::string validate(const SweepConfig& c, int64_t train_images);

// "1,2,4" -> {1,2,4}; throws std::invalid_argument naming the option on a bad list.
std::vector<int64_t> parse_number_list(const std::string& option, const std::string& s);

// ---- what one combination measured ----

struct SweepPoint {
    int devices = 0;
    int64_t batch_size = 0;
    double lr = 0;
    RunStatus status = RunStatus::Completed;
    std::string message;                // why it failed
    int minibatches = 0;                // timed
    double images_per_s = 0;
    double minibatch_ms = 0;
    // Shares of the devices' time over the timed minibatches (mean over the devices; they
    // add up to 1): running compute ops (data, forward, backward, loss, SGD), running
    // allreduce steps, and idle (waiting for the front end or for other devices).
    double compute_share = 0;
    double allreduce_share = 0;
    double waiting_share = 0;
    // The link model the combination ran with (TrainConfig::link's name, "none" without one)
    // and the parameter count it charged for (0: the model's own): a modelled time when set.
    std::string link = "none";
    int64_t link_params = 0;
};

// The measurement from a sync run's events: the timed window runs from the end of minibatch
// warmup-1 (or the first op, when warmup is 0) to the end of the last minibatch. Sets
// status Failed with a message when the events hold too few minibatches.
SweepPoint measure_sweep_point(const std::vector<Event>& events, int devices, int64_t batch_size,
                               double lr, int warmup);

// Op names the allreduce strategies give their steps (reduce, broadcast, ring, nccl...).
bool is_allreduce_op(const std::string& name);

// ---- running it ----

class Sweep {
public:
    Sweep(SweepConfig config, std::shared_ptr<const FashionMnist> data);
    ~Sweep();

    // Runs every combination, device counts outer, batch sizes inner; on_point after each.
    // A failed combination (out of memory...) is reported and the sweep goes on; a cancel
    // stops it (the points measured so far are returned).
    std::vector<SweepPoint> run(const std::function<void(const SweepPoint&)>& on_point = {});
    void cancel(); // any thread
    bool cancelled() const { return m_cancel; }
    const SweepConfig& config() const { return m_cfg; }

private:
    SweepConfig m_cfg;
    std::shared_ptr<const FashionMnist> m_data;
    std::atomic<bool> m_cancel{false};
    std::mutex m_mutex;
    Trainer* m_current = nullptr; // under m_mutex
};

// ---- exports ----

// devices,batch_size,lr,images_per_s,minibatch_ms,compute_share,allreduce_share,waiting_share,
// link,link_params (completed points only; link quoted when it holds a comma).
std::string sweep_csv(const std::vector<SweepPoint>& points);
bool write_sweep_csv(const std::vector<SweepPoint>& points, const std::string& path, std::string* err);
// The table the CLI prints.
std::string format_sweep_table(const std::vector<SweepPoint>& points);

} // namespace gpulab
