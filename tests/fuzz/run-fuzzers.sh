#!/bin/bash
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS (default 300),
# seeded with tests/fuzz/corpus/<target>. New crashers land in tests/fuzz/crashers/<target>:
# add them to git, fix the bug, and the fuzz_corpus_* tests keep it fixed.
# FUZZ_TARGETS picks targets (default: "idx recording").
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH="${FUZZ_SECONDS:-300}"
TARGETS="${FUZZ_TARGETS:-idx recording}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGPULAB_WITH_QT=OFF -DGPULAB_WITH_CUDA=OFF -DGPULAB_FUZZ=ON
for t in $TARGETS; do
  cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$t"
  work="$(mktemp -d)"
  cp tests/fuzz/corpus/"$t"/* "$work/" 2>/dev/null || true
  if [ "$t" = recording ]; then
    # valid recordings of the current format join the seeds (the format may have changed)
    cmake --build build-fuzz -j"$(nproc)" --target recording_seeds
    ./build-fuzz/tests/recording_seeds "$work"
  fi
  mkdir -p tests/fuzz/crashers/"$t"
  ./build-fuzz/tests/fuzz_"$t" "$work" -max_total_time="$SECONDS_EACH" -max_len=65536 \
    -rss_limit_mb=2048 -timeout=10 -artifact_prefix=tests/fuzz/crashers/"$t"/ -print_final_stats=1
  # Keep what the run found interesting: merge it back into the committed corpus.
  ./build-fuzz/tests/fuzz_"$t" -merge=1 tests/fuzz/corpus/"$t" "$work" >/dev/null 2>&1
  echo "fuzz_$t: ${SECONDS_EACH}s without a crash, leak or timeout; corpus now $(ls tests/fuzz/corpus/"$t" | wc -l) inputs"
done
