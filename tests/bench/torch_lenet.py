#!/usr/bin/python3
# The peer: the book's LeNet trained with PyTorch eager, exactly as gpulab trains it (same
# architecture, init normal(0, 0.01) with zero biases, batch 256, lr 0.2, plain SGD on the
# mean loss = lr * grad_sum / batch, the same Fashion-MNIST IDX files). Prints one line
# per epoch: "epoch E: loss L, test acc A, S sec/epoch on DEVICE" (gpulab's format), so
# tests/bench/run-bench.sh reads both the same way. Training time only, as gpulab's.
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, prefix):
    x = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(y.astype(np.int64))


def lenet():
    net = nn.Sequential(
        nn.Conv2d(1, 20, 3), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(20, 50, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10))
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    # The data lives on the device once, as gpulab's decoded dataset lives in memory.
    xtr, ytr, xte, yte = xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev)
    net = lenet().to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()  # mean over the batch: the same step as sum and lr/batch
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    name = "%s(%s)" % (dev.type, torch.cuda.get_device_name(dev) if dev.type == "cuda"
                       else "%d threads" % torch.get_num_threads())
    if dev.type == "cuda":  # PyTorch's defaults, left as they are; gpulab computes in plain FP32
        name += ", cudnn TF32 %s, matmul TF32 %s" % (torch.backends.cudnn.allow_tf32,
                                                     torch.backends.cuda.matmul.allow_tf32)
    print("training: torch %s, batch %d, lr %g, %s" % (torch.__version__, a.batch_size, a.lr, name))
    n = xtr.shape[0]
    for epoch in range(1, a.epochs + 1):
        perm = torch.randperm(n, device=dev)
        sync()
        t0 = time.perf_counter()
        total = torch.zeros((), device=dev)
        for start in range(0, n, a.batch_size):
            idx = perm[start:start + a.batch_size]
            x, y = xtr[idx], ytr[idx]
            loss = loss_fn(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * y.shape[0]
        sync()
        secs = time.perf_counter() - t0
        with torch.no_grad():
            correct = 0
            for start in range(0, xte.shape[0], a.batch_size):
                correct += (net(xte[start:start + a.batch_size]).argmax(1)
                            == yte[start:start + a.batch_size]).sum().item()
        print("epoch %d: loss %.3f, test acc %.3f, %.4g sec/epoch on [%s]"
              % (epoch, total.item() / n, correct / xte.shape[0], secs, name))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
