// Tensor: a view of device storage plus the engine variable that orders its uses.
// Copying a Tensor copies handles, never data.
#pragma once

#include "device/device.h"
#include "engine/engine.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace gpulab {

struct Tensor {
    std::shared_ptr<Buffer> buf;
    int64_t offset = 0;          // in elements (4 bytes each)
    std::vector<int64_t> shape;
    Var var;

    bool defined() const { return buf != nullptr; }
    int64_t numel() const
    {
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        return n;
    }
    int64_t bytes() const { return numel() * 4; }
    Device& device() const { return buf->device(); }
    float* f() const { return static_cast<float*>(buf->data()) + offset; }
    int32_t* i32() const { return static_cast<int32_t*>(buf->data()) + offset; }

    // A view of part of this tensor's storage with its own variable.
    Tensor view(int64_t elem_offset, std::vector<int64_t> view_shape, Var view_var) const
    {
        return Tensor{buf, offset + elem_offset, std::move(view_shape), std::move(view_var)};
    }
};

// Allocates on the device (accounted, may throw OutOfMemory) with a fresh variable.
inline Tensor make_tensor(Engine& engine, Device& device, std::vector<int64_t> shape)
{
    Tensor t;
    t.shape = std::move(shape);
    t.buf = device.allocate(t.numel() * 4);
    t.var = engine.new_var();
    return t;
}

} // namespace gpulab
