// Preconditions every backend's convolution checks the same way, with the same message.
#pragma once

#include "kernels/kernels.h"

namespace gpulab {

// Throws std::invalid_argument naming op and the shape unless every size is positive and
// the filter fits the image.
void check_conv_shape(const char* op, const ConvShape& sh);
// Throws std::invalid_argument naming op unless 1 <= rows <= sh.oh() and 1 <= cols <= sh.ow().
void check_conv_window(const char* op, const ConvShape& sh, int rows, int cols);
// Throws std::invalid_argument when a convolution is given no workspace.
void check_workspace(const char* op, const float* ws);

// gather_rows for the CPU backends (host memory): checks every index, then copies the rows.
void cpu_gather_rows(int n, int64_t row_bytes, const int32_t* index, int64_t src_rows, const void* src,
                     void* dst);

} // namespace gpulab
