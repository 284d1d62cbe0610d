#!/bin/sh
# Makes the example recordings the lab opens from Help > Example runs
# (resources/recordings/*.gpurec, embedded in the lab at build time), with gpulab-cli on
# simulated CPU devices and the real Fashion-MNIST, on a subset so that they stay small.
#   tests/make-example-recordings.sh [BUILD_DIR] [DATA_DIR]
# Parameter snapshots are what make a recording large (LeNet's 129,000 floats per device):
# the book's runs keep the fewest there can be
# (the initial parameters, after the first minibatch and after the last), the memory pair
# and the ring none. After a change to the recording format, run it again.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
data=${2:-/usr/share/datasets/fashion-mnist}
cli=$build/app/gpulab-cli
out=$here/resources/recordings
[ -x "$cli" ] || { echo "make-example-recordings: build gpulab-cli first ($cli not found)" >&2; exit 2; }
mkdir -p "$out"

record() {
  name=$1; shift
  echo "== $name: $*"
  "$cli" train --data "$data" --seed 1 --quiet --record "$out/$name.gpurec" "$@"
}

# The book's train(num_gpus, batch_size=256, lr=0.2), 4 epochs, on 30,000 of the 60,000
# training images and 2,000 of the 10,000 test images.
book="--batch-size 256 --lr 0.2 --epochs 4 --subset 30000 --test-subset 2000 --snapshot-every 100000"
record book-1-device --devices 1 $book
record book-2-devices --devices 2 $book
# Memory: the same run synchronous (one wait per minibatch) and asynchronous (the front end
# queues the whole epoch), 2 devices, one epoch of 10,000 images, no snapshots.
mem="--devices 2 --batch-size 256 --lr 0.2 --epochs 1 --subset 10000 --test-subset 1000 --snapshot-every 0"
record memory-sync --mode sync $mem
record memory-async --mode async $mem
# Ring allreduce on 4 devices: one epoch of 5,120 images (20 minibatches), no snapshots.
record ring-4-devices --devices 4 --allreduce ring --batch-size 256 --lr 0.2 --epochs 1 --subset 5120 \
  --test-subset 1000 --snapshot-every 0

ls -l "$out"/*.gpurec
du -ch "$out"/*.gpurec | tail -1
