// A small learnable stand-in for Fashion-MNIST (each class a noisy prototype), for tests
// and demos that must not depend on the real files.
#pragma once

#include "data/fashion_mnist.h"

namespace gpulab {

FashionMnist make_synthetic_dataset(int64_t train_count, int64_t test_count, uint64_t seed);

} // namespace gpulab
