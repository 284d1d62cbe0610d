#!/bin/bash
# The GPU checks of the CUDA backend, in ONE call on the GPU machine: `gpulab-cli devices`,
# `gpulab-cli verify`, every GPU test suite, and 2-epoch training runs on 1 and on 4 logical
# GPUs (plus ring and NCCL runs), a recording of the book's 2-device run on GPUs for the
# lab's examples, then the GPU benchmark (gpulab vs the machine's PyTorch
# eager, tests/bench/run_bench.py; allreduce vs copy bandwidth). Writes the whole log to $GPU_CHECKS_DIR/gpu-checks.log (or to
# ./gpu-checks.log where GPU_CHECKS_DIR is unset) and ends with one PASS/FAIL line per step.
#
# Prepare on the development machine (builds build-gpu/bundle: binaries, libs, data):
#   tests/gpu/prepare-gpu-bundle.sh
# then, on the GPU machine, with the tree and build-gpu/bundle (or its packed copy,
# build-gpu/carry, which this script unpacks) copied there (one command, about 5 to 6
# minutes on an H200):
#   bash tests/gpu/run-gpu-checks.sh build-gpu/bundle
# Here (no GPU) the same command runs the CPU parts and reports "no CUDA device" cleanly.
# Where `nvidia-smi -L` lists a GPU, it sets GPULAB_REQUIRE_CUDA=1: every check that needs
# CUDA must then run, and one that would skip (a GPU this build cannot use, a driver too old,
# a runtime that does not start) fails instead.
#
# Usage: run-gpu-checks.sh [BUNDLE_DIR]   (default build-gpu/bundle; BUNDLE_DIR/data holds
# the Fashion-MNIST .gz files, else the training runs use --synthetic data)
set -u
cd "$(dirname "$0")/../.."
BUNDLE=${1:-build-gpu/bundle}
BIN=$BUNDLE/bin
LOGDIR=${GPU_CHECKS_DIR:-.}
LOG=$LOGDIR/gpu-checks.log
mkdir -p "$LOGDIR"
: >"$LOG"
STEP_TIMEOUT=${STEP_TIMEOUT:-150}

say() { echo "$*" | tee -a "$LOG"; }
RESULTS=()
FAILED=0
# step NAME COMMAND...: runs it with a timeout, logs everything, records PASS/FAIL/SKIP.
# Exit status 77 means "skipped" (the test programs: no CUDA driver or no GPU); under
# GPULAB_REQUIRE_CUDA=1 a skip is a failure.
STEP_OUTPUT=""
run_logged() { # sets STEP_RC and STEP_OUTPUT
  local out
  out=$(mktemp)
  timeout --kill-after=10 "$STEP_TIMEOUT" "$@" 2>&1 | tee -a "$LOG" >"$out"
  STEP_RC=${PIPESTATUS[0]}
  cat "$out"
  STEP_OUTPUT=$(cat "$out")
  rm -f "$out"
}
record() { # record NAME VERDICT T0
  RESULTS+=("$2  $1  ($((SECONDS - $3)) s)")
  case "$2" in FAIL*) FAILED=$((FAILED + 1)) ;; esac
  say "==== $1: $2"
}
step() {
  local name=$1
  shift
  say ""
  say "==== $name: $*"
  local t0=$SECONDS
  run_logged "$@"
  local rc=$STEP_RC verdict=PASS
  if [ "$rc" -eq 77 ] && [ "${GPULAB_REQUIRE_CUDA:-0}" = 1 ]; then verdict="FAIL (skipped, and GPULAB_REQUIRE_CUDA=1)"
  elif [ "$rc" -eq 77 ]; then verdict=SKIP
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then verdict="FAIL (timed out after ${STEP_TIMEOUT}s)"
  elif [ "$rc" -ne 0 ]; then verdict="FAIL (exit $rc)"
  fi
  record "$name" "$verdict" "$t0"
}
# refused NAME CODE NEEDLE COMMAND...: the command must exit with exactly CODE and say
# NEEDLE (a crash, a timeout, a success or another message is a failure).
refused() {
  local name=$1 code=$2 needle=$3
  shift 3
  say ""
  say "==== $name: $* (must exit $code saying '$needle')"
  local t0=$SECONDS
  run_logged "$@"
  local verdict=PASS
  if [ "$STEP_RC" -ne "$code" ]; then verdict="FAIL (exit $STEP_RC, expected $code)"
  elif ! grep -qF -- "$needle" <<<"$STEP_OUTPUT"; then verdict="FAIL (exit $code, but no '$needle' in its output)"
  fi
  record "$name" "$verdict" "$t0"
}

