// Preconditions every backend's convolution checks the same way, with the same message.
#pragma once

#include "kernels/kernels.h"

namespace gpulab {

// Throws std::invalid_argument naming op and the shape unless every size is positive and
// the filter fits the image.
void check_conv_shape(const char* op, const ConvShape& sh);
// Throws std::invalid_argument when a convolution is given no workspace.
void check_workspace(const char* op, const float* ws);

} // namespace gpulab
