"""Hugging Face `BertForMaskedLM` trained on exactly the batches a tinderbox MLM run trained on,
then scored on the run's held-out batches (same masks): the held-out masked accuracy after the
same number of steps, side by side with ours.

    # 1. our run (any: the default 30-minute one, or --max-steps N), scored every 100 steps
    cargo run --release --example mlm -- --out runs/mlm
    # 2. its first N batches, as it drew them, and its held-out batches
    cargo run --release --example mlm -- --init runs/mlm --max-steps 400 \
        --export-batches /tmp/mlm-batches.safetensors
    # 3. the same recipe in transformers, scored at the same steps, printed beside our metrics.csv
    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/mlm_accuracy_torch.py \
        /tmp/mlm-batches.safetensors --threads 2 --ours runs/mlm

The recipe is the run's own (config metadata): BERT sizes and dropout, AdamW with weight decay
0.01 except biases and LayerNorm weights, warm-up over the run's share of the steps then linear
decay over the steps the run planned (`get_linear_schedule_with_warmup`), global-norm clipping at 1.0. Only the initial weights
differ (each library's own draw from normal(0, the run's initializer_range)); a run that starts its
position table from sinusoids, or its first layers' heads on the neighbouring tokens, starts this
model the same way.
"""

import argparse
import json
import math
import time

import torch
from safetensors import safe_open
from transformers import BertConfig, BertForMaskedLM, get_linear_schedule_with_warmup


def sinusoids(positions, hidden, rms):
    """tinderbox_nn::transformer::sinusoidal_table: sin at even columns, cos at odd ones,
    frequency 10000^(-2 floor(c / 2) / hidden), scaled to root mean square `rms`."""
    column = torch.arange(hidden, dtype=torch.float64)
    frequency = 10000.0 ** (-(2 * torch.div(column, 2, rounding_mode="floor")) / hidden)
    angle = torch.arange(positions, dtype=torch.float64)[:, None] * frequency[None, :]
    waves = torch.where(column.long() % 2 == 0, torch.sin(angle), torch.cos(angle))
    return (waves * rms * math.sqrt(2.0)).float()


def fourier_table(positions, hidden, pairs, rms):
    """tinderbox_nn::transformer::fourier_table: column pair c holds sin and cos of
    p * pi * (c mod pairs + 1/2) / pairs, every second copy of the frequencies negated."""
    pair = torch.arange(hidden, dtype=torch.float64).div(2, rounding_mode="floor")
    frequency = math.pi * (pair % pairs + 0.5) / pairs
    sign = 1.0 - 2.0 * (pair.div(pairs, rounding_mode="floor") % 2)
    angle = torch.arange(positions, dtype=torch.float64)[:, None] * frequency[None, :]
    column = torch.arange(hidden)
    waves = torch.where(column % 2 == 0, torch.sin(angle), torch.cos(angle))
    return (waves * sign * rms * math.sqrt(2.0)).float()