say "gpulab GPU checks, $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname)"
# The packed copy (prepare-gpu-bundle.sh writes it beside the bundle, as carry/): unpack it.
PACKED=$(dirname "$BUNDLE")/carry
if [ ! -x "$BIN/gpulab-cli" ] && [ -f "$PACKED/binlib.tar.xz" ]; then
  say "unpacking $PACKED into $BUNDLE"
  mkdir -p "$BUNDLE"
  tar -C "$BUNDLE" -xJf "$PACKED/binlib.tar.xz" ||
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$PACKED/binlib.tar.xz" "$BUNDLE"
  [ -d "$PACKED/data" ] && [ ! -e "$BUNDLE/data" ] && cp -r "$PACKED/data" "$BUNDLE/data"
fi
if [ ! -x "$BIN/gpulab-cli" ]; then
  say "no $BIN/gpulab-cli: run tests/gpu/prepare-gpu-bundle.sh first and carry $BUNDLE (or $PACKED)"
  exit 2
fi

# ---- the CUDA libraries: the bundle's own, the toolkit's, PyTorch's nvidia-* wheels ----
LIBS="$PWD/$BUNDLE/lib"
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && LIBS="$LIBS:$d"
done
for py in python3 /opt/torch/.venv/bin/python3; do
  command -v "$py" >/dev/null 2>&1 || continue
  NV=$("$py" -c 'import nvidia, os; print("\n".join(os.path.abspath(p) for p in nvidia.__path__))' 2>/dev/null) || continue
  for root in $NV; do
    while IFS= read -r d; do LIBS="$LIBS:$d"; done < <(find "$root" -maxdepth 3 -type d -name lib 2>/dev/null | sort)
  done
  break
done
PEER_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} # PyTorch's, for the benchmark's peer
export LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
say ""
say "---- libraries the programs load:"
ldd "$BIN/gpulab-cli" 2>&1 | grep -E "cuda|cublas|cudnn|nccl|openblas|gomp|not found" | tee -a "$LOG"
if ldd "$BIN/gpulab-cli" 2>&1 | grep -q "not found"; then
  say "WARNING: some libraries were not found (above); the steps below will fail to start"
fi
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi 2>&1 | tee -a "$LOG"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q "^GPU [0-9]"; then
  export GPULAB_REQUIRE_CUDA=1
  say "nvidia-smi lists a GPU: GPULAB_REQUIRE_CUDA=1 (no check that needs CUDA may skip)"
fi

# ---- the checks ----
DATA=(--synthetic 12000)
if ls "$BUNDLE"/data/train-images-idx3-ubyte.gz >/dev/null 2>&1; then DATA=(--data "$BUNDLE/data"); fi
HAVE_GPU=0
"$BIN/gpulab-cli" devices 2>/dev/null | grep -q "^cuda: [0-9]" && HAVE_GPU=1

step "devices" "$BIN/gpulab-cli" devices
if [ "$HAVE_GPU" = 0 ] && [ "${GPULAB_REQUIRE_CUDA:-0}" = 1 ]; then
  record "CUDA usable where a GPU is listed" "FAIL (gpulab-cli devices: $("$BIN/gpulab-cli" devices 2>&1 | grep '^cuda'))" "$SECONDS"
