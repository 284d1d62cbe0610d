#!/bin/bash
# gpulab vs PyTorch on the book's LeNet (one core and every core, with the kernel paths,
# the CPU class and the FLOP floor), plus scaling, allreduce and memory. Builds gpulab
# (Release) into $BUILD_DIR (default build/), installs Debian's python3-torch when it is
# missing, then runs tests/bench/run_bench.py, which prints everything and asserts nothing.
# Not part of ctest. Arguments go to run_bench.py (--pairs N, --epochs K, --cpu1-pairs N,
# --skip cpu1,cpu,scaling,allreduce,engine,memory,gpu). GPULAB_CPU_ISA=avx2 runs gpulab on
# its AVX2 paths and caps PyTorch alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${BUILD_DIR:-build}"
PY=/usr/bin/python3 # Debian's Python: the one python3-torch installs into
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
if ! $PY -c 'import torch, numpy' 2>/dev/null; then
  echo "installing the peer: Debian's python3-torch (CPU) and python3-numpy"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch python3-numpy >/dev/null
fi
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" --target gpulab-cli gpulab-bench -j"$(nproc)" >/dev/null
exec $PY tests/bench/run_bench.py --build-dir "$BUILD_DIR" --python "$PY" "$@"
