#!/usr/bin/python3
# The benchmark: gpulab against PyTorch on the book's LeNet (same architecture, init, batch,
# lr and data), alternating them in one run, on one core (CPU seconds) and on every core
# (seconds per epoch), with the kernel paths taken, the CPU class, the GEMM's peak and the
# FLOP floor of an epoch; images/s for 1, 2 and 4 simulated devices; allreduce bandwidth;
# sync-mode memory, predicted vs measured; the same on CUDA where a GPU is there. It prints and never asserts (not part of ctest).
# Run through tests/bench/run-bench.sh, which builds gpulab and installs the peer.
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EPOCH_RE = re.compile(r"^epoch (\d+): loss ([0-9.naninf]+), test acc ([0-9.]+), ([0-9.]+) sec/epoch")

# The peer at its best: glibc's allocator told to keep freed memory instead of
# mapping and unmapping every activation, and OpenBLAS single-threaded under torch's own
# threads. Set for the PyTorch process only.
TORCH_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "68719476736",
    "MALLOC_TOP_PAD_": "268435456",
    "MALLOC_MMAP_MAX_": "0",
    "OPENBLAS_NUM_THREADS": "1",
}


# gpulab's own library path where it differs from the peer's (the GPU bundle: its cut-down
# OpenBLAS must not be what PyTorch loads): GPULAB_LD_LIBRARY_PATH, for gpulab's programs only.
GPULAB_ENV = ({"LD_LIBRARY_PATH": os.environ["GPULAB_LD_LIBRARY_PATH"]}
              if os.environ.get("GPULAB_LD_LIBRARY_PATH") else {})


def ours(cmd, **kw):
    """subprocess.run for one of gpulab's programs, in gpulab's environment."""
    return subprocess.run(cmd, env=dict(os.environ, **GPULAB_ENV), **kw)


def say(*a):
    print(*a)
    sys.stdout.flush()


def load_note():
    try:
        with open("/proc/loadavg") as f:
            return "load average %s" % " ".join(f.read().split()[:3])
    except OSError:
        return "load average unknown"


