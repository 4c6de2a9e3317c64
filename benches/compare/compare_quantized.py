#!/usr/bin/env python3
"""SmolLM2-135M-Instruct's GGUF file (Q4_1 matrices, Q8_0 embedding) kept quantized, tinderbox
against llama.cpp (`llama-cpp-python`, built from PyPI) on the same file and threads:

1. greedy continuations: 16 new tokens of a few prompts, from the same prompt ids; where they
   diverge, llama.cpp's logit margin between its token and ours is printed;
2. speed, alternating rounds: the prompt pass over 128 tokens and one decoding step at a context
   of 128 to 256 tokens (`cargo bench --bench generate`, its `_quantized` group), medians in ms;
3. peak resident memory of a whole run (128-token prompt, 128 new tokens): our generate example,
   and llama.cpp in a fresh Python process (with Python's own footprint printed beside it).

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/compare_quantized.py --rounds 3
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import alternate  # noqa: E402
from compare_generate import NEW, PROMPT, arguments, llama_cpp_round  # noqa: E402

GROUP = "smollm2_135m_b1_quantized"
CASES = [f"{GROUP}/prompt_128", f"{GROUP}/decode_step_ctx128_256"]
PROMPTS = [
    ("plain", "The capital of France is"),
    ("plain", "def fibonacci(n):"),
    ("plain", "Once upon a time, in a small village,"),
    ("chat", "What are three good reasons to learn Rust? Answer briefly."),
    ("chat", "Name three rivers in Europe."),
]
GREEDY_TOKENS = 16


def example(args):
    """Runs the generate example with `args` and returns its summary."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["cargo", "run", "--release", "--quiet", "--example", "generate", "--",
                        "--out", out] + args, cwd=alternate.ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "summary.json")) as f:
            return json.load(f)


def llama_cpp_greedy(llm, ids, steps):
    """Greedy tokens from llama.cpp's own logits, with each step's logits."""
    llm.reset()
    llm.eval(ids)
    tokens, logits = [], []
    for _ in range(steps):
        row = np.array(llm.scores[llm.n_tokens - 1])
        token = int(row.argmax())
        tokens.append(token)
        logits.append(row)
        llm.eval([token])
    return tokens, logits


def greedy(llm):
    print(f"greedy continuations, {GREEDY_TOKENS} new tokens:")
    for kind, text in PROMPTS:
        ours = example(["--greedy", "--json", "--max-new-tokens", str(GREEDY_TOKENS), "--prompt",
                        text] + (["--chat"] if kind == "chat" else []))
        ids = ours["prompt_ids"][0]
        got = ours["sequences"][0]["generated_ids"]
        theirs, logits = llama_cpp_greedy(llm, ids, len(got))
        same = next((i for i, (a, b) in enumerate(zip(got, theirs)) if a != b), None)
        label = f"  {kind:5} {text[:40]!r:44}"
        if same is None:
            print(f"{label} identical ({len(got)} tokens)")
        else:
            row = logits[same]
            print(f"{label} diverge at token {same}: llama.cpp {theirs[same]} ours {got[same]}, "
                  f"llama.cpp's margin {row[theirs[same]] - row[got[same]]:.4f}")


# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report the
# parent's peak.
MEMORY = """
import sys
def peak_mib():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
from llama_cpp import Llama
base = peak_mib()
llm = Llama(model_path=sys.argv[1], n_threads=2, n_threads_batch=2, n_ctx={ctx}, n_batch={prompt},
            verbose=False)
llm.eval([1000 + i * 37 % 20000 for i in range({prompt})])
for _ in range({new}):
    llm.eval([4000])
print(base, peak_mib())
"""


def memory(gguf, python):
    prompt = " ".join(["word"] * (PROMPT - 1))
    ours = example(["--greedy", "--prompt", prompt, "--max-new-tokens", str(NEW)])
    script = MEMORY.format(ctx=PROMPT + NEW, prompt=PROMPT, new=NEW)
    out = subprocess.run([python, "-c", script, gguf], check=True, capture_output=True, text=True)
    base, peak = (float(v) for v in out.stdout.split())
    print(f"peak resident memory: tinderbox {ours['peak_rss_mib']:.0f} MiB "
          f"({len(ours['prompt_ids'][0])}-token prompt, {NEW} new); llama.cpp {peak:.0f} MiB "
          f"(of which Python and llama_cpp's import {base:.0f} MiB); ratio {ours['peak_rss_mib'] / peak:.2f}")


def main():
    a = arguments()
    from llama_cpp import Llama
    import llama_cpp
    print(f"llama-cpp-python {llama_cpp.__version__}, {a.threads} threads")
    subprocess.run(["cargo", "build", "--release", "--example", "generate"], cwd=alternate.ROOT,
                   check=True)
    greedy_llm = Llama(model_path=a.gguf, n_threads=a.threads, n_threads_batch=a.threads,
                       n_ctx=512, logits_all=True, verbose=False)
    greedy(greedy_llm)
    del greedy_llm
    memory(a.gguf, sys.executable)
    llm = Llama(model_path=a.gguf, n_threads=a.threads, n_threads_batch=a.threads,
                n_ctx=PROMPT + NEW, n_batch=PROMPT, verbose=False)
    alternate.build("generate")
    print("speed, medians in ms (ratio: tinderbox time / llama.cpp time; below 1 is faster)")
    alternate.run_rounds(a.rounds, CASES,
                         lambda: alternate.criterion_medians("generate", CASES, only=GROUP),
                         lambda: dict(zip(CASES, llama_cpp_round(llm, a.calls).values())))
    print("tokens/s = 1000 / ms per decoding step; prompt tokens/s = 128000 / ms per prompt pass")


if __name__ == "__main__":
    main()
