// Fashion-MNIST: the four IDX files decoded once into float images in [0,1] and labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gpulab {

constexpr int kImageSide = 28;
constexpr int kImagePixels = kImageSide * kImageSide;
constexpr int kNumClasses = 10;

struct Dataset {
    int64_t count = 0;
    std::vector<float> images;   // (count, 1, 28, 28), pixels / 255
    std::vector<int32_t> labels; // (count), each in 0..9
};

struct FashionMnist {
    Dataset train; // 60,000
    Dataset test;  // 10,000
};

// "/usr/share/datasets/fashion-mnist" (Debian package dataset-fashion-mnist).
std::string default_fashion_mnist_dir();

// Loads train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-... from dir.
// Throws DataError naming the file and the problem; a missing directory or file says how
// to get the data (apt-get install dataset-fashion-mnist, or --data DIR).
// Checks: images are N x 28 x 28, labels are N with the same N, labels in 0..9.
FashionMnist load_fashion_mnist(const std::string& dir);

// The first n examples (n >= count gives a copy of everything).
Dataset take_first(const Dataset& d, int64_t n);

} // namespace gpulab
