#!/usr/bin/env python3
"""Writes `tests/fixtures/smollm2_llama_cpp.json`: llama.cpp's (`llama-cpp-python`) tokens for a
few plain prompts and its greedy continuation of 16 tokens on SmolLM2-135M-Instruct's Q4_1 file,
with the logit margin (best minus second best) at each step, for `tests/smollm2_reference.rs`'s
check of the quantized path.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/smollm2_llama_cpp_reference.py
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from compare_minilm import cache_root  # noqa: E402
from compare_quantized import llama_cpp_greedy  # noqa: E402

PROMPTS = ["The capital of France is", "Once upon a time, in a small village,"]
STEPS = 16


def main():
    from llama_cpp import Llama
    import llama_cpp
    gguf = os.path.join(cache_root(), "smollm2-135m-instruct-q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf")
    llm = Llama(model_path=gguf, n_threads=2, n_ctx=256, logits_all=True, verbose=False)
    cases = []
    for text in PROMPTS:
        ids = llm.tokenize(text.encode(), add_bos=False, special=False)
        tokens, logits = llama_cpp_greedy(llm, ids, STEPS)
        margins = [float(np.sort(row)[-1] - np.sort(row)[-2]) for row in logits]
        cases.append({"prompt": text, "prompt_ids": ids, "greedy_ids": tokens, "margins": margins})
    out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures",
                       "smollm2_llama_cpp.json")
    with open(out, "w") as f:
        json.dump({"llama_cpp_python": llama_cpp.__version__, "cases": cases}, f, indent=1)
    print(json.dumps(cases, indent=1)[:1500])


if __name__ == "__main__":
    main()
