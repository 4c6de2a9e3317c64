#!/usr/bin/env python3
"""Runs the criterion bench `minilm` and its `transformers` twin (`minilm_torch.py`) alternately,
in one run, and prints the medians and the ratio tinderbox / PyTorch for each round and overall:
encoder inference and one fine-tuning step of all-MiniLM-L6-v2 at batch 32 x 64.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/compare_minilm.py --rounds 3

The model folder is the one tinderbox unpacks into its cache (`cargo bench --bench minilm`
fetches it on first use); `--model DIR` points elsewhere.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import alternate  # noqa: E402
import minilm_torch as twin  # noqa: E402

CASES = ["minilm_b32_len64/inference", "minilm_b32_len64/train_step"]


def cache_root():
    """Where the bench unpacked the model: tinderbox's cache (`TINDERBOX_CACHE`, else the
    platform cache directory's `tinderbox`)."""
    if os.environ.get("TINDERBOX_CACHE"):
        return os.environ["TINDERBOX_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "tinderbox")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=os.path.join(cache_root(), "all-minilm-l6-v2"))
    p.add_argument("--torch-rounds", type=int, default=30, help="timed calls per torch round")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    alternate.build("minilm")

    def torch_round():
        times = twin.measure(a.model, 64, a.torch_rounds)
        return {CASES[0]: times["inference_ms"], CASES[1]: times["train_step_ms"]}

    print(f"torch {torch.__version__} with {a.threads} threads; medians in ms")
    alternate.run_rounds(a.rounds, CASES, lambda: alternate.criterion_medians("minilm", CASES),
                         torch_round)


if __name__ == "__main__":
    main()
