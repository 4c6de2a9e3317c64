#!/usr/bin/env python3
"""all-MiniLM-L6-v2 embeddings of 2,000 Rotten Tomatoes snippets, in f32 and int8, on the same
threads and batches (32 sentences, sorted by length, each batch padded to its longest):

- tinderbox: `examples/sentence_embeddings.rs`, plain and `--int8` (the time is its
  `summary.json`'s `seconds`: tokenizing and embedding, the model already loaded);
- PyTorch + transformers: f32, and `torch.ao.quantization.quantize_dynamic` on every
  `nn.Linear` (int8 weights per tensor, PyTorch's default; `--per-channel` for per channel);
- ONNX Runtime: the f32 model exported to ONNX, every graph optimisation on.

The sides alternate, round after round (the machine is shared and noisy); the script prints
each round's seconds, the medians, the ratios to tinderbox's f32 and int8 times, and how close
each int8 path's embeddings are to its own f32 ones (lowest and mean cosine over the 2,000).

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/compare_int8.py --rounds 3
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import alternate  # noqa: E402
from minilm_torch import rotten_tomatoes  # noqa: E402

BATCH = 32


def cache_root():
    if os.environ.get("TINDERBOX_CACHE"):
        return os.environ["TINDERBOX_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "tinderbox")


def batches(tokenizer, texts, max_length):
    """Index batches of `BATCH` texts in order of token count, as tinderbox's `embed` makes."""
    lengths = [len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    return [order[i:i + BATCH] for i in range(0, len(order), BATCH)]


def pooled(hidden, mask):
    mask = mask[..., None].astype(np.float32)
    mean = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
    return mean / np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12, None)


def embed_with(run_batch, tokenizer, texts, max_length):
    """Seconds to tokenize and embed `texts`, and the embeddings in the order given."""
    start = time.perf_counter()
    out = [None] * len(texts)
    for chunk in batches(tokenizer, texts, max_length):
        enc = tokenizer([texts[i] for i in chunk], padding=True, truncation=True,
                        max_length=max_length, return_tensors="np")
        vectors = run_batch(enc)
        for i, v in zip(chunk, vectors):
            out[i] = v
    return time.perf_counter() - start, np.stack(out)


def torch_runner(model):
    def run(enc):
        with torch.inference_mode():
            ids = torch.from_numpy(enc["input_ids"])
            mask = torch.from_numpy(enc["attention_mask"])
            types = torch.from_numpy(enc["token_type_ids"])
            hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            return pooled(hidden.numpy(), enc["attention_mask"])
    return run


def onnx_runner(model, threads, workdir):
    import onnxruntime as ort
    path = os.path.join(workdir, "minilm.onnx")
    ids = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "batch", 1: "length"}

    class Encoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    torch.onnx.export(Encoder(model), (ids, ids, torch.zeros_like(ids)), path, dynamo=False,
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=17,
                      dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                    "token_type_ids": axes, "last_hidden_state": axes})
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def run(enc):
        feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
        hidden = session.run(None, feeds)[0]
        return pooled(hidden, enc["attention_mask"])
    return run, ort.__version__


def tinderbox_embed(binary, model_dir, input_file, workdir, int8):
    out = os.path.join(workdir, "int8" if int8 else "f32")
    cmd = [binary, "--model", model_dir, "--input", input_file, "--json", "--out", out]
    if int8:
        cmd.append("--int8")
    result = subprocess.run(cmd, check=True, capture_output=True, text=True)
    embeddings = np.array(json.loads(result.stdout)["embeddings"], dtype=np.float32)
    with open(os.path.join(out, "summary.json")) as f:
        return json.load(f)["seconds"], embeddings


def cosines(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sentences", type=int, default=2000)
    p.add_argument("--model", default=os.path.join(cache_root(), "all-minilm-l6-v2"))
    p.add_argument("--per-channel", action="store_true",
                   help="PyTorch's int8 weights per output channel (as tinderbox's) instead of per tensor")
    p.add_argument("--no-onnx", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.environ["RAYON_NUM_THREADS"] = str(a.threads)

    from transformers import AutoModel, AutoTokenizer
    texts, _ = rotten_tomatoes(cache_root())
    texts = [t.replace("\n", " ").replace("\r", " ").strip() for t in texts if t.strip()][:a.sentences]
    tokenizer = AutoTokenizer.from_pretrained(a.model)
    max_length = 256  # sentence_bert_config.json's max_seq_length
    model = AutoModel.from_pretrained(a.model, dtype=torch.float32).eval()
    qconfig = None
    if a.per_channel:
        from torch.ao.quantization import per_channel_dynamic_qconfig
        qconfig = {torch.nn.Linear: per_channel_dynamic_qconfig}
    int8_model = torch.ao.quantization.quantize_dynamic(
        AutoModel.from_pretrained(a.model, dtype=torch.float32).eval(),
        qconfig or {torch.nn.Linear}, dtype=torch.qint8)

    subprocess.run(["cargo", "build", "--release", "--example", "sentence_embeddings"],
                   cwd=alternate.ROOT, check=True)
    binary = os.path.join(alternate.target_dir(), "release", "examples", "sentence_embeddings")
    workdir = tempfile.mkdtemp(prefix="compare-int8-")
    input_file = os.path.join(workdir, "snippets.txt")
    with open(input_file, "w") as f:
        f.write("\n".join(texts) + "\n")

    sides = {
        "tinderbox f32": lambda: tinderbox_embed(binary, a.model, input_file, workdir, False),
        "tinderbox int8": lambda: tinderbox_embed(binary, a.model, input_file, workdir, True),
        "torch f32": lambda: embed_with(torch_runner(model), tokenizer, texts, max_length),
        "torch int8": lambda: embed_with(torch_runner(int8_model), tokenizer, texts, max_length),
    }
    versions = f"torch {torch.__version__}"
    if not a.no_onnx:
        # Exported from its own copy: tracing leaves the model it traces changed.
        fresh = AutoModel.from_pretrained(a.model, dtype=torch.float32).eval()
        run, version = onnx_runner(fresh, a.threads, workdir)
        sides["onnxruntime f32"] = lambda: embed_with(run, tokenizer, texts, max_length)
        versions += f", onnxruntime {version}"
    print(f"{len(texts)} snippets, {a.threads} threads, {versions}; seconds per side", flush=True)

    times = {name: [] for name in sides}
    embeddings = {}
    for r in range(a.rounds):
        for name, side in sides.items():
            seconds, vectors = side()
            times[name].append(seconds)
            embeddings[name] = vectors
        print(f"round {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f}" for n in sides), flush=True)

    medians = {n: statistics.median(t) for n, t in times.items()}
    print("medians (s) and ratios to tinderbox f32 / int8 (above 1: slower than tinderbox):")
    for name, m in medians.items():
        print(f"  {name:16} {m:7.2f}  {len(texts) / m:7.0f} sentences/s  "
              f"x{m / medians['tinderbox f32']:.2f} / x{m / medians['tinderbox int8']:.2f}")
    for pair in [("tinderbox int8", "tinderbox f32"), ("torch int8", "torch f32"),
                 ("tinderbox f32", "torch f32")]:
        c = cosines(embeddings[pair[0]], embeddings[pair[1]])
        print(f"cosine {pair[0]} to {pair[1]}: lowest {c.min():.5f}, mean {c.mean():.5f}, "
              f"below 0.99: {(c < 0.99).sum()}")


if __name__ == "__main__":
    main()
