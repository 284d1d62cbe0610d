// Seeded shuffling into minibatches, and the book's split_and_load split of one
// minibatch into one shard per device.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace gpulab {

// Splits `batch` examples into `parts` contiguous shards, as evenly as possible (the
// first batch % parts shards get one more). Returns {offset, count} per shard.
std::vector<std::pair<int64_t, int64_t>> split_even(int64_t batch, int parts);

class Batcher {
public:
    // count examples, minibatches of batch_size; the last minibatch keeps the
    // remainder (as the book's DataLoader). Throws std::invalid_argument when
    // batch_size < 1 or count < 1.
    Batcher(int64_t count, int64_t batch_size, uint64_t seed, bool shuffle = true);

    // Reorders for this epoch: the order depends only on (seed, epoch).
    void start_epoch(int epoch);
    int64_t num_batches() const;
    // Indices of minibatch i of the current epoch.
    std::vector<int64_t> batch(int64_t i) const;

private:
    int64_t m_count, m_batch;
    uint64_t m_seed;
    bool m_shuffle;
    std::vector<int64_t> m_order;
};

} // namespace gpulab
