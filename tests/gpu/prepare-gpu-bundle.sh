#!/bin/bash
# Builds what tests/gpu/run-gpu-checks.sh runs on the GPU machine, which has the NVIDIA
# driver, CUDA 13 libraries (toolkit and PyTorch's nvidia-* wheels) but no Qt, no OpenBLAS
# and no Fashion-MNIST package. Run here, on the development machine:
#
#   tests/gpu/prepare-gpu-bundle.sh            # -> build-gpu/bundle (about 35 MiB)
#
# build-gpu/bundle/ holds bin/ (gpulab-cli and the plain test programs, stripped; gpulab_core
# linked statically; cudart, cuBLAS, cuDNN and NCCL shared, found on the GPU machine), lib/
# (the non-CUDA libraries they need that are not part of every Linux system: libopenblas
# with just what gpulab calls, Gloo and its libraries, libgomp, libz...) and data/ (a copy of
# /usr/share/datasets/fashion-mnist/*.gz, when installed), about 60 MiB in all.
# build-gpu/carry/ holds the same packed to travel light (about 35 MiB): bin/ and lib/ as one
# xz tarball (they shrink tenfold), data/ as it is. run-gpu-checks.sh unpacks it by itself
# where build-gpu/bundle is missing, so carrying build-gpu/carry with the tree is enough.
# build-gpu/ is ignored by git.
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
# Whatever else is not part of every Linux system (libc, libm, libstdc++, libgcc_s... are; the
# CUDA libraries come with the GPU machine's toolkit): libgomp, libz, Gloo and what Gloo needs.
LD_LIBRARY_PATH="$PWD/$BUNDLE/lib" ldd "$BUNDLE"/bin/* "$BUNDLE/lib/libopenblas.so.0" 2>/dev/null |
  awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    case "$name" in
    linux-vdso* | ld-linux* | libc.so* | libm.so* | libstdc++* | libgcc_s* | libpthread* | libdl.so* | librt.so*) ;;
    libcuda* | libcudart* | libcublas* | libcudnn* | libnccl* | libnvrtc* | libnvJitLink*) ;;
    *) [ -e "$BUNDLE/lib/$name" ] || cp -L "$path" "$BUNDLE/lib/$name" ;;
    esac
  done

if ls /usr/share/datasets/fashion-mnist/*.gz >/dev/null 2>&1; then
  cp /usr/share/datasets/fashion-mnist/*.gz "$BUNDLE/data/"
else
  echo "prepare-gpu-bundle: no /usr/share/datasets/fashion-mnist: the GPU run will use --synthetic data" >&2
fi

# Check: the programs start with only the bundle's lib/ and the CUDA libraries.
LD_LIBRARY_PATH="$PWD/$BUNDLE/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib" "$BUNDLE/bin/gpulab-cli" devices
du -sh "$BUNDLE" "$BUNDLE"/*

# The packed copy that travels (the tree and what it carries may hold 64 MiB at most).
CARRY=$BUILD/carry
rm -rf "$CARRY"
mkdir -p "$CARRY"
tar -C "$BUNDLE" -cf - bin lib | xz -6 -T"${JOBS:-2}" >"$CARRY/binlib.tar.xz"
cp -r "$BUNDLE/data" "$CARRY/"
du -sh "$CARRY"
echo "carry $CARRY with the tree, then run: bash tests/gpu/run-gpu-checks.sh $BUNDLE"
