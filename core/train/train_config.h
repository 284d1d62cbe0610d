// What a training run is asked to do, how such a request is checked, and what a run
// reports back. Shared by the CLI, the GUI and the tests.
#pragma once

#include "comm/allreduce.h"
#include "comm/link.h"
#include "engine/engine.h"
#include "error/error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpulab {

enum class ExecMode { Sync, Async, Bounded };
enum class Backend { Cpu, Cuda, Auto };
// Where the training images live: copied from the host for every minibatch, or uploaded to
// every device once and gathered there (what a GPU run wants: no copy per minibatch).
// Auto: on the device for CUDA devices when the training set takes at most a quarter of
// the memory budget; on the host for simulated devices (the host is their memory anyway).
enum class DataPlacement { Host, Device, Auto };

const char* exec_mode_name(ExecMode m);
ExecMode parse_exec_mode(const std::string& s); // throws std::invalid_argument
const char* backend_name(Backend b);
Backend parse_backend(const std::string& s);    // throws std::invalid_argument
const char* data_placement_name(DataPlacement p); // "host", "device", "auto"
DataPlacement parse_data_placement(const std::string& s); // also "off"/"on"; throws

// "256MiB", "2GiB", "1000000", "64M" -> bytes; throws std::invalid_argument.
int64_t parse_bytes(const std::string& s);

// "As if the model were bigger": the gradient size the link model charges for, given as a
// parameter count (4 bytes each). Training stays LeNet's; only the link's time grows.
struct ModelSize {
    const char* name;   // "resnet50": what --link-params accepts
    int64_t params;     // 25,557,032
    const char* title;  // "ResNet-50"
};
// lenet (the model's own, 0), resnet50, gpt2-small, in that order.
const std::vector<ModelSize>& model_sizes();
// "lenet" for 0, a named size's name, else the count ("50000000").
std::string link_params_text(int64_t params);
// "lenet", "resnet50", "gpt2-small", or a count: "50000000", "50M", "1.5G" (K, M, G are
// powers of 1000); 0 = the model's own. Throws std::invalid_argument saying what works.
int64_t parse_link_params(const std::string& s);

struct TrainConfig {
    Backend backend = Backend::Cpu;
    int devices = 1;                   // per rank
    // The lab's job of several ranks: each a process of its own on this machine (rank 0 the
    // lab's, the others gpulab-cli train), every one with `devices` devices, joined over
    // loopback with Gloo. 1 = one process. gpulab-cli's ranks are --world and --rank instead.
    int ranks = 1;
    int64_t batch_size = 256;
    double lr = 0.2;
    int epochs = 4;
    ExecMode mode = ExecMode::Sync;
    int inflight = 2;                  // bounded mode: minibatches in flight at most
    AllreduceKind allreduce = AllreduceKind::Naive;
    LinkModel link;                    // between the devices' allreduce transfers; none by default
    int64_t link_params = 0;           // the link charges gradients of this many parameters; 0 = LeNet's
    uint64_t seed = 1;
    int64_t train_subset = 0;          // 0 = all 60,000
    int64_t test_subset = 0;           // 0 = all 10,000
    int64_t memory_budget = int64_t(2) << 30; // per simulated device
    int threads_per_device = 1;
    int snapshot_interval = 0;         // minibatches between snapshots; 0 = never
    std::string snapshot_grad = "b1";  // which gradient to snapshot around allreduce
    bool step_mode = false;            // wait for step() before each allreduce step
    EngineKind engine = engine_kind_from_env();
    DataPlacement data = DataPlacement::Auto;

    std::string describe() const;      // one line: "2 x cpu-sim, batch 256, lr 0.2, ..."
    // What the link charges for each byte moved: link_params / LeNet's flat buffer, so that a
    // whole gradient is charged 4 * link_params bytes; 1 when link_params is 0.
    double link_bytes_scale() const;
    bool link_scaled() const { return link_params > 0 && !link.none(); }
};

// Empty when the configuration can run; otherwise one line saying what is wrong and
// what to do: the English of check_first() (train/settings.h), which front ends that
// phrase errors themselves use instead.
std::string validate(const TrainConfig& c);

struct EpochStats {
    int epoch = 0;           // 1-based
    double train_loss = 0;   // mean over the epoch's examples
    double test_acc = 0;
    double seconds = 0;      // training time of the epoch (not the evaluation)
    int64_t images = 0;
};

enum class RunStatus { Completed, Cancelled, Failed };
const char* run_status_name(RunStatus s);

struct RunResult {
    RunStatus status = RunStatus::Completed;
    std::string message;                 // the error in English, when failed or cancelled
    Error error;                         // the same as a code and its facts
    bool out_of_memory = false;
    bool diverged = false;               // loss became NaN/Inf
    std::vector<EpochStats> epochs;
    std::vector<std::string> device_names;
    std::vector<int64_t> peak_bytes;     // per device
    std::vector<int64_t> bytes_in_use_after; // per device, after teardown: must be 0
    std::vector<std::vector<float>> final_params; // per device, when completed
    bool data_on_device = false;         // the training set was uploaded to each device
};

} // namespace gpulab
