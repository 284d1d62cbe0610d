#!/usr/bin/python3
# The CUDA paths that are off by default, against the default, on the GPU benchmark's run:
# the book's LeNet, batch 256, 1 logical device, bounded mode with 2 minibatches in flight
# (tests/bench/run_bench.py's gpulab command), each variant a few times, alternating. Prints
# the steady seconds per epoch (median of epochs 2..E) of each run, the median per variant,
# its ratio to the default, and, given PyTorch's seconds per epoch from the benchmark, to
# PyTorch and against the targets (<= 0.2 x PyTorch, <= 0.1 s). Fails (exit 1) when a run
# fails, or when a variant that must compute exactly what the default computes (fused
# units alone: the same kernels in the same order) prints other losses. The fused exchange
# (GPULAB_CUDA_FUSED_EXCHANGE, a ring of 2 devices) does nothing on this 1-device run: it is
# cleared here, and timed against the copy by gpulab-bench allreduce (its ring-fx rows).
import argparse
import os
import re
import statistics
import subprocess
import sys

EPOCH_RE = re.compile(r"^epoch (\d+): loss ([0-9.naninf]+), test acc ([0-9.]+), ([0-9.]+) sec/epoch")

# name, environment, must its losses equal the default's?
VARIANTS = [
    ("default", {}, True),
    ("fused layers", {"GPULAB_CUDA_FUSED_GRAPHS": "1"}, True),
    ("split sums", {"GPULAB_CUDA_SPLIT_SUMS": "1"}, False),
    ("fused layers + split sums", {"GPULAB_CUDA_FUSED_GRAPHS": "1", "GPULAB_CUDA_SPLIT_SUMS": "1"}, False),
    ("fused step + split sums", {"GPULAB_CUDA_FUSED_GRAPHS": "2", "GPULAB_CUDA_SPLIT_SUMS": "1"}, False),
    ("any cuDNN algorithm", {"GPULAB_CUDA_ANY_ALGO": "1"}, False),
    ("layers + sums + any algo", {"GPULAB_CUDA_FUSED_GRAPHS": "1", "GPULAB_CUDA_SPLIT_SUMS": "1",
                                  "GPULAB_CUDA_ANY_ALGO": "1"}, False),
]


def say(*a):
    print(*a)
    sys.stdout.flush()


def run(cmd, env, timeout):
    full = dict(os.environ)
    for k in ("GPULAB_CUDA_FUSED_GRAPHS", "GPULAB_CUDA_SPLIT_SUMS", "GPULAB_CUDA_GPU_TIMES", "GPULAB_CUDA_ANY_ALGO",
              "GPULAB_CUDA_FUSED_EXCHANGE"):
        full.pop(k, None)
    full.update(env)
    try:
        p = subprocess.run(cmd, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % timeout
    epochs = []
    for line in p.stdout.splitlines():
        m = EPOCH_RE.match(line)
        if m:
            epochs.append((int(m.group(1)), m.group(2), m.group(3), float(m.group(4))))
    if p.returncode != 0 or not epochs:
        tail = "\n".join(p.stdout.splitlines()[-5:])
        return None, "exit %d: %s" % (p.returncode, tail)
    return epochs, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--data", help="folder of the Fashion-MNIST .gz files (else --synthetic 12000)")
    ap.add_argument("--pairs", type=int, default=3, help="runs of each variant")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--pytorch-seconds", type=float, default=0.0,
                    help="PyTorch eager's seconds per epoch from the benchmark (0: unknown)")
    ap.add_argument("--timeout", type=int, default=60, help="seconds a run may take")
    a = ap.parse_args()

    cmd = [os.path.join(a.bin_dir, "gpulab-cli"), "train", "--backend", "cuda", "--batch-size", "256", "--lr", "0.2",
           "--epochs", str(a.epochs), "--quiet", "--mode", "bounded", "--inflight", "2", "--devices", "1"]
    cmd += ["--data", a.data] if a.data else ["--synthetic", "12000"]
    say("gpulab's GPU epoch with the paths that are off by default, against the default; alternating, %d run(s) "
        "each" % a.pairs)
    say("  command: " + " ".join(cmd))
    steady = {name: [] for name, _, _ in VARIANTS}
    losses = {name: [] for name, _, _ in VARIANTS}
    failed = []
    for i in range(a.pairs):
        for name, env, _ in VARIANTS:
            epochs, why = run(cmd, env, a.timeout)
            envs = " ".join("%s=%s" % kv for kv in env.items()) or "(no switch)"
            if epochs is None:
                say("  run %d  %-26s %s: FAILED (%s)" % (i + 1, name, envs, why))
                failed.append(name)
                continue
            later = [e[3] for e in epochs if e[0] >= 2] or [epochs[-1][3]]
            steady[name].append(statistics.median(later))
            losses[name].append([e[1] for e in epochs])
            say("  run %d  %-26s %s: %s  steady %.4f s/epoch" % (
                i + 1, name, envs, "  ".join("e%d %ss loss %s acc %s" % (e[0], e[3], e[1], e[2]) for e in epochs),
                steady[name][-1]))
    say("")
    base = statistics.median(steady["default"]) if steady["default"] else 0.0
    say("%-26s %12s %14s %14s" % ("variant", "s/epoch", "vs default", "vs pytorch"))
    for name, env, exact in VARIANTS:
        if not steady[name]:
            say("%-26s %12s" % (name, "failed"))
            continue
        med = statistics.median(steady[name])
        vs_torch = ("%.3f" % (med / a.pytorch_seconds)) if a.pytorch_seconds > 0 else "-"
        say("%-26s %12.4f %14s %14s" % (name, med, ("%.3f" % (med / base)) if base > 0 else "-", vs_torch))
    if a.pytorch_seconds > 0:
        say("(targets: a GPU epoch <= 0.2 x PyTorch eager (%.4f s here) and <= 0.1 s; PyTorch %.4f s/epoch from the "
            "benchmark above)" % (0.2 * a.pytorch_seconds, a.pytorch_seconds))
    # Fused units alone must compute what the default computes, bit for bit: the same losses.
    differs = []
    ref = losses["default"][0] if losses["default"] else None
    for name, env, exact in VARIANTS:
        if exact and ref is not None:
            for ls in losses[name]:
                if ls != ref:
                    differs.append("%s: losses %s, default %s" % (name, " ".join(ls), " ".join(ref)))
                    break
    for d in differs:
        say("DIFFERS  " + d)
    if failed or differs:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
