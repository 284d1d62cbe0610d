// Synthetic data: ten 28x28 prototypes (a band of rows per class); an example is its class's prototype plus
// uniform noise, clamped to [0,1].
#include "data/synthetic.h"

#include <algorithm>
#include <random>

namespace gpulab {

namespace {
Dataset make_split(const std::vector<std::vector<float>>& protos, int64_t count, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    Dataset d;
    d.count = count;
    d.images.resize(static_cast<size_t>(count * kImagePixels));
    d.labels.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        const int label = static_cast<int>(rng() % kNumClasses);
        d.labels[static_cast<size_t>(i)] = label;
        for (int p = 0; p < kImagePixels; ++p) {
            const float noise = static_cast<float>(rng() % 1000) / 1000.0f - 0.5f;
            const float v = protos[static_cast<size_t>(label)][static_cast<size_t>(p)] + 0.4f * noise;
            d.images[static_cast<size_t>(i * kImagePixels + p)] = std::clamp(v, 0.0f, 1.0f);
        }
    }
    return d;
}
} // namespace

FashionMnist make_synthetic_dataset(int64_t train_count, int64_t test_count, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::vector<std::vector<float>> protos(kNumClasses, std::vector<float>(kImagePixels));
    // Class c lights its own band of rows and a few random pixels: easy to tell apart
    // even for the book's tiny initial weights.
    for (int c = 0; c < kNumClasses; ++c)
        for (int p = 0; p < kImagePixels; ++p) {
            const int row = p / kImageSide;
            const bool band = row >= 2 * c && row < 2 * c + 8;
            protos[static_cast<size_t>(c)][static_cast<size_t>(p)] =
                band ? 0.95f : (rng() % 8 == 0 ? 0.6f : 0.05f);
        }
    FashionMnist f;
    f.train = make_split(protos, train_count, seed + 1);
    f.test = make_split(protos, test_count, seed + 2);
    return f;
}

} // namespace gpulab
