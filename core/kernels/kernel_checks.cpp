// The shared convolution preconditions (kernel_checks.h).
#include "kernels/kernel_checks.h"

#include <stdexcept>
#include <string>

namespace gpulab {

void check_conv_shape(const char* op, const ConvShape& sh)
{
    if (sh.n < 0 || sh.c <= 0 || sh.k <= 0 || sh.r <= 0 || sh.s <= 0 || sh.oh() <= 0 || sh.ow() <= 0)
        throw std::invalid_argument(
            std::string(op) + ": bad shape x(" + std::to_string(sh.n) + "," + std::to_string(sh.c) + ","
            + std::to_string(sh.h) + "," + std::to_string(sh.w) + ") w(" + std::to_string(sh.k) + ","
            + std::to_string(sh.c) + "," + std::to_string(sh.r) + "," + std::to_string(sh.s)
            + "): need positive sizes and a filter no larger than the image");
}

void check_workspace(const char* op, const float* ws)
{
    if (ws == nullptr)
        throw std::invalid_argument(std::string(op)
                                    + ": needs a workspace of conv_workspace_bytes(shape) bytes, got nullptr");
}

} // namespace gpulab
