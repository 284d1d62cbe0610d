#!/bin/bash
# Runs the lab under Xvfb through short runs and saves a screenshot of each view (and
# every plot in PNG, PDF and SVG) into shots/<scene>/ (or $1/<scene>/): what to look at
# before a class sees it. Uses the real Fashion-MNIST when installed, else the synthetic
# data. Needs a built gpulab ($BUILD_DIR, default build/) and xvfb-run.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
OUT="${1:-shots}"
APP="$BUILD_DIR/app/gpulab"
if [ ! -x "$APP" ]; then
  echo "screenshots: $APP not found; build first (cmake --build $BUILD_DIR)" >&2
  exit 2
fi
DATA=(--synthetic)
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  DATA=(--data /usr/share/datasets/fashion-mnist)
fi
SIZE="${SIZE:-1600x1000}"
SCENES="${SCENES:-book memory eight step link}"   # a subset: SCENES=eight tests/screenshots.sh
status=0

scene() { # name, then gpulab's options
  local name="$1"; shift
  case " $SCENES " in *" $name "*) ;; *) return 0 ;; esac
  rm -rf "${OUT:?}/$name"
  echo "== $name: gpulab $*"
  # exit 1 = a run failed: expected for the out-of-memory scene
  xvfb-run -a -s "-screen 0 1920x1200x24" "$APP" "${DATA[@]}" --size "$SIZE" "$@" \
    --run --export-dir "$OUT/$name" --quit
  local rc=$? view
  # 1: a run failed (the out-of-memory scene); 5: xvfb-run could not clean up its
  # temporary directory after the app had finished. Anything else is a failure.
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 5 ]; then
    echo "screenshots: scene $name failed (exit $rc)" >&2
    status=1
  fi
  for view in training devices allreduce memory engine; do
    if [ ! -s "$OUT/$name/screen_$view.png" ]; then
      echo "screenshots: scene $name wrote no screen_$view.png" >&2
      status=1
    fi
  done
}

# The book's first two runs (1 and 2 devices), shortened: Training overlays them.
scene book --preset book-1 --preset book-2 --batch-size 64 --lr 0.5 --subset 12000 \
  --test-subset 2000 --epochs 2 --view training
# Sync against async at 256 MiB per device: Memory overlays them, the OOM marked.
scene memory --preset sync-256mib --preset async-oom --subset 6000 --test-subset 1000 \
  --memory-time log --view memory
# Eight devices, ring allreduce, async: Devices, Allreduce and Engine at full speed.
scene eight --preset ring-4 --devices 8 --batch-size 512 --lr 0.5 --mode async \
  --subset 8192 --test-subset 1000 --epochs 1 --engine-window 0 --view engine
# Step through a ring allreduce on 4 devices: five presses, pictured while it waits.
scene step --preset step-ring-4 --step-mode --press-step 5 --view allreduce
# The book's finding over a slow link: 1 and 2 devices at batch 128, 2 at batch 1024 over a
# modelled 1 GbE (Training's seconds per epoch), then ResNet-50's gradients charged over
# 10 GbE (Allreduce: the model beside the measurement).
scene link --preset link-1 --preset link-2 --preset link-2-1024 --preset resnet50-10gbe \
  --epochs 1 --view allreduce

echo "screenshots: look at $OUT/*/screen_*.png"
exit $status
