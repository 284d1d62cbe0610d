#!/bin/bash
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS (default 300),
# seeded with tests/fuzz/corpus/<target>. New crashers land in tests/fuzz/crashers/<target>:
# add them to git, fix the bug, and the fuzz_corpus_* tests keep it fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH="${FUZZ_SECONDS:-300}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGPULAB_WITH_QT=OFF -DGPULAB_WITH_CUDA=OFF -DGPULAB_FUZZ=ON
cmake --build build-fuzz -j"$(nproc)" --target fuzz_idx
work="$(mktemp -d)"
cp tests/fuzz/corpus/idx/* "$work/"
./build-fuzz/tests/fuzz_idx "$work" -max_total_time="$SECONDS_EACH" -max_len=65536 \
  -rss_limit_mb=2048 -timeout=10 -artifact_prefix=tests/fuzz/crashers/idx/ -print_final_stats=1
# Keep what the run found interesting: merge it back into the committed corpus.
./build-fuzz/tests/fuzz_idx -merge=1 tests/fuzz/corpus/idx "$work" >/dev/null 2>&1
echo "fuzz_idx: ${SECONDS_EACH}s without a crash, leak or timeout; corpus now $(ls tests/fuzz/corpus/idx | wc -l) inputs"
