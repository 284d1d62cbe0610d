// Minibatch order (our own Fisher-Yates, so every standard library gives the same order)
// and the even split of a minibatch into per-device shards.
#include "data/batcher.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace gpulab {

std::vector<std::pair<int64_t, int64_t>> split_even(int64_t batch, int parts)
{
    if (parts < 1)
        throw std::invalid_argument("split_even: parts must be at least 1, got " +
                                    std::to_string(parts));
    if (batch < 0)
        throw std::invalid_argument("split_even: batch must not be negative, got " +
                                    std::to_string(batch));
    std::vector<std::pair<int64_t, int64_t>> shards;
    shards.reserve(size_t(parts));
    const int64_t base = batch / parts;
    const int64_t extra = batch % parts;
    int64_t offset = 0;
    for (int p = 0; p < parts; ++p) {
        const int64_t n = base + (p < extra ? 1 : 0);
        shards.emplace_back(offset, n);
        offset += n;
    }
    return shards;
}

Batcher::Batcher(int64_t count, int64_t batch_size, uint64_t seed, bool shuffle)
    : m_count(count), m_batch(batch_size), m_seed(seed), m_shuffle(shuffle)
{
    if (count < 1)
        throw std::invalid_argument("Batcher: count must be at least 1, got " +
                                    std::to_string(count));
    if (batch_size < 1)
        throw std::invalid_argument("Batcher: batch_size must be at least 1, got " +
                                    std::to_string(batch_size));
    m_order.resize(size_t(m_count));
    start_epoch(0); // batch() before any start_epoch() call gives epoch 0's order
}

void Batcher::start_epoch(int epoch)
{
    std::iota(m_order.begin(), m_order.end(), int64_t(0));
    if (!m_shuffle)
        return;
    // mt19937_64 is specified exactly by the standard; the distributions are not, so the
    // bounded draw below is ours (rejection sampling, no modulo bias).
    std::mt19937_64 rng(m_seed ^ (uint64_t(int64_t(epoch)) * 0x9E3779B97F4A7C15ull));
    auto below = [&rng](uint64_t n) { // uniform in [0, n)
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t r;
        do {
            r = rng();
        } while (r >= limit);
        return r % n;
    };
    for (int64_t i = m_count - 1; i > 0; --i) {
        const int64_t j = int64_t(below(uint64_t(i) + 1));
        std::swap(m_order[size_t(i)], m_order[size_t(j)]);
    }
}

int64_t Batcher::num_batches() const
{
    return (m_count + m_batch - 1) / m_batch;
}

std::vector<int64_t> Batcher::batch(int64_t i) const
{
    if (i < 0 || i >= num_batches())
        throw std::out_of_range("Batcher::batch: index " + std::to_string(i) +
                                " is outside 0.." + std::to_string(num_batches() - 1));
    const int64_t begin = i * m_batch;
    const int64_t end = std::min(m_count, begin + m_batch);
    return {m_order.begin() + std::ptrdiff_t(begin), m_order.begin() + std::ptrdiff_t(end)};
}

} // namespace gpulab
