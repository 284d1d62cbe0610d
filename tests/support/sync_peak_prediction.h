// predict_sync_peak: a device's peak memory in a sync-mode run, from the shapes alone. The
// benchmark (gpulab-bench memory) prints it beside the measured peak on Fashion-MNIST, and
// tst_trainer checks that the two are equal, exactly, on synthetic data.
#pragma once

#include "comm/allreduce.h"
#include "kernels/kernels.h"
#include "model/lenet.h"

#include <algorithm>
#include <cstdint>

namespace gpulab {

// Sync mode: the front end pushes a whole minibatch, then waits. Every tensor of that
// minibatch is taken when pushed, so a device's peak is what it holds between minibatches
// (parameters, gradients, the one conv workspace the device keeps) plus everything one
// minibatch's push takes on it: its shard's activations, gradients of activations, and the
// allreduce's receive buffers. The prediction below adds those up from the shapes (lenet.cpp's pushes).

struct Prediction {
    int64_t params_grads = 0, activations = 0, workspaces = 0, receive = 0;
    int64_t total() const { return params_grads + activations + workspaces + receive; }
};

inline Prediction predict_sync_peak(const Kernels& k, int64_t n, int devices, int device, AllreduceKind ar)
{
    Prediction p;
    const int64_t P = lenet_flat_count(); // the flat buffers, gaps included
    p.params_grads = 2 * P * 4;
    // x, labels, a1, p1, a2, p2, h3, logits, loss, dlogits, dh3, dp2, da2, dp1, da1
    const int64_t floats = n * 784 + n + n * 13520 + n * 3380 + n * 4050 + n * 800 + n * 128 + n * 10 + 1
                           + n * 10 + n * 128 + n * 800 + n * 4050 + n * 3380 + n * 13520;
    p.activations = floats * 4;
    auto ws = [&](const ConvShape& sh) { return std::max<int64_t>(1, (k.conv_workspace_bytes(sh) + 3) / 4) * 4; };
    const ConvShape c1{int(n), 1, 28, 28, 20, 3, 3}, c2{int(n), 20, 13, 13, 50, 5, 5};
    p.workspaces = std::max(ws(c1), ws(c2)); // one per device, for every conv
    if (devices > 1) {
        if (ar == AllreduceKind::Naive)
            p.receive = device == 0 ? (devices - 1) * P * 4 : 0;
        else { // ring: reduce-scatter receives n-1 chunks; chunk c has P/n (+1) floats
            const int64_t base = P / devices, extra = P % devices;
            for (int step = 0; step < devices - 1; ++step) {
                const int from = ((device - 1) % devices + devices) % devices;
                const int c = ((from - step) % devices + devices) % devices;
                p.receive += (base + (c < extra ? 1 : 0)) * 4;
            }
        }
    }
    return p;
}


} // namespace gpulab
