#!/usr/bin/env python3
"""Runs the criterion bench `mnist_cnn` and its PyTorch twin alternately, in one run, and prints
the medians and the ratio tinderbox / PyTorch for each round and overall (the machine is shared
and noisy, so rounds alternate rather than running one side first).

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/compare_mnist_cnn.py --rounds 3
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import alternate  # noqa: E402
import mnist_cnn_torch as twin  # noqa: E402

CASES = ["mnist_cnn_train_step/batch/32", "mnist_cnn_train_step/batch/128", "mnist_cnn_inference/images/1000"]


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
    alternate.build("mnist_cnn")
    print(f"torch {torch.__version__} with {a.threads} threads; medians in ms")
    alternate.run_rounds(a.rounds, CASES, lambda: alternate.criterion_medians("mnist_cnn", CASES),
                         lambda: torch_round(a.steps))


if __name__ == "__main__":
    main()
