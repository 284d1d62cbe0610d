// ScopedEnv: sets an environment variable for a scope and puts back what was there (a
// device's kernel table and the allreduce read their switches, e.g. GPULAB_CUDA_GRAPHS or
// GPULAB_CUDA_FUSED_REDUCE, when a device is made or a transfer is pushed: do that inside
// the scope).
#pragma once

#include <cstdlib>
#include <string>

struct ScopedEnv {
    std::string name;
    bool had = false;
    std::string old;
    ScopedEnv(const char* n, const char* v) : name(n)
    {
        if (const char* o = std::getenv(n)) {
            had = true;
            old = o;
        }
        setenv(n, v, 1);
    }
    ~ScopedEnv()
    {
        if (had)
            setenv(name.c_str(), old.c_str(), 1);
        else
            unsetenv(name.c_str());
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
};