def start_local_attention(model, local):
    """BertModel::with_local_heads_init: the Fourier position table at the word table's root
    mean square, and query/key weights of the first layers that aim head h at its offset."""
    config = model.config
    hidden = config.hidden_size
    width = hidden // config.num_attention_heads
    pairs = width // 2
    embeddings = model.bert.embeddings
    rms = lambda t: t.double().pow(2).mean().sqrt().item()
    word_rms = rms(embeddings.word_embeddings.weight)
    type_rms = rms(embeddings.token_type_embeddings.weight[:1])
    table = embeddings.position_embeddings.weight
    table.copy_(fourier_table(table.shape[0], hidden, pairs, word_rms))
    amplitude = math.sqrt(2.0) * word_rms / math.sqrt(2 * word_rms**2 + type_rms**2)
    copies = hidden // width
    gain = math.sqrt(local["peak_logit"] * math.sqrt(width) / pairs) / (copies * amplitude)
    # torch's Linear weight is [out, in].
    query = torch.zeros(hidden, hidden, dtype=torch.float64)
    key = torch.zeros(hidden, hidden, dtype=torch.float64)
    offsets = local["offsets"]
    for head in range(hidden // width):
        offset = offsets[head % len(offsets)]
        for pair in range(hidden // 2):
            k = pair % pairs
            g = gain * (1.0 if (pair // pairs) % 2 == 0 else -1.0)
            angle = math.pi * (k + 0.5) / pairs * offset
            s_in, c_in = 2 * pair, 2 * pair + 1
            s_out, c_out = head * width + 2 * k, head * width + 2 * k + 1
            query[s_out, s_in] += g * math.cos(angle)
            query[s_out, c_in] += g * math.sin(angle)
            query[c_out, s_in] -= g * math.sin(angle)
            query[c_out, c_in] += g * math.cos(angle)
            key[s_out, s_in] += g
            key[c_out, c_in] += g
    for layer in model.bert.encoder.layer[: local["layers"]]:
        layer.attention.self.query.weight.copy_(query.float())
        layer.attention.self.key.weight.copy_(key.float())


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
    bert = run["model"]
    if bert.get("kind") != "bert":
        raise SystemExit("the run is not a BERT run")
    train = run["train"]
    batch = train["batch_size"]
    steps = t["train_input_ids"].shape[0] // batch
    planned = int(meta["planned_steps"])

    config = BertConfig(
        vocab_size=int(meta["vocab_size"]),
        hidden_size=bert["hidden_size"],
        num_hidden_layers=bert["num_hidden_layers"],
        num_attention_heads=bert["num_attention_heads"],
        intermediate_size=bert["intermediate_size"],
        hidden_act=bert["hidden_act"],
        hidden_dropout_prob=bert["hidden_dropout_prob"],
        attention_probs_dropout_prob=bert["attention_probs_dropout_prob"],
        max_position_embeddings=bert["max_position_embeddings"],
        type_vocab_size=bert["type_vocab_size"],
        layer_norm_eps=bert["layer_norm_eps"],
        pad_token_id=int(meta["pad_token_id"]),
        initializer_range=bert.get("initializer_range", 0.02),
    )
    model = BertForMaskedLM(config)
    # As PretrainedMlm::init: the local start brings its own position table.
    with torch.no_grad():
        local = run.get("local_heads") or run.get("local_attention")
        if local:
            start_local_attention(model, local)
        elif run.get("sinusoidal_positions", False):
            table = model.bert.embeddings.position_embeddings.weight
            table.copy_(sinusoids(*table.shape, config.initializer_range))

    optimizer_config = train["optimizer"]
    no_decay = ("bias", "LayerNorm.weight")
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
                ours[int(row["step"])] = (float(row["eval_accuracy"]), float(row["eval_loss"]))

    def evaluate():
        model.eval()
        correct = total = 0
        loss_sum = 0.0
        with torch.no_grad():
            n = t["heldout_input_ids"].shape[0]
            for begin in range(0, n, batch):
                rows = slice(begin, min(begin + batch, n))
                labels = t["heldout_labels"][rows]
                logits = model(
                    input_ids=t["heldout_input_ids"][rows],
                    attention_mask=t["heldout_attention_mask"][rows],
                ).logits
                chosen = labels != -100
                picked = logits[chosen]
                loss_sum += torch.nn.functional.cross_entropy(
                    picked, labels[chosen], reduction="sum").item()
                correct += (picked.argmax(-1) == labels[chosen]).sum().item()
                total += chosen.sum().item()
        model.train()
        return correct / total, loss_sum / total, total

    model.train()
    seconds = 0.0
    history = []
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
            accuracy, loss, total = evaluate()
            history.append({"step": done, "heldout_masked_accuracy": accuracy,
                            "heldout_loss": loss, "train_loss": out.loss.item()})
            line = f"step {done}: transformers held-out accuracy {accuracy:.4f} loss {loss:.4f}"
            if done in ours:
                line += (f" | tinderbox {ours[done][0]:.4f} loss {ours[done][1]:.4f}"
                         f" ({(ours[done][0] - accuracy) * 100:+.2f} points)")
            print(line, flush=True)
    print(json.dumps({
        "steps": steps,
        "planned_steps": planned,
        "warmup_steps": warmup,
        "threads": torch.get_num_threads(),
        "heldout_masked_tokens": total,
        "train_seconds": seconds,
        "tokens_per_second": steps * batch * t["train_input_ids"].shape[1] / seconds,
        "history": history,
    }))

if __name__ == "__main__":
    main()
