#!/usr/bin/env python3
"""Runs the criterion bench `mnist_cnn` and its PyTorch twin alternately, in one run, and prints
the medians and the ratio tinderbox / PyTorch for each round and overall (the machine is shared
and noisy, so rounds alternate rather than running one side first).

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/compare_mnist_cnn.py --rounds 3
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import mnist_cnn_torch as twin  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CASES = ["mnist_cnn_train_step/batch/32", "mnist_cnn_train_step/batch/128", "mnist_cnn_inference/images/1000"]


def target_dir():
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          check=True, capture_output=True, text=True)
    return json.loads(meta.stdout)["target_directory"]


def rust_round():
    subprocess.run(["cargo", "bench", "--bench", "mnist_cnn", "--", "--noplot"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = {}
    for case in CASES:
        with open(os.path.join(target_dir(), "criterion", case, "new", "estimates.json")) as f:
            out[case] = json.load(f)["median"]["point_estimate"] / 1e6
    return out


def torch_round(steps):
    return {
        CASES[0]: twin.time_steps(32, steps, 20),
        CASES[1]: twin.time_steps(128, steps // 2, 10),
        CASES[2]: twin.time_inference(30),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=300)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    subprocess.run(["cargo", "bench", "--bench", "mnist_cnn", "--no-run"], cwd=ROOT, check=True)
    print(f"torch {torch.__version__} with {a.threads} threads; medians in ms")
    rows = {c: ([], []) for c in CASES}
    for r in range(a.rounds):
        rust, pt = rust_round(), torch_round(a.steps)
        for c in CASES:
            rows[c][0].append(rust[c])
            rows[c][1].append(pt[c])
            print(f"round {r + 1} {c:34} tinderbox {rust[c]:8.3f}  torch {pt[c]:8.3f}  ratio {rust[c] / pt[c]:.2f}")
    print("overall (median of rounds):")
    for c in CASES:
        ours, theirs = statistics.median(rows[c][0]), statistics.median(rows[c][1])
        print(f"  {c:34} tinderbox {ours:8.3f}  torch {theirs:8.3f}  ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
