#!/bin/bash
# Builds what tests/gpu/run-gpu-checks.sh runs on the GPU machine, which has the NVIDIA
# driver, CUDA 13 libraries (toolkit and PyTorch's nvidia-* wheels) but no Qt, no OpenBLAS
# and no Fashion-MNIST package. Run here, on the development machine:
#
#   tests/gpu/prepare-gpu-bundle.sh            # -> build-gpu/bundle (about 35 MiB)
#
# build-gpu/bundle/ holds bin/ (gpulab-cli and the plain test programs, stripped; gpulab_core
# linked statically; cudart, cuBLAS, cuDNN and NCCL shared, found on the GPU machine), lib/
# (the non-CUDA libraries they need: a cut-down libopenblas.so.0 with just what gpulab calls,
# libgomp, libz) and data/ (a copy of /usr/share/datasets/fashion-mnist/*.gz, when installed).
# build-gpu/ is ignored by git; copy build-gpu/bundle to the GPU machine with the tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-gpu}
BUNDLE=$BUILD/bundle
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
[ -x "$NVCC" ] || { echo "prepare-gpu-bundle: no nvcc at $NVCC (set NVCC=...)" >&2; exit 2; }

# Qt off (the GPU machine has none), one architecture (the H100/H200: sm_90), no oneDNN
# (its library alone would not fit a 64 MiB bundle). GPULAB_REQUIRE_CUDA:
# a bundle without the CUDA backend (no nvcc, cuBLAS or cuDNN found) stops here, instead of
# building a CPU-only bundle whose GPU checks could only skip.
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGPULAB_WITH_QT=OFF -DGPULAB_WITH_DNNL=OFF \
  -DGPULAB_REQUIRE_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" >/dev/null
cmake --build "$BUILD" -j"${JOBS:-2}" --target gpulab-cli gpulab-bench tst_verify tst_cuda_kernels tst_cuda_allreduce

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/bin" "$BUNDLE/lib" "$BUNDLE/data"
for exe in app/gpulab-cli tests/bench/gpulab-bench tests/tst_verify tests/tst_cuda_kernels tests/tst_cuda_allreduce; do
  cp "$BUILD/$exe" "$BUNDLE/bin/"
  strip --strip-unneeded "$BUNDLE/bin/$(basename "$exe")"
done

# The BLAS symbols the programs import, linked out of OpenBLAS's static archive into a small
# libopenblas.so.0 (the whole shared library is 36 MiB).
ARCHIVE=""
for a in /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a /usr/lib/x86_64-linux-gnu/libopenblas.a; do
  [ -f "$a" ] && { ARCHIVE=$a; break; }
done
SYMS=$(for f in "$BUNDLE"/bin/*; do nm -D --undefined-only "$f"; done | awk '{print $2}' |
  grep -E '^(cblas_|openblas_|goto_)' | sort -u)
if [ -n "$ARCHIVE" ] && [ -n "$SYMS" ]; then
  UNDEF=""
  for s in $SYMS; do UNDEF="$UNDEF -Wl,-u,$s"; done
  # shellcheck disable=SC2086
  gcc -shared -o "$BUNDLE/lib/libopenblas.so.0" -Wl,-soname,libopenblas.so.0 $UNDEF "$ARCHIVE" \
    -lgfortran -lpthread -lm
  strip --strip-unneeded "$BUNDLE/lib/libopenblas.so.0"
else
  cp -L /lib/x86_64-linux-gnu/libopenblas.so.0 "$BUNDLE/lib/" # no static archive: the whole one
fi
# Whatever else is not part of every Linux system (libstdc++/libc/libm/libgcc_s are).
NEEDED=$(LD_LIBRARY_PATH="$PWD/$BUNDLE/lib" ldd "$BUNDLE"/bin/* "$BUNDLE/lib/libopenblas.so.0" 2>/dev/null || true)
for lib in libgomp.so.1 libz.so.1 libgfortran.so.5 libquadmath.so.0; do
  case "$NEEDED" in *"$lib"*) cp -L "/lib/x86_64-linux-gnu/$lib" "$BUNDLE/lib/" ;; esac
done

if ls /usr/share/datasets/fashion-mnist/*.gz >/dev/null 2>&1; then
  cp /usr/share/datasets/fashion-mnist/*.gz "$BUNDLE/data/"
else
  echo "prepare-gpu-bundle: no /usr/share/datasets/fashion-mnist: the GPU run will use --synthetic data" >&2
fi

# Check: the programs start with only the bundle's lib/ and the CUDA libraries.
LD_LIBRARY_PATH="$PWD/$BUNDLE/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib" "$BUNDLE/bin/gpulab-cli" devices
du -sh "$BUNDLE" "$BUNDLE"/*
