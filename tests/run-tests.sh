#!/bin/bash
# Installs gpulab's Debian packages, builds (Release) and runs the whole test suite.
# Used by the README's test command and by .ci/run. Builds into build/ (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
PACKAGES="build-essential cmake pkg-config qt6-base-dev qt6-svg-dev libqcustomplot-dev
  libopenblas-dev libdnnl-dev zlib1g-dev dataset-fashion-mnist libgl-dev xvfb xauth imagemagick
  qt6-l10n-tools"
if [ "${GPULAB_SKIP_APT:-0}" != "1" ]; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y $PACKAGES
fi
BUILD_DIR="${BUILD_DIR:-build}"
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Release)
if [ -x /usr/local/cuda/bin/nvcc ]; then
  # One architecture keeps CI's build inside its time; a real install uses the default.
  CMAKE_ARGS+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90})
fi
cmake -S . -B "$BUILD_DIR" "${CMAKE_ARGS[@]}"
cmake --build "$BUILD_DIR" -j"$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure
