// The shared convolution preconditions (kernel_checks.h), Kernels' default windowed forward,
// and the CPU backends' gather.
#include "kernels/kernel_checks.h"

#include <cstring>
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

void check_conv_window(const char* op, const ConvShape& sh, int rows, int cols)
{
    if (rows < 1 || rows > sh.oh() || cols < 1 || cols > sh.ow())
        throw std::invalid_argument(std::string(op) + ": window of " + std::to_string(rows) + " rows x "
                                    + std::to_string(cols) + " columns is outside the output (" + std::to_string(sh.oh())
                                    + " x " + std::to_string(sh.ow()) + "): need 1 <= rows <= " + std::to_string(sh.oh())
                                    + " and 1 <= columns <= " + std::to_string(sh.ow()));
}

void Kernels::conv2d_relu_forward_window(const ConvShape& sh, int rows, int cols, const float* x, const float* w,
                                         const float* b, float* y, float* ws) const
{
    check_conv_shape("conv2d_relu_forward_window", sh);
    check_conv_window("conv2d_relu_forward_window", sh, rows, cols);
    conv2d_relu_forward(sh, x, w, b, y, ws);
}

void check_workspace(const char* op, const float* ws)
{
    if (ws == nullptr)
        throw std::invalid_argument(std::string(op)
                                    + ": needs a workspace of conv_workspace_bytes(shape) bytes, got nullptr");
}

void cpu_gather_rows(int n, int64_t row_bytes, const int32_t* index, int64_t src_rows, const void* src,
                     void* dst)
{
    if (n < 0 || row_bytes < 0 || row_bytes % 4 != 0)
        throw std::invalid_argument("gather_rows: bad shape (n " + std::to_string(n) + ", row of "
                                    + std::to_string(row_bytes) + " bytes)");
    for (int i = 0; i < n; ++i) // every index first: nothing is written for a bad one
        if (index[i] < 0 || index[i] >= src_rows)
            throw std::out_of_range("gather_rows: index " + std::to_string(index[i]) + " at row " + std::to_string(i)
                                    + " is outside [0, " + std::to_string(src_rows) + ")");
    for (int i = 0; i < n; ++i)
        std::memcpy(static_cast<char*>(dst) + int64_t(i) * row_bytes,
                    static_cast<const char*>(src) + int64_t(index[i]) * row_bytes, static_cast<size_t>(row_bytes));
}

} // namespace gpulab
