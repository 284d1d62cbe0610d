// The book's LeNet: parameters in one flat allocation per device (views into it), and
// the ops that one device pushes for forward, backward and evaluation of its shard.
#pragma once

#include "engine/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gpulab {

class Kernels;

// ---- parameters ---------------------------------------------------------------------
struct ParamSpec {
    std::string name;            // "W1", "b1", ...
    std::vector<int64_t> shape;
    int64_t offset = 0;          // in the flat buffer, elements; a multiple of kParamAlign
    int64_t count = 0;
};

// Every parameter (and its gradient) starts on a multiple of 16 floats (64 bytes) in the
// flat buffer: cuBLAS's and our CPU kernels' vector paths want aligned rows. The gaps
// between parameters are zero in both buffers and stay zero (their gradients are zero).
constexpr int64_t kParamAlign = 16;

// W1 (20,1,3,3) b1 (20) W2 (50,20,5,5) b2 (50) W3 (800,128) b3 (128) W4 (128,10) b4 (10)
const std::vector<ParamSpec>& lenet_params();
int64_t lenet_param_count();                        // 129,068 parameters
int64_t lenet_flat_count();                         // 129,120 floats: the flat buffer, gaps included
const ParamSpec& lenet_param(const std::string& name); // throws std::invalid_argument

// The flat buffer (lenet_flat_count floats): weights normal(0, 0.01), biases and gaps
// zero, from seed. Same values on every platform.
std::vector<float> lenet_init(uint64_t seed);

// ---- one device's copy --------------------------------------------------------------
struct DeviceModel {
    Device* device = nullptr;
    const Kernels* kernels = nullptr;
    Tensor params;                 // (F) flat, F = lenet_flat_count(); its var orders SGD against forward
    Tensor grads;                  // (F) flat; written by backward; its gaps are zero
    std::vector<Tensor> grad_chunks; // views of grads with their own vars (allreduce)
    // Scratch for every convolution on this device: one buffer, made when the first
    // minibatch is pushed and grown only when a larger one needs more (every conv op writes
    // its var, so the engine orders them; a grown-out buffer lives on until the ops that
    // captured it have run).
    Tensor workspace;

    // Every var of grads (all chunks): what backward writes and SGD reads.
    std::vector<Var> grad_vars() const;
};

// Allocates params and grads on the device; grads split into `chunks` views. The grads
// are zeroed here (an upload, before any op), so that their gaps hold zeros for good.
DeviceModel make_device_model(Engine& engine, Device& device, int chunks);

// ---- pushing ops --------------------------------------------------------------------
// x (n,1,28,28) and labels (n) already on the device. Pushes forward, loss and backward;
// gradients of the summed loss land in m.grads. Returns the loss sum (1).
Tensor push_forward_backward(Engine& engine, DeviceModel& m, const Tensor& x,
                             const Tensor& labels, int n);

// Pushes zeroed gradients (a device whose shard of this minibatch is empty).
void push_zero_grads(Engine& engine, DeviceModel& m);

// Pushes a forward pass and counts correct predictions. Returns the count (1).
Tensor push_evaluate(Engine& engine, DeviceModel& m, const Tensor& x, const Tensor& labels,
                     int n);

// Pushes w -= lr / batch_size * grad.
void push_sgd(Engine& engine, DeviceModel& m, float lr, int64_t batch_size);

} // namespace gpulab