fi
step "verify" "$BIN/gpulab-cli" verify
step "tst_cuda_kernels" "$BIN/tst_cuda_kernels"
step "tst_cuda_allreduce" "$BIN/tst_cuda_allreduce"
step "tst_verify" "$BIN/tst_verify"
if [ "$HAVE_GPU" = 1 ]; then
  TRAIN=(train --backend cuda --epochs 2 --batch-size 256 --lr 0.2 --quiet "${DATA[@]}")
  step "train 1 GPU device" "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 1
  # The same without this build's newer transfer paths (pinned staging, read-backs that land
  # later, the training set on the device): if only the run above fails, the fault is there.
  step "train 1 GPU device, plain transfers" env GPULAB_CUDA_PINNED=0 "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 1 \
    --data-on-device host
  # A GPU recording for the lab's examples (resources/recordings): the book's 2-device run
  # as tests/make-example-recordings.sh records it on simulated devices, here on GPUs
  # ($GPU_CHECKS_DIR/gpu-book-2-devices.gpurec; it needs the real Fashion-MNIST for the same subset).
  if [ "${DATA[0]}" = --data ]; then
    step "record the book's 2-device run on GPUs" "$BIN/gpulab-cli" train --backend cuda --devices 2 \
      --batch-size 256 --lr 0.2 --epochs 4 --subset 30000 --test-subset 2000 --snapshot-every 100000 --seed 1 \
      --quiet "${DATA[@]}" --record "$LOGDIR/gpu-book-2-devices.gpurec"
    step "the GPU recording replays" "$BIN/gpulab-cli" replay "$LOGDIR/gpu-book-2-devices.gpurec"
  fi
  step "train 4 logical devices, naive" "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 4 --allreduce naive
  step "train 4 logical devices, ring (12000 images)" "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 4 \
    --allreduce ring --subset 12000 --test-subset 2000
  step "train 1 device, nccl (12000 images)" "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 1 --allreduce nccl \
    --subset 12000 --test-subset 2000
  step "train 4 devices, async, trace" "$BIN/gpulab-cli" train --backend cuda --devices 4 --mode bounded \
    --inflight 3 --epochs 1 --subset 4096 --test-subset 1000 --quiet "${DATA[@]}" --trace "$LOGDIR/trace-4gpu.json"
  step "backend auto picks CUDA" "$BIN/gpulab-cli" train --backend auto --devices 2 --epochs 1 --subset 2048 \
    --test-subset 500 --quiet "${DATA[@]}"
  # Where a GPU minibatch's host time goes (each op's time to queue its kernels), in the
  # mode the benchmark compares: the first thing to read when the GPU targets are missed.
  step "op summary: 1 device, bounded, 2 epochs" "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 1 --mode bounded \
    --inflight 2 --op-summary
  # The GPU benchmark: gpulab vs the PyTorch already on this machine,
  # alternating, and allreduce against the device-to-device copy. It prints, never fails.
  # (Its CPU parts, the one-core pairs included, take minutes on their own: they are the CPU
  # benchmark's, tests/bench/run-bench.sh, and are skipped here.)
  TORCH_PY=""
  for py in python3 /opt/torch/.venv/bin/python3; do
    if LD_LIBRARY_PATH=$PEER_LD_LIBRARY_PATH "$py" -c \
      'import torch, numpy, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
      TORCH_PY=$py
      break
    fi
  done
  BENCH_DATA=()
  [ "${DATA[0]}" = --data ] && BENCH_DATA=(--data "${DATA[1]}")
  if [ -n "$TORCH_PY" ]; then
    STEP_TIMEOUT=${BENCH_TIMEOUT:-240} step "benchmark: gpulab vs PyTorch eager, allreduce vs copy" \
      env LD_LIBRARY_PATH="$PEER_LD_LIBRARY_PATH" GPULAB_LD_LIBRARY_PATH="$LD_LIBRARY_PATH" \
      "$TORCH_PY" tests/bench/run_bench.py --bin-dir "$BIN" --python "$TORCH_PY" "${BENCH_DATA[@]}" \
      --skip cpu1,cpu,scaling,allreduce,memory,engine --pairs 3 --epochs 3
  else
    say "no Python with a CUDA-enabled torch and numpy: the GPU benchmark is skipped"
  fi
  GPUS=$("$BIN/gpulab-cli" devices | sed -n 's/^cuda: \([0-9]*\) GPU.*/\1/p')
  refused "nccl refused for more devices than GPUs" 2 "one GPU per device" "$BIN/gpulab-cli" train --backend cuda \
    --devices $((GPUS + 1)) --allreduce nccl --epochs 1 --subset 512 --quiet "${DATA[@]}"
  # The host-cost paths one at a time off (README, "On NVIDIA GPUs"): if a run above fails and
  # the same run passes here, the fault lies in the path switched off. The op summary without
  # graphs, beside the one above, shows what the graphs save per convolution op.
  step "CUDA graphs in the benchmark's run (counts per device)" env GPULAB_CUDA_GRAPH_STATS=1 "$BIN/gpulab-cli" \
    "${TRAIN[@]}" --devices 1 --mode bounded --inflight 2
  step "train 1 GPU device, bounded, no CUDA graphs" env GPULAB_CUDA_GRAPHS=0 "$BIN/gpulab-cli" "${TRAIN[@]}" \
    --devices 1 --mode bounded --inflight 2 --op-summary
  step "train 1 GPU device, cuDNN bias/ReLU/pooling" env GPULAB_CUDA_OWN_KERNELS=0 "$BIN/gpulab-cli" "${TRAIN[@]}" \
    --devices 1
  step "train 4 logical devices, ring, copy + add transfers (12000 images)" env GPULAB_CUDA_FUSED_REDUCE=0 \
    "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 4 --allreduce ring --subset 12000 --test-subset 2000
  # Off by default: the fused exchange of a ring of two (README, "On NVIDIA GPUs").
  step "train 2 logical devices, ring, fused exchange (12000 images)" env GPULAB_CUDA_FUSED_EXCHANGE=1 \
    "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 2 --allreduce ring --subset 12000 --test-subset 2000
  # The paths that are off by default (README, "On NVIDIA GPUs": GPULAB_CUDA_FUSED_GRAPHS,
  # GPULAB_CUDA_SPLIT_SUMS, GPULAB_CUDA_ANY_ALGO): training runs with them on (each must finish; their losses and
  # counts of graphs and fused units are printed), where the GPU's time goes per call with the GPU times
  # on, without and with them (how busy the GPU was: if it is busy nearly all the time, the
  # host is not what sets the pace), then each variant against the default on the
  # benchmark's run, alternating, with the ratios to the default and to PyTorch.
  step "train 1 GPU device, fused layer graphs + split sums" env GPULAB_CUDA_FUSED_GRAPHS=1 \
    GPULAB_CUDA_SPLIT_SUMS=1 GPULAB_CUDA_GRAPH_STATS=1 "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 1
  step "train 1 GPU device, bounded, fused step graphs + split sums" env GPULAB_CUDA_FUSED_GRAPHS=2 \
    GPULAB_CUDA_SPLIT_SUMS=1 GPULAB_CUDA_GRAPH_STATS=1 "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 1 --mode bounded \
    --inflight 2
  step "train 4 logical devices, ring, fused layer graphs + split sums (12000 images)" env \
    GPULAB_CUDA_FUSED_GRAPHS=1 GPULAB_CUDA_SPLIT_SUMS=1 GPULAB_CUDA_GRAPH_STATS=1 "$BIN/gpulab-cli" "${TRAIN[@]}" \
    --devices 4 --allreduce ring --subset 12000 --test-subset 2000
  step "GPU time per call: default, 1 device, bounded, 2 epochs" env GPULAB_CUDA_GPU_TIMES=1 "$BIN/gpulab-cli" \
    "${TRAIN[@]}" --devices 1 --mode bounded --inflight 2 --op-summary
  step "GPU time per call: split sums + any cuDNN algorithm" env GPULAB_CUDA_GPU_TIMES=1 GPULAB_CUDA_SPLIT_SUMS=1 \
    GPULAB_CUDA_ANY_ALGO=1 "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 1 --mode bounded --inflight 2 --op-summary
  step "GPU time per fused unit: fused layer graphs + split sums" env GPULAB_CUDA_GPU_TIMES=1 \
    GPULAB_CUDA_FUSED_GRAPHS=1 GPULAB_CUDA_SPLIT_SUMS=1 "$BIN/gpulab-cli" "${TRAIN[@]}" --devices 1 --mode bounded \
    --inflight 2 --op-summary
  if command -v python3 >/dev/null 2>&1; then
    TORCH_S=$(sed -n 's/^GPU result (bounded.*pytorch \([0-9.]*\) s\/epoch.*/\1/p' "$LOG" | tail -1)
    STEP_TIMEOUT=${AB_TIMEOUT:-150} step "the off-by-default paths against the default (the benchmark's run)" \
      python3 tests/gpu/ab_bench.py --bin-dir "$BIN" "${BENCH_DATA[@]}" --pairs 3 --pytorch-seconds "${TORCH_S:-0}"
  fi
  if [ -x "$BIN/gpulab-bench" ]; then
    # Each row by wall time and by the GPU's own time (streams held until the row is queued),
    # against the copy both ways; ring-fx is the ring with the fused exchange (2 devices).
    step "allreduce on one GPU, fused transfers, ring-fx, GPU times (16 MiB and up)" "$BIN/gpulab-bench" allreduce \
      --backend cuda --devices 2,4 --min-bytes 16777216
    AR_OUT=$STEP_OUTPUT
    step "allreduce on one GPU, copy + add transfers (16 MiB and up)" env GPULAB_CUDA_FUSED_REDUCE=0 \
      "$BIN/gpulab-bench" allreduce --backend cuda --devices 2,4 --min-bytes 16777216
    say ""
    say "---- the allreduce target's rows (64 MiB, 2 logical devices on one GPU; target ring busbw >= 0.70 x copy):"
    grep -E "^(strategy|copy|ring|ring-fx|naive) +(n|2) +(bytes|67108864) " <<<"$AR_OUT" | tee -a "$LOG"
  fi
  # GPU ranks: NCCL across processes (rank 0's unique id through the rendezvous store,
  # ncclCommInitRank, each minibatch's allreduce across ranks on the GPU). A rank needs a GPU
  # of its own (NCCL refuses two ranks on one GPU), so a one-GPU machine runs a job of one rank,
  # which must give a plain run's losses, and refuses a second rank; two ranks need two GPUs.
  # same_losses NAME A.csv B.csv: the minibatch losses of two --csv files agree within 5e-5
  # relative (the ranks' tests' bound).
  same_losses() {
    local t0=$SECONDS verdict
    verdict=$(awk -F, 'FNR == 1 { for (i = 1; i <= NF; i++) { if ($i == "kind") k = i; if ($i == "value") v = i }; next }
      $k == "minibatch_loss" { if (FILENAME == ARGV[1]) a[na++] = $v; else b[nb++] = $v }
      END {
        if (na == 0 || na != nb) { printf "FAIL (%d and %d minibatch losses)", na, nb; exit }
        w = 0; for (i = 0; i < na; i++) { d = a[i] - b[i]; if (d < 0) d = -d; r = d / (a[i] < 0 ? -a[i] : a[i]); if (r > w) w = r }
        if (w <= 5e-5) printf "PASS (worst relative difference %.3g over %d minibatches)", w, na
        else printf "FAIL (worst relative difference %.3g over %d minibatches)", w, na
      }' "$2" "$3" 2>&1) || verdict="FAIL (cannot read $2 or $3)"
    [ -n "$verdict" ] || verdict="FAIL (no verdict)"
    say ""
    record "$1" "$verdict" "$t0"
  }
  RANK_RUN=(--batch-size 240 --lr 0.9 --seed 3 --epochs 1 --subset 14400 --test-subset 480 --quiet "${DATA[@]}")
  step "GPU ranks: a job of one rank (launch --nproc 1)" "$BIN/gpulab-cli" launch --nproc 1 -- --backend cuda \
    --devices 1 "${RANK_RUN[@]}" --csv "$LOGDIR/gpu-ranks-1.csv"
  step "GPU ranks: one process, 1 device, to compare" "$BIN/gpulab-cli" train --backend cuda --devices 1 \
    "${RANK_RUN[@]}" --csv "$LOGDIR/gpu-process-1.csv"
  same_losses "GPU ranks: one rank gives one process's losses" "$LOGDIR/gpu-process-1.csv" "$LOGDIR/gpu-ranks-1.csv"
  if [ "${GPUS:-0}" -ge 2 ]; then
    step "GPU ranks: launch --nproc 2, one GPU each" "$BIN/gpulab-cli" launch --nproc 2 -- --backend cuda \
      --devices 1 "${RANK_RUN[@]}" --csv "$LOGDIR/gpu-ranks-2.csv"
    step "GPU ranks: one process, 2 devices, to compare" "$BIN/gpulab-cli" train --backend cuda --devices 2 \
      "${RANK_RUN[@]}" --csv "$LOGDIR/gpu-process-2.csv"
    same_losses "GPU ranks: 2 ranks x 1 GPU give 1 process x 2 GPUs' losses" "$LOGDIR/gpu-process-2.csv" \
      "$LOGDIR/gpu-ranks-2.csv"
  else
    say ""
    record "GPU ranks: launch --nproc 2, one GPU each (needs 2 GPUs, found ${GPUS:-0})" SKIP "$SECONDS"
    refused "GPU ranks: a second rank on a one-GPU machine is refused" 2 "a GPU rank needs GPUs of its own" \
      "$BIN/gpulab-cli" launch --nproc 2 --timeout 20 -- --backend cuda --devices 1 "${RANK_RUN[@]}"
    # Two ranks on the one GPU: NCCL 2.30 and later allow it with NCCL_MULTI_RANK_GPU_ENABLE=1;
    # 2.28 has no such setting and refuses ("Duplicate GPU detected").
    NCCL_VER=$("$BIN/gpulab-cli" devices | sed -n 's/.*NCCL \([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p' | head -1)
    if [ -n "$NCCL_VER" ] && awk -v v="$NCCL_VER" 'BEGIN { split(v, a, " "); exit !(a[1] > 2 || (a[1] == 2 && a[2] >= 30)) }'; then
      step "GPU ranks: 2 ranks sharing the GPU (NCCL_MULTI_RANK_GPU_ENABLE=1)" env NCCL_MULTI_RANK_GPU_ENABLE=1 \
        "$BIN/gpulab-cli" launch --nproc 2 -- --backend cuda --devices 1 "${RANK_RUN[@]}" --csv "$LOGDIR/gpu-ranks-shared.csv"
      step "GPU ranks: one process, 2 logical devices, to compare" "$BIN/gpulab-cli" train --backend cuda --devices 2 \
        "${RANK_RUN[@]}" --csv "$LOGDIR/gpu-process-2-logical.csv"
      same_losses "GPU ranks: 2 ranks on one GPU give 1 process x 2 devices' losses" "$LOGDIR/gpu-process-2-logical.csv" \
        "$LOGDIR/gpu-ranks-shared.csv"
    else
      say ""
      record "GPU ranks: 2 ranks sharing the GPU (NCCL ${NCCL_VER/ /.} refuses it; 2.30 and later allow it)" SKIP "$SECONDS"
    fi
  fi
else
  say ""
  say "no usable CUDA device: the training runs on GPUs are skipped"
  refused "asking for cuda is a clear error" 2 "--backend cuda" "$BIN/gpulab-cli" train --backend cuda --devices 1 \
    --epochs 1 --synthetic 256
  step "train on the CPU (2 devices, synthetic)" "$BIN/gpulab-cli" train --backend auto --devices 2 --epochs 1 --synthetic 2048 --quiet
fi

say ""
say "==== summary"
for r in "${RESULTS[@]}"; do say "$r"; done
say "$(( ${#RESULTS[@]} - FAILED )) passed, $FAILED failed"
exit $(( FAILED > 0 ? 1 : 0 ))
