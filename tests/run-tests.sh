#!/bin/bash
# Installs gpulab's Debian packages, builds (Release) and runs the whole test suite.
# Used by the README's test command and by .ci/run. Builds into build/ (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
PACKAGES="build-essential cmake pkg-config qt6-base-dev qt6-svg-dev libqcustomplot-dev
  libopenblas-dev libdnnl-dev libgloo-dev zlib1g-dev dataset-fashion-mnist libgl-dev xvfb xauth imagemagick
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

# ctest must list exactly the suites this tree has, each with one of the labels cpu, ui or
# gpu: a suite that dropped out of the build would otherwise go unnoticed.
EXPECTED_SUITES="cuda_required_rule fuzz_corpus_idx fuzz_corpus_recording tst_cli tst_cuda_allreduce tst_cuda_kernels tst_data tst_engine tst_kernels
  tst_plot_zoom tst_lab_ranks tst_projector tst_ranks tst_record tst_replay tst_run_settings tst_settings tst_sweep tst_sweep_ui tst_trace tst_trainer tst_ui tst_verify"
list_suites() { ctest --test-dir "$BUILD_DIR" -N "$@" | sed -n 's/^ *Test *#[0-9]*: *\([^ ]*\).*/\1/p' | sort; }
expected=$(echo $EXPECTED_SUITES | tr ' ' '\n' | sort)
listed=$(list_suites)
if [ "$listed" != "$expected" ]; then
  echo "run-tests: ctest lists $(echo "$listed" | grep -c .) suites, expected $(echo "$expected" | grep -c .)" >&2
  diff <(echo "$expected") <(echo "$listed") | sed -n 's/^< /  missing: /p; s/^> /  not expected: /p' >&2
  echo "run-tests: register the suite in tests/CMakeLists.txt, or update EXPECTED_SUITES here" >&2
  exit 1
fi
unlabelled=$(list_suites -LE '^(cpu|ui|gpu)$')
if [ -n "$unlabelled" ]; then
  echo "run-tests: suites without a cpu, ui or gpu label:" $unlabelled >&2
  exit 1
fi
echo "run-tests: ctest lists the $(echo "$expected" | grep -c .) expected suites"
ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error
