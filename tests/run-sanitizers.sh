#!/bin/bash
# Sanitizer builds for CI: AddressSanitizer + UndefinedBehaviorSanitizer over the core
# suites and tst_verify, ThreadSanitizer over the suites with threads of their own: the
# engine, the trainer, the trace (concurrent producers), tst_verify (threaded allreduce,
# training runs) and tst_ranks (the rendezvous store's threads, the ranks' event streams, and
# jobs of gpulab-cli processes built with TSan too: a race in a rank makes it exit 66, which
# fails its test). CPU only (no CUDA, no GUI). GPULAB_SANITIZER_RUN=1 tells the suites to run
# their long cases on smaller inputs.
# Suppressions (third-party code only) live in tests/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="$(nproc)"
CORE_TARGETS="tst_engine tst_kernels tst_data tst_trainer tst_trace tst_verify replay_corpus"
CORE_TESTS="^(tst_engine|tst_kernels|tst_data|tst_trainer|tst_trace|tst_verify|fuzz_corpus_idx)$"
TSAN_TARGETS="tst_engine tst_trainer tst_trace tst_verify tst_ranks gpulab-cli"
TSAN_TESTS="^(tst_engine|tst_trainer|tst_trace|tst_verify)$"

echo "== ASan + UBSan =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPULAB_WITH_CUDA=OFF \
  -DGPULAB_SANITIZE=address,undefined
cmake --build build-asan -j"$JOBS" --target $CORE_TARGETS
GPULAB_SANITIZER_RUN=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --no-tests=error -R "$CORE_TESTS"

echo "== TSan =="
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPULAB_WITH_CUDA=OFF \
  -DGPULAB_SANITIZE=thread
cmake --build build-tsan -j"$JOBS" --target $TSAN_TARGETS
TSAN_BASE="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$PWD/tests/sanitizers/tsan.supp"
GPULAB_SANITIZER_RUN=1 TSAN_OPTIONS="$TSAN_BASE" \
  ctest --test-dir build-tsan --output-on-failure --no-tests=error -R "$TSAN_TESTS"
# tst_ranks starts gpulab-cli processes (QProcess forks) while its own threads run: TSan
# would end a process that forks with threads (die_after_fork); the child only execs.
GPULAB_SANITIZER_RUN=1 TSAN_OPTIONS="$TSAN_BASE:die_after_fork=0" \
  ctest --test-dir build-tsan --output-on-failure --no-tests=error -R "^tst_ranks$"
