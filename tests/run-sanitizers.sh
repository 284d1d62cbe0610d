#!/bin/bash
# Sanitizer builds for CI: AddressSanitizer + UndefinedBehaviorSanitizer over the core
# suites, ThreadSanitizer over the engine and trainer suites. CPU only (no CUDA, no GUI).
# Suppressions (third-party code only) live in tests/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="$(nproc)"
CORE_TARGETS="tst_engine tst_kernels tst_data tst_trainer tst_trace replay_corpus"
CORE_TESTS="^(tst_engine|tst_kernels|tst_data|tst_trainer|tst_trace|fuzz_corpus_idx)$"

echo "== ASan + UBSan =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPULAB_WITH_CUDA=OFF \
  -DGPULAB_SANITIZE=address,undefined
cmake --build build-asan -j"$JOBS" --target $CORE_TARGETS
GPULAB_SANITIZER_RUN=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -R "$CORE_TESTS"

echo "== TSan =="
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPULAB_WITH_CUDA=OFF \
  -DGPULAB_SANITIZE=thread
cmake --build build-tsan -j"$JOBS" --target tst_engine tst_trainer
GPULAB_SANITIZER_RUN=1 TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$PWD/tests/sanitizers/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -R '^(tst_engine|tst_trainer)$'
