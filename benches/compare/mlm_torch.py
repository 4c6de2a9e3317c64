"""Hugging Face `BertForMaskedLM` on PyTorch CPU, the twin of tinderbox's `benches/mlm.rs`: one
training step of BERT-mini (4 layers, hidden 256, 4 heads, FFN 1024, vocabulary 8,192 unless
--vocab) at batch 32 x 128 with 15 % of the tokens labelled, AdamW, clipping at 1.0. Prints the
median of --rounds steps and tokens/s. `transformers` projects every position onto the vocabulary.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/mlm_torch.py --threads 2
"""

import argparse
import json
import statistics
import time

import torch
from transformers import BertConfig, BertForMaskedLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch, length = 32, 128
    config = BertConfig(
        vocab_size=args.vocab,
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
        max_position_embeddings=length,
    )
    model = BertForMaskedLM(config).train()
    ids = torch.randint(5, args.vocab, (batch, length))
    ids[:, 0], ids[:, -1] = 2, 3
    chosen = torch.rand(batch, length) < 0.15
    chosen[:, 0] = chosen[:, -1] = False
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    inputs = torch.where(chosen, torch.full_like(ids, 4), ids)
    mask = torch.ones_like(ids)
    optim = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01)

    def step():
        optim.zero_grad()
        loss = model(input_ids=inputs, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        loss.item()

    step()  # warm-up
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(json.dumps({
        "threads": torch.get_num_threads(),
        "vocab": args.vocab,
        "train_step_ms": median * 1000,
        "tokens_per_second": batch * length / median,
    }))


if __name__ == "__main__":
    main()
