#!/usr/bin/env python3
"""PyTorch twin of benches/mnist_cnn.rs: the seed MNIST CNN's training step (forward, backward,
Adam, loss.item()) at batch 32 and 128, and inference on 1,000 images, on the CPU.

    python benches/compare/mnist_cnn_torch.py --threads 2 [--train-mnist]

Prints medians in milliseconds. `--train-mnist` also trains the seed program (5 epochs, batch 32,
Adam 1e-3, the same 55k/5k split as the Rust example) on the IDX files that tinderbox cached, and
prints the test accuracy. Needs torch and numpy (a venv outside the repo; see docs/benchmarks.md).
"""
import argparse
import os
import statistics
import time

import numpy as np
import torch
from torch import nn


class SeedCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 32, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 13 * 13, 128)
        self.fc2 = nn.Linear(128, 10)
        for layer in (self.conv, self.fc1, self.fc2):  # Keras: Glorot uniform, zero bias
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def time_steps(batch, steps, warmup):
    model = SeedCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def time_inference(reps):
    model = SeedCnn().eval()
    x = torch.rand(1000, 1, 28, 28)
    times = []
    with torch.no_grad():
        for i in range(reps + 3):
            t = time.perf_counter()
            torch.softmax(model(x), 1).argmax(1)
            if i >= 3:
                times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def read_idx(path):
    data = open(path, "rb").read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def train_mnist(cache, seed):
    d = os.path.join(cache, "mnist-idx")
    x = torch.tensor(read_idx(os.path.join(d, "train-images-idx3-ubyte")), dtype=torch.float32) / 255
    y = torch.tensor(read_idx(os.path.join(d, "train-labels-idx1-ubyte")), dtype=torch.long)
    xt = torch.tensor(read_idx(os.path.join(d, "t10k-images-idx3-ubyte")), dtype=torch.float32) / 255
    yt = torch.tensor(read_idx(os.path.join(d, "t10k-labels-idx1-ubyte")), dtype=torch.long)
    x, y = x[:55000, None], y[:55000]  # the last 5,000 are the Rust example's validation set
    torch.manual_seed(seed)
    model = SeedCnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(5):
        t = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i: i + 32]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(xt[:, None]).argmax(1) == yt).float().mean().item()
        print(f"epoch {epoch + 1}: {time.perf_counter() - t:.1f} s, test accuracy {acc:.4f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--train-mnist", action="store_true")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} threads")
    for batch in (32, 128):
        print(f"mnist_cnn_train_step/batch/{batch}: median {time_steps(batch, a.steps, 20):.3f} ms")
    print(f"mnist_cnn_inference/images/1000: median {time_inference(30):.3f} ms")
    if a.train_mnist:
        cache = os.environ.get("TINDERBOX_CACHE", os.path.expanduser("~/.cache/tinderbox"))
        train_mnist(cache, a.seed)


if __name__ == "__main__":
    main()
