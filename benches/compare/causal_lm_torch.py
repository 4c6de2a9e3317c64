"""Hugging Face `GPT2LMHeadModel` trained from a tinderbox causal-LM run's starting weights on
exactly the batches the run trained on, then scored on the run's held-out batches: the held-out
next-token loss after the same number of steps, side by side with ours (the issue's bar: within
2 %).

    # 1. our run (any: the default 30-minute one, or --max-steps N), scored every 100 steps
    cargo run --release --example causal_lm -- --max-steps 600 --out runs/causal_lm
    # 2. its first N batches as it drew them, its held-out batches, and its starting weights
    cargo run --release --example causal_lm -- --max-steps 600 \
        --export-batches runs/causal_lm /tmp/causal-batches.safetensors
    # 3. the same recipe in transformers, printed beside our metrics.csv
    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/causal_lm_torch.py \
        /tmp/causal-batches.safetensors --threads 2 --ours runs/causal_lm

The recipe is the run's own (config metadata): GPT-2 sizes and dropout, AdamW with weight decay
except on biases and LayerNorms, warm-up then linear decay over the steps the run planned
(`get_linear_schedule_with_warmup`), global-norm clipping. The starting weights are the run's
(`FILE.initial/`, written by the export), so the two curves differ only by floating-point
rounding and, with dropout, by the masks drawn.
"""

import argparse
import json
import math
import time

import torch
from safetensors import safe_open
from transformers import GPT2LMHeadModel, get_linear_schedule_with_warmup


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("batches")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--ours", help="our run directory: its metrics.csv is printed alongside")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    with safe_open(args.batches, "pt") as f:
        meta = f.metadata()
        t = {k: f.get_tensor(k) for k in f.keys()}
    run = json.loads(meta["config"])
    train = run["train"]
    batch = train["batch_size"]
    steps = t["train_input_ids"].shape[0] // batch
    planned = int(meta["planned_steps"])

    model = GPT2LMHeadModel.from_pretrained(args.batches + ".initial", attn_implementation="eager")
    no_decay = ("bias", "ln_1.weight", "ln_2.weight", "ln_f.weight")
    optimizer_config = train["optimizer"]
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": optimizer_config["weight_decay"]},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    optim = torch.optim.AdamW(groups, lr=train["lr"], betas=(0.9, 0.999), eps=1e-8)
    schedule = train["schedule"]
    if schedule["kind"] != "warmup_linear":
        raise SystemExit(f"schedule {schedule['kind']} is not compared")
    warmup = schedule["warmup_steps"] or math.ceil(schedule["warmup_ratio"] * planned)
    scheduler = get_linear_schedule_with_warmup(optim, warmup, planned)
    clip = train.get("clip_grad_norm") or 0.0

    ours = {}
    if args.ours:
        with open(f"{args.ours}/metrics.csv") as f:
            header = f.readline().strip().split(",")
            for line in f:
                row = dict(zip(header, line.strip().split(",")))
                ours[int(row["step"])] = (float(row["eval_loss"]), float(row["eval_accuracy"]))

    def evaluate():
        model.eval()
        correct = total = 0
        loss_sum = 0.0
        with torch.no_grad():
            n = t["heldout_input_ids"].shape[0]
            for begin in range(0, n, batch):
                rows = slice(begin, min(begin + batch, n))
                labels = t["heldout_labels"][rows][:, 1:]
                logits = model(
                    input_ids=t["heldout_input_ids"][rows],
                    attention_mask=t["heldout_attention_mask"][rows],
                ).logits[:, :-1]
                chosen = labels != -100
                picked = logits[chosen]
                loss_sum += torch.nn.functional.cross_entropy(
                    picked, labels[chosen], reduction="sum").item()
                correct += (picked.argmax(-1) == labels[chosen]).sum().item()
                total += chosen.sum().item()
        model.train()
        return loss_sum / total, correct / total, total

    model.train()
    seconds = 0.0
    history = []
    worst = 0.0
    for step in range(steps):
        begin = time.perf_counter()
        rows = slice(step * batch, (step + 1) * batch)
        out = model(
            input_ids=t["train_input_ids"][rows],
            attention_mask=t["train_attention_mask"][rows],
            labels=t["train_labels"][rows],
        )
        optim.zero_grad()
        out.loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optim.step()
        scheduler.step()
        seconds += time.perf_counter() - begin
        done = step + 1
        if done % args.eval_every == 0 or done == steps:
            loss, accuracy, total = evaluate()
            entry = {"step": done, "heldout_loss": loss, "heldout_accuracy": accuracy,
                     "train_loss": out.loss.item()}
            line = f"step {done}: transformers held-out loss {loss:.4f} accuracy {accuracy:.4f}"
            if done in ours:
                gap = (ours[done][0] - loss) / loss
                worst = max(worst, abs(gap))
                entry["tinderbox_heldout_loss"] = ours[done][0]
                line += f" | tinderbox loss {ours[done][0]:.4f} ({gap * 100:+.2f} %)"
            history.append(entry)
            print(line, flush=True)
    print(json.dumps({
        "steps": steps,
        "planned_steps": planned,
        "warmup_steps": warmup,
        "threads": torch.get_num_threads(),
        "heldout_tokens": total,
        "train_seconds": seconds,
        "tokens_per_second": steps * batch * t["train_input_ids"].shape[1] / seconds,
        "largest_loss_gap": worst,
        "history": history,
    }))


if __name__ == "__main__":
    main()
