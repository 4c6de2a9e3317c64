#!/usr/bin/env python3
"""Servers under the same load, alternating, one at a time on the same machine: tinderbox's
`serve` example against infinity-emb (PyPI, a Python embedding server with dynamic batching, on
PyTorch) for MiniLM embeddings, and against llama-cpp-python's OpenAI server for SmolLM2 chat
(same GGUF file; llama.cpp runs its 4-bit weights, we dequantize them to f32). Each server gets 2
threads; the load is `crates/tinderbox-serve/examples/load.rs` at concurrency 1, 8 and 32.

    cargo build --release --example serve && cargo build --release -p tinderbox-serve --example load
    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/compare_serving.py --rounds 2

infinity-emb pins transformers 4 and numpy 1, which the comparison venv's other scripts must not
get; it lives in its own folder on PYTHONPATH (`--infinity-path`), installed with
`pip install --target DIR --no-deps infinity_emb==0.0.78 transformers==4.57.6
sentence-transformers==3.4.1 tokenizers==0.22.2 numpy==1.26.4 ...` (the rest of its
requirements as `pip install --dry-run "infinity-emb[server,torch]"` lists them).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("TINDERBOX_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tinderbox")


def target_dir():
    return os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")


def wait_ready(url, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up")


def load(url, endpoint, concurrency, requests, seconds, max_tokens):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [os.path.join(target_dir(), "release/examples/load"), "--url", url, "--endpoint", endpoint,
             "--concurrency", ",".join(map(str, concurrency)), "--requests", str(requests),
             "--seconds", str(seconds), "--max-tokens", str(max_tokens), "--json", out.name],
            check=True, stdout=subprocess.DEVNULL)
        return json.load(open(out.name))["rows"]


def serve(command, env=None):
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})


def measure(name, command, url, endpoint, a, env=None):
    server = serve(command, env)
    try:
        wait_ready(url)
        rows = load(url, endpoint, a.concurrency, a.requests if endpoint != "chat" else a.chat_requests,
                    a.seconds, a.max_tokens)
    finally:
        server.terminate()
        server.wait(timeout=60)
    for row in rows:
        row["server"] = name
        row["endpoint"] = endpoint
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--requests", type=int, default=600)
    p.add_argument("--chat-requests", type=int, default=64)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--infinity-path", default=os.path.expanduser("~/.cache/tinderbox-compare/infinity"))
    p.add_argument("--skip", nargs="*", default=[], choices=["embeddings", "chat"])
    a = p.parse_args()
    serve_bin = os.path.join(target_dir(), "release/examples/serve")
    minilm = os.path.join(CACHE, "all-minilm-l6-v2")
    gguf = os.path.join(CACHE, "smollm2-135m-instruct-q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf")
    threads = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "RAYON_NUM_THREADS": "2"}
    rows = []
    for r in range(a.rounds):
        if "embeddings" not in a.skip:
            rows += measure("tinderbox", [serve_bin, "--embeddings", "minilm", "--port", "8101",
                                          "--out", tempfile.mkdtemp()],
                            "http://127.0.0.1:8101", "embeddings", a, threads)
            rows += measure("infinity-emb", [sys.executable, "-m", "infinity_emb.cli", "v2",
                                             "--model-id", minilm, "--engine", "torch", "--device", "cpu",
                                             "--port", "8102", "--url-prefix", "/v1", "--batch-size", "32",
                                             "--no-model-warmup"],
                            "http://127.0.0.1:8102", "embeddings", a,
                            {**threads, "PYTHONPATH": a.infinity_path, "INFINITY_ANONYMOUS_USAGE_STATS": "0"})
        if "chat" not in a.skip:
            rows += measure("tinderbox", [serve_bin, "--generator", "smollm2", "--port", "8103",
                                          "--out", tempfile.mkdtemp()],
                            "http://127.0.0.1:8103", "chat", a, threads)
            rows += measure("llama-cpp-python", [sys.executable, "-m", "llama_cpp.server", "--model", gguf,
                                                 "--n_threads", "2", "--n_threads_batch", "2", "--n_ctx", "2048",
                                                 "--port", "8104"],
                            "http://127.0.0.1:8104", "chat", a, threads)
        print(f"round {r + 1} done", file=sys.stderr)
    print("| server | endpoint | concurrency | requests/s | texts or tokens/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['server']} | {row['endpoint']} | {row['concurrency']} | {row['requests_per_second']:.1f} | {row['units_per_second']:.1f}"
              f" | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} |")
    json.dump(rows, open(os.path.join(tempfile.gettempdir(), "compare_serving.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
