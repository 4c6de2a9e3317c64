"""Reference outputs of SmolLM2-135M-Instruct (GGUF Q4_1, the file `generate` fetches) from
Hugging Face `transformers`' own GGUF loader (it dequantizes every tensor to float32), for the
generation tests: tests/fixtures/smollm2_reference.json and .safetensors.

For each prompt: the prompt's ids, the logits at its last position (float32, full vocabulary; for
the first two prompts), and the greedy continuation of 32 tokens (`generate(do_sample=False)`).
Also the chat template rendered by `apply_chat_template` for two conversations, and beam search
(3 beams, 12 new tokens, two returned) on the first prompt.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/smollm2_reference.py [GGUF]

GGUF defaults to the cached file (`$TINDERBOX_CACHE` or ~/.cache/tinderbox).
"""

import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "tests", "fixtures")
CACHE = os.environ.get("TINDERBOX_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tinderbox")
DEFAULT = os.path.join(CACHE, "smollm2-135m-instruct-q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf")

PLAIN = [
    "The capital of France is",
    "def fibonacci(n):\n    ",
    "Once upon a time, in a café near the sea 🌊,",
]
CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are terse."},
     {"role": "user", "content": "Name three colours."},
     {"role": "assistant", "content": "Red, green, blue."},
     {"role": "user", "content": "Two more?"}],
]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    folder, name = os.path.split(path)
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    chats = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
             for c in CONVERSATIONS]
    prompts = PLAIN + [chats[0]]
    cases, tensors = [], {}
    for i, text in enumerate(prompts):
        ids = tok(text, return_tensors="pt", add_special_tokens=False).input_ids
        with torch.no_grad():
            logits = model(ids).logits[0, -1].float().numpy()
            out = model.generate(ids, max_new_tokens=32, do_sample=False,
                                 pad_token_id=tok.pad_token_id)
        new = out[0, ids.shape[1]:].tolist()
        top = np.argsort(-logits)[:2]
        cases.append({"text": text, "prompt_ids": ids[0].tolist(), "greedy_ids": new,
                      "greedy_text": tok.decode(new),
                      "top_margin": float(logits[top[0]] - logits[top[1]])})
        if i < 2 or i == len(prompts) - 1:
            tensors[f"logits.{i}"] = np.ascontiguousarray(logits)
        print(repr(text[:40]), "->", repr(tok.decode(new)))
    ids = tok(PLAIN[0], return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad():
        beams = model.generate(ids, max_new_tokens=12, num_beams=3, num_return_sequences=2,
                               do_sample=False, length_penalty=1.0, early_stopping=False,
                               pad_token_id=tok.pad_token_id, output_scores=True,
                               return_dict_in_generate=True)
    beam = {"text": PLAIN[0], "num_beams": 3, "max_new_tokens": 12,
            "sequences": [row[ids.shape[1]:].tolist() for row in beams.sequences],
            "scores": beams.sequences_scores.tolist()}
    print("beams", [tok.decode(s) for s in beam["sequences"]], beam["scores"])
    with open(os.path.join(FIXTURES, "smollm2_reference.json"), "w") as f:
        json.dump({"gguf_sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                   "cases": cases,
                   "beam_search": beam,
                   "chat": [{"messages": c, "rendered": r} for c, r in zip(CONVERSATIONS, chats)]},
                  f, indent=1, ensure_ascii=False)
        f.write("\n")
    save_file(tensors, os.path.join(FIXTURES, "smollm2_reference.safetensors"))


if __name__ == "__main__":
    main()
