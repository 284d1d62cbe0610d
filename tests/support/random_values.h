// random_vector(): uniform random floats for the tests and the benchmark, from a seeded
// generator, so that a failing case can be run again with the same values.
#pragma once

#include <cstddef>
#include <random>
#include <vector>

inline std::vector<float> random_vector(std::mt19937& rng, size_t count, float lo = -1.0f, float hi = 1.0f)
{
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(count);
    for (float& x : v)
        x = dist(rng);
    return v;
}
