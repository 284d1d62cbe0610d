// Backend verification: every op of the Kernels table, the transfers, each allreduce
// strategy and a few training steps, run on a backend's devices and compared with the CPU
// reference (|a-b| <= tol + eps*|ref|, the worst difference reported). Used by
// `gpulab-cli verify` and by the GPU test suites.
#pragma once

#include "comm/allreduce.h"
#include "data/fashion_mnist.h"
#include "engine/engine.h"
#include "train/train_config.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gpulab {

class Device;

// ---- one check ----------------------------------------------------------------------------
struct VerifyCheck {
    std::string backend;  // "cpu" | "cuda"
    std::string group;    // "kernels" | "transfers" | "memory" | "allreduce" | "training"
    std::string name;     // "conv2d_forward x(3,20,13,13) w(50,20,5,5)"
    bool ok = false;
    double worst = 0;     // worst |a-b| over the values compared
    double tol = 0, eps = 0;
    int64_t values = 0;   // how many values were compared
    std::string note;     // why it failed, or what else was seen
};

// |got[i] - ref[i]| <= tol + eps*|ref[i]| for every i (NaN fails; sizes must match).
VerifyCheck compare_values(const std::vector<float>& got, const std::vector<float>& ref, double tol,
                           double eps);

// ---- building blocks (the GPU tests call these) ---------------------------------------------
// Every op of kernels_for(device) against cpu_reference_kernels() on the same random inputs,
// including the edge cases the reference defines (odd pooling sizes, empty batches,
// in-place ReLU, dx == nullptr, dlogits == nullptr, a label out of range).
std::vector<VerifyCheck> verify_kernels(Device& device, uint64_t seed = 1);

// upload/download round trips on every device, copy_from between every ordered pair.
std::vector<VerifyCheck> verify_transfers(const std::vector<Device*>& devices, uint64_t seed = 1);

// Memory accounting: a pool's reuse, bytes back to zero, an out-of-memory that is reported
// (OutOfMemory and a MemOom event) and leaves the device usable. Makes its own devices.
std::vector<VerifyCheck> verify_memory(DeviceKind kind);

// One allreduce over these devices (a flat buffer of `count` floats per device, split in
// one chunk per device for ring) on an engine of `engine` kind: every device must hold the
// host sum, all copies identical, with the expected number of AllreduceStep events.
VerifyCheck verify_allreduce(const std::vector<Device*>& devices, AllreduceKind kind, EngineKind engine,
                             int64_t count = 100003, uint64_t seed = 1);

// Runs `cfg` and `reference` on `data` and compares them over their first
// kVerifyCompareEpochs epochs (later, as the loss leaves its plateau, float rounding grows
// into different but equally good runs): the epoch losses within |a-b| <= tol + eps*|ref|,
// and each parameter tensor's change (final minus initial) within ||change - reference's||
// <= change_rel x ||reference's||, so that a fault confined to one layer shows; every
// tensor must move in the reference. tol = eps = 0 asks for identical runs (every parameter
// bit for bit). Every device's copy must agree exactly with device 0's. The reference, run
// to its end, must learn: its last epoch's loss below kVerifyLearnedLoss x ln 10.
constexpr int kVerifyCompareEpochs = 2;
constexpr double kVerifyLearnedLoss = 0.6;
constexpr double kVerifyChangeRel = 1e-2;
VerifyCheck verify_training(const std::string& name, const TrainConfig& cfg, const TrainConfig& reference,
                            const FashionMnist& data, double tol, double eps, double change_rel = kVerifyChangeRel);

// A small learnable data set (768 training images) and a run of the book's loop on it that
// learns (576 SGD steps).
FashionMnist verify_dataset(uint64_t seed = 7);
TrainConfig verify_train_config(Backend backend, int devices, AllreduceKind kind);

// ---- everything -----------------------------------------------------------------------------
struct VerifyOptions {
    bool cpu = true;
    bool cuda = true;
    int cuda_devices = 0; // logical CUDA devices for multi-device checks; 0: max(2, GPUs)
    uint64_t seed = 1;
    std::function<void(const VerifyCheck&)> on_check; // called as each check ends
};

struct VerifyReport {
    std::vector<VerifyCheck> checks;
    // "cuda: no NVIDIA driver found ...": only where there is no driver or no GPU; a GPU
    // that is there but unusable (or GPULAB_REQUIRE_CUDA=1) is a failed check instead.
    std::vector<std::string> skipped;
    int failures() const;
};

VerifyReport run_verify(const VerifyOptions& options);

} // namespace gpulab
