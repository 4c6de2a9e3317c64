#!/usr/bin/env python3
"""SmolLM2-135M-Instruct at batch 1: the prompt pass over 128 tokens and one decoding step at a
context of 128 to 256 tokens, for tinderbox (`cargo bench --bench generate`), `transformers`
(its own GGUF loader dequantizes to float32, as ours does; eager attention, KV cache) and, when
`llama-cpp-python` is installed, llama.cpp on the same GGUF file (quantized weights, so it is the
target of the quantized kernels, not a like-for-like comparison). Rounds alternate; medians in ms
and the ratio tinderbox / transformers are printed, and llama.cpp's figures beside them.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/compare_generate.py --rounds 3
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
import alternate  # noqa: E402
from compare_minilm import cache_root  # noqa: E402

CASES = ["smollm2_135m_b1/prompt_128", "smollm2_135m_b1/decode_step_ctx128_256"]
PROMPT, NEW = 128, 128


def prompt_ids():
    """The bench's fixed prompt."""
    return [1000 + i * 37 % 20_000 for i in range(PROMPT)]


def transformers_round(model, calls):
    """Median prompt pass and median decoding step of `calls` runs, in ms."""
    ids = torch.tensor([prompt_ids()])
    prompt_ms, step_ms = [], []
    with torch.no_grad():
        for _ in range(calls):
            start = time.perf_counter()
            out = model(ids, use_cache=True)
            prompt_ms.append((time.perf_counter() - start) * 1e3)
            cache, token = out.past_key_values, torch.tensor([[4000]])
            for _ in range(NEW // calls):
                start = time.perf_counter()
                out = model(token, past_key_values=cache, use_cache=True)
                step_ms.append((time.perf_counter() - start) * 1e3)
                cache = out.past_key_values
    return {CASES[0]: statistics.median(prompt_ms), CASES[1]: statistics.median(step_ms)}


def llama_cpp_round(llm, calls):
    prompt_ms, step_ms = [], []
    for _ in range(calls):
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompt_ids())
        prompt_ms.append((time.perf_counter() - start) * 1e3)
        for _ in range(NEW // calls):
            start = time.perf_counter()
            llm.eval([4000])
            step_ms.append((time.perf_counter() - start) * 1e3)
    return {CASES[0]: statistics.median(prompt_ms), CASES[1]: statistics.median(step_ms)}


def arguments():
    """The options both SmolLM2 comparisons take."""
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--calls", type=int, default=8, help="prompt passes per round (decode steps: 128 in all)")
    p.add_argument("--gguf", default=os.path.join(cache_root(), "smollm2-135m-instruct-q4_1",
                                                  "SmolLM2-135M-Instruct.Q4_1.gguf"))
    return p.parse_args()


def main():
    a = arguments()
    torch.set_num_threads(a.threads)
    from transformers import AutoModelForCausalLM
    folder, name = os.path.split(a.gguf)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    try:
        from llama_cpp import Llama
        llm = Llama(model_path=a.gguf, n_threads=a.threads, n_threads_batch=a.threads,
                    n_ctx=PROMPT + NEW, n_batch=PROMPT, verbose=False)
    except ImportError:
        llm = None
        print("llama-cpp-python is not installed: llama.cpp is left out")
    alternate.build("generate")
    print(f"torch {torch.__version__} with {a.threads} threads; medians in ms")
    llama_rows = {c: [] for c in CASES}

    def other_round():
        theirs = transformers_round(model, a.calls)
        if llm is not None:
            for c, v in llama_cpp_round(llm, a.calls).items():
                llama_rows[c].append(v)
        return theirs

    alternate.run_rounds(a.rounds, CASES, lambda: alternate.criterion_medians("generate", CASES),
                         other_round)
    if llm is not None:
        print("llama.cpp (GGUF Q4_1 kept quantized), median of rounds:")
        for c in CASES:
            print(f"  {c:34} llama.cpp {statistics.median(llama_rows[c]):9.3f}")
    print("tokens/s = 1000 / ms per decoding step; prompt tokens/s = 128000 / ms per prompt pass")


if __name__ == "__main__":
    main()