def run_epochs(cmd, env=None, label=""):
    """Runs a trainer that prints gpulab's epoch lines; returns [(epoch, loss, acc, secs)]."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    t0 = time.time()
    p = subprocess.run(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in p.stdout.splitlines():
        m = EPOCH_RE.match(line.strip())
        if m:
            out.append((int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))))
    if p.returncode != 0 or not out:
        say("  %s failed (exit %d):\n%s" % (label, p.returncode, p.stdout[-2000:]))
        return None
    say("  %-8s %s  (%.0f s)" % (label, "  ".join("e%d %.4gs acc %.3f" % (e, s, a) for e, _, a, s in out),
                                 time.time() - t0))
    return out


def steady(epochs):
    """Seconds per epoch at steady state: the median of epochs 2..k."""
    return statistics.median([s for e, _, _, s in epochs if e >= 2])


def cpu_class(paths):
    """The CPU class a result belongs to: the microarchitecture where /proc/cpuinfo tells it
    (AMD's family and model), and the instruction set of the kernel paths taken."""
    info = {}
    try:
        for line in open("/proc/cpuinfo"):
            k, _, v = line.partition(":")
            info.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    name = info.get("model name", "unknown CPU")
    arch = ""
    if info.get("vendor_id") == "AuthenticAMD":
        fam, model = int(info.get("cpu family", "0")), int(info.get("model", "0"))
        if fam == 23:
            arch = "Zen 2" if model >= 0x30 else "Zen/Zen+"
        elif fam == 25:
            arch = "Zen 4" if (0x10 <= model <= 0x1F or 0x60 <= model <= 0x7F or 0xA0 <= model <= 0xAF) else "Zen 3"
        elif fam == 26:
            arch = "Zen 5"
    m = re.match(r"isa (\w+) \(CPU: (\w+)(, GPULAB_CPU_ISA=\w+)?\)", paths)
    isa = m.group(1) if m else "?"
    capped = " capped by GPULAB_CPU_ISA (CPU has %s)" % m.group(2) if m and m.group(3) else ""
    return "%s%s, %s paths%s" % (name, " (%s)" % arch if arch else "", isa, capped)


def peer_caps():
    """PyTorch capped like gpulab when GPULAB_CPU_ISA=avx2 caps gpulab's paths: ATen's kernels,
    oneDNN and OpenBLAS to AVX2, so that both sides run a smaller machine's paths."""
    if os.environ.get("GPULAB_CPU_ISA", "").lower() == "avx2":
        return {"ATEN_CPU_CAPABILITY": "avx2", "DNNL_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}
    return {}


def cpu_seconds(cmd, env, label):
    """Runs a trainer to its end; returns the user + system CPU seconds it took (all its
    threads), or None when it failed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0 or "epoch 1:" not in p.stdout:
        say("  %s failed (exit %d):\n%s" % (label, p.returncode, p.stdout[-2000:]))
        return None
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def floor_seconds(bench):
    """(GEMM peak GFLOP/s, an epoch's floor in s on one core, its line) from gpulab-bench floor."""
    line = ours([bench, "floor"], stdout=subprocess.PIPE, text=True).stdout.strip()
    m = re.search(r"GEMM peak ([0-9.]+) GFLOP/s.*at that peak: ([0-9.]+) s on one core", line)
    return (float(m.group(1)), float(m.group(2)), line) if m else (None, None, line)


def one_core(a, cli, py, pairs, klass):
    """gpulab (1 device, 1 thread) against PyTorch (1 thread), one epoch each, alternating:
    the CPU seconds of each whole run (startup, data, the epoch, the test pass). CPU time is
    what other processes on a shared machine disturb least."""
    ours_cmd = [cli, "train", "--devices", "1", "--threads-per-device", "1", "--batch-size", "256", "--lr", "0.2",
                "--epochs", "1"]
    theirs_cmd = [py, os.path.join(ROOT, "tests/bench/torch_lenet.py"), "--device", "cpu", "--threads", "1",
                  "--batch-size", "256", "--lr", "0.2", "--epochs", "1"]
    if a.data:
        ours_cmd += ["--data", a.data]
        theirs_cmd += ["--data", a.data]
    caps = peer_caps()
    say("\n== one core: CPU seconds of a 1-epoch run, gpulab (1 device, 1 thread) vs PyTorch (1 thread), "
        "alternating; %s ==" % klass)
    if caps:
        say("PyTorch capped alike: %s" % " ".join("%s=%s" % kv for kv in caps.items()))
    ours_s, theirs_s, ratios = [], [], []
    for i in range(pairs):
        o = cpu_seconds(ours_cmd, GPULAB_ENV, "gpulab")
        t = cpu_seconds(theirs_cmd, dict(TORCH_ENV, **caps), "pytorch")
        if o is None or t is None:
            continue
        ours_s.append(o)
        theirs_s.append(t)
        ratios.append(o / t)
        say("  pair %d: gpulab %.2f CPU s, pytorch %.2f CPU s, ratio %.3f (%s)" % (i + 1, o, t, o / t, load_note()))
    if not ratios:
        say("one-core result: no complete pair")
        return None
    say("one-core result (%s): gpulab %.2f CPU s (median of %s), pytorch %.2f CPU s (median of %s); median ratio "
        "%.3f (gpulab/pytorch; target <= 0.45)" % (
            klass, statistics.median(ours_s), ", ".join("%.2f" % x for x in ours_s), statistics.median(theirs_s),
            ", ".join("%.2f" % x for x in theirs_s), statistics.median(ratios)))
    say("  gpulab command: %s" % " ".join(ours_cmd))
    return statistics.median(ours_s)


def compare(a, backend, cli, py, pairs, epochs, torch_device, torch_threads, devices, extra=()):
    """Alternates gpulab and PyTorch `pairs` times; returns (ours, theirs, ratios)."""
    ours_cmd = [cli, "train", "--backend", backend, "--batch-size", "256", "--lr", "0.2", "--epochs", str(epochs),
                "--quiet"] + list(extra)
    if devices:
        ours_cmd += ["--devices", str(devices)]
    if a.data:
        ours_cmd += ["--data", a.data]
    theirs_cmd = [py, os.path.join(ROOT, "tests/bench/torch_lenet.py"), "--device", torch_device,
                  "--batch-size", "256", "--lr", "0.2", "--epochs", str(epochs)]
    if torch_threads:
        theirs_cmd += ["--threads", str(torch_threads)]
    if a.data:
        theirs_cmd += ["--data", a.data]
    ours, theirs, ratios = [], [], []
    for i in range(pairs):
        say("pair %d of %d (%s)" % (i + 1, pairs, load_note()))
        o = run_epochs(ours_cmd, env=GPULAB_ENV, label="gpulab")
        t = run_epochs(theirs_cmd, env=dict(TORCH_ENV, **(peer_caps() if torch_device == "cpu" else {})),
                       label="pytorch")
        if not o or not t:
            continue
        ours.append(steady(o))
        theirs.append(steady(t))
        ratios.append(ours[-1] / theirs[-1])
        say("  steady sec/epoch: gpulab %.4g, pytorch %.4g, ratio %.3f" % (ours[-1], theirs[-1], ratios[-1]))
    return ours, theirs, ratios, " ".join(ours_cmd)


def report_comparison(title, ours, theirs, ratios, cmd):
    if not ratios:
        say("%s: no complete pair" % title)
        return
    say("%s: gpulab %.4g s/epoch (median of %s), pytorch %.4g s/epoch (median of %s); median ratio %.3f "
        "(gpulab/pytorch; pairs %s)" % (title, statistics.median(ours), ", ".join("%.4g" % x for x in ours),
                                        statistics.median(theirs), ", ".join("%.4g" % x for x in theirs),
                                        statistics.median(ratios), ", ".join("%.3f" % r for r in ratios)))
    say("  gpulab command: %s" % cmd)


def scaling(cli, backend, epochs):
    say("\n== images/s by simulated device count (sync, naive allreduce, epoch 2 of %d, %s) ==" % (epochs, load_note()))
    say("%-8s %-6s %12s %12s" % ("devices", "batch", "s/epoch", "images/s"))
    rates = {}
    for batch in (256, 512):
        for d in (1, 2, 4):
            out = run_epochs([cli, "train", "--backend", backend, "--devices", str(d), "--batch-size", str(batch),
                              "--epochs", str(epochs), "--quiet"], env=GPULAB_ENV, label="%dx%d" % (d, batch))
            if not out:
                continue
            s = steady(out)
            rates[(d, batch)] = 60000 / s
            say("%-8d %-6d %12.2f %12.0f" % (d, batch, s, 60000 / s))
    if (1, 256) in rates and (2, 512) in rates:
        say("2 devices at batch 512 / 1 device at batch 256: %.2fx the images/s (target >= 1.7x)"
            % (rates[(2, 512)] / rates[(1, 256)]))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--bin-dir", default="", help="where gpulab-cli and gpulab-bench are (the GPU bundle's bin/); "
                    "overrides --build-dir")
    ap.add_argument("--data", default="", help="Fashion-MNIST directory for both trainers (default: their own)")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3, help="per run; epochs 2.. are timed")
    ap.add_argument("--python", default="/usr/bin/python3", help="the Python that has torch")
    ap.add_argument("--cpu1-pairs", type=int, default=3, help="pairs of one-core 1-epoch runs (CPU seconds)")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: cpu1,cpu,scaling,allreduce,engine,memory,gpu")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    cli = os.path.join(a.build_dir, "app/gpulab-cli")
    bench = os.path.join(a.build_dir, "tests/bench/gpulab-bench")
    if a.bin_dir:
        cli, bench = os.path.join(a.bin_dir, "gpulab-cli"), os.path.join(a.bin_dir, "gpulab-bench")
    cores = os.cpu_count() or 1

    say("== machine ==")
    try:
        model = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
    except (OSError, IndexError):
        model = "unknown CPU"
    say("%s, %d cores; %s" % (model, cores, load_note()))
    say("OPENBLAS_CORETYPE=%s (left as the environment has it)" % os.environ.get("OPENBLAS_CORETYPE", "(unset)"))
    ours([cli, "devices"])
    subprocess.run([a.python, "-c", "import torch; print('pytorch', torch.__version__, 'cuda available:', "
                    "torch.cuda.is_available())"])
    paths = ours([bench, "paths"], stdout=subprocess.PIPE, text=True).stdout.strip()
    say("kernel paths: " + paths)
    klass = cpu_class(paths)
    say("CPU class: " + klass)
    ours([bench, "kernels", "--n", "1"], stdout=subprocess.DEVNULL)
    peak, floor_1core, floor_line = floor_seconds(bench)
    say(floor_line)

    if "cpu1" not in skip:
        median_cpu = one_core(a, cli, a.python, a.cpu1_pairs, klass)
        if median_cpu and floor_1core:
            say("one core vs the FLOP floor: %.2f CPU s / %.2f s = %.2fx (target <= 2x; the run's startup, data "
                "loading and test pass are counted against it)" % (median_cpu, floor_1core, median_cpu / floor_1core))

    if "cpu" not in skip:
        say("\n== CPU: the book's LeNet, batch 256, lr 0.2, gpulab (one simulated device per core) vs PyTorch "
            "(torch.set_num_threads(%d)), alternating ==" % cores)
        o, t, r, cmd = compare(a, "cpu", cli, a.python, a.pairs, a.epochs, "cpu", cores, None)
        report_comparison("CPU result (%s)" % klass, o, t, r, cmd)
        if o and floor_1core:
            say("  vs the FLOP floor on %d cores (%.2f s): %.2fx (wall clock: a loaded machine inflates it)"
                % (cores, floor_1core / cores, statistics.median(o) / (floor_1core / cores)))

    if "scaling" not in skip:
        scaling(cli, "cpu", 2)

    if "allreduce" not in skip:
        say("\n== allreduce, cpu-sim (%s) ==" % load_note())
        ours([bench, "allreduce", "--devices", "2,4"])
        say("\n== allreduce through the link model custom:200,1 (200 us, 1 GB/s): measured / model (%s) ==" % load_note())
        ours([bench, "allreduce", "--devices", "2,4", "--link", "custom:200,1", "--max-bytes", "4194304"])

    if "engine" not in skip:
        say("\n== the engine's own cost per minibatch (empty ops; %s) ==" % load_note())
        ours([bench, "engine", "--steps", "1000"])

    if "memory" not in skip:
        say("\n== memory (%s) ==" % load_note())
        ours([bench, "memory"])

    if "gpu" not in skip:
        say("\n== GPU ==")
        devs = ours([cli, "devices"], stdout=subprocess.PIPE, text=True).stdout
        torch_cuda = subprocess.run([a.python, "-c", "import torch; print(torch.cuda.is_available())"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        m = re.search(r"^cuda: (.*)$", devs, re.M)
        gpulab_cuda = bool(m) and not m.group(1).startswith("not usable")
        if not gpulab_cuda:
            say("skipped: gpulab has no usable CUDA backend here (%s)" % (m.group(1) if m else "no cuda line"))
        elif torch_cuda != "True":
            say("skipped: PyTorch cannot use CUDA here (torch.cuda.is_available() = %s)" % (torch_cuda or "no torch"))
        else:
            # PyTorch eager never waits for the GPU inside an epoch; gpulab's like for like is
            # bounded mode (the front end runs up to 2 minibatches ahead, losses come back
            # without a wait). Sync mode (the front end waits for every minibatch) is printed
            # beside it: the price of waiting.
            for title, extra, pairs in (
                    ("GPU result (bounded, 2 in flight)", ["--mode", "bounded", "--inflight", "2"], a.pairs),
                    ("GPU result (sync; fewer pairs, for reference)", ["--mode", "sync"], max(1, a.pairs // 3))):
                say("CUDA: the book's LeNet, batch 256, lr 0.2, gpulab (1 logical device, %s) vs PyTorch eager on "
                    "the same GPU, alternating" % " ".join(extra))
                o, t, r, cmd = compare(a, "cuda", cli, a.python, pairs, max(a.epochs, 4), "cuda", 0, 1, extra)
                report_comparison(title, o, t, r, cmd)
            say("\n== allreduce between logical devices on one GPU vs that GPU's device-to-device copy ==")
            ours([bench, "allreduce", "--backend", "cuda", "--devices", "2,4"])
            say("(the target: ring busbw at 64 MiB >= 70% of the copy's bandwidth at 64 MiB)")


if __name__ == "__main__":
    main()
