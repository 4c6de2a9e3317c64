#!/usr/bin/env python3
"""Our explanations against Captum, SHAP and LIME on the same weights (docs/explanations.md).

    cargo build --release --example text_classification --example mnist
    python benches/compare/explain_reference.py --run runs/text_classification --texts 50
    python benches/compare/explain_reference.py --mnist runs/mnist --images 50

Exports the run's classifier (`--export-weights`), asks our example for integrated gradients,
KernelSHAP and LIME on the first N test texts of the run (`--explain --test-texts N --json`),
rebuilds the classifier in PyTorch from the exported weights (the seed LSTM with Keras' gate
order, or the bag of embeddings), and runs on it:
- Captum's LayerIntegratedGradients on the word embeddings: padding ids as the baseline,
  Gauss-Legendre with the same steps, the predicted class's probability;
- shap.KernelExplainer on the same masks (a removed token becomes padding; background: every
  token removed), the same budget, l1_reg=0;
- lime's LimeTextExplainer (bow=False: words by position), the same number of samples.
With --mnist, the seed CNN's integrated gradients on test images (black baseline) against
Captum's IntegratedGradients on its PyTorch twin.
It prints the Pearson correlation of every text's attributions (median, minimum, share at or
above the bar), and for scale the correlation between two seeds of SHAP's and of LIME's own
implementation. Needs torch, numpy, safetensors, captum, shap and lime in the venv outside the
repo (docs/benchmarks.md).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import load_file


def our_binary(args, name="text_classification"):
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    path = os.path.join(target, "release", "examples", name)
    if args.bin and name == "text_classification":
        path = args.bin
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: cargo build --release --example {name}")
    return path


class MnistTwin(torch.nn.Module):
    """The seed CNN (valid 3x3 conv, 2x2 max-pool, ReLU, dense 128, ReLU, dense 10) from our weights."""

    def __init__(self, weights):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, weights["model.conv.weight"].shape[0], 3)
        self.fc1 = torch.nn.Linear(*weights["model.fc1.weight"].shape[::-1])
        self.fc2 = torch.nn.Linear(*weights["model.fc2.weight"].shape[::-1])
        for name, module in (("conv", self.conv), ("fc1", self.fc1), ("fc2", self.fc2)):
            module.weight.data = weights[f"model.{name}.weight"]
            module.bias.data = weights[f"model.{name}.bias"]

    def forward(self, x):
        x = torch.relu(torch.nn.functional.max_pool2d(self.conv(x), 2)).flatten(1)
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), 1)


def compare_mnist(args):
    import captum.attr
    binary = our_binary(args, "mnist")
    images = ",".join(str(i) for i in range(args.images))
    with tempfile.TemporaryDirectory() as tmp:
        weights_file = os.path.join(tmp, "model.safetensors")
        subprocess.run([binary, "--export-weights", args.mnist, weights_file], check=True)
        weights = load_file(weights_file)
        subprocess.run([binary, "--explain", args.mnist, "--images", images, "--method", "ig",
                        "--steps", str(args.steps)], check=True, capture_output=True)
    ours = json.load(open(os.path.join(args.mnist, "explanations", "summary.json")))
    twin = MnistTwin(weights).eval()
    ig = captum.attr.IntegratedGradients(twin)
    rs, gaps = [], []
    for e in ours:
        x = torch.tensor(e["pixels"], dtype=torch.float32).reshape(1, 1, 28, 28)
        with torch.no_grad():
            probs = twin(x)[0]
        target = int(probs.argmax())
        gaps.append(abs(float(probs[target]) - e["probability"]))
        attr = ig.attribute(x, baselines=torch.zeros_like(x), target=target, n_steps=args.steps,
                            method="gausslegendre", internal_batch_size=64)
        rs.append(pearson(e["heat"], attr.sum(1).flatten().detach().numpy()))
    rs = [r for r in rs if r is not None]
    print(f"{len(ours)} test images of {args.mnist}; probability of the twin vs ours: max gap {max(gaps):.2e}")
    print("| comparison | images | median r | min r | share with r >= 0.99 |")
    print("|---|---|---|---|---|")
    print(f"| IG vs Captum IntegratedGradients | {len(rs)} | {statistics.median(rs):.4f} | "
          f"{min(rs):.4f} | {sum(r >= 0.99 for r in rs) / len(rs):.0%} |")


class Twin(torch.nn.Module):
    """The run's classifier from its exported weights: ids [n, L] -> class probabilities.

    The seed LSTM (Keras' gate order i, f, c, o), the bag of embeddings, or a BERT encoder
    (MiniLM, BERT-mini: transformers' BertModel), each mean- or last-pooled as the run was,
    then the dense head (two classes: logits [0, z])."""

    def __init__(self, weights, pad_id, run_config):
        super().__init__()
        keys = sorted(weights)
        kinds = {"encoder.Lstm.": "lstm", "encoder.Bow.": "bow", "encoder.Bert.": "bert"}
        self.kind = next((k for p, k in kinds.items() if any(x.startswith(p) for x in keys)), None)
        if self.kind is None:
            sys.exit(f"no twin for a model holding {keys[:8]}")
        prefix = next(p for p, k in kinds.items() if k == self.kind)
        if self.kind == "bert":
            import transformers
            bert_config = find_bert_config(run_config)
            config = transformers.BertConfig(**bert_config)
            config._attn_implementation = "eager"
            self.bert = transformers.BertModel(config, add_pooling_layer=False).eval()
            state = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
            missing, unexpected = self.bert.load_state_dict(state, strict=False)
            missing = [k for k in missing if "position_ids" not in k]
            unexpected = [k for k in unexpected if not k.startswith("pooler.")]
            if missing or unexpected:
                sys.exit(f"BERT weights do not fit: missing {missing[:5]}, unexpected {unexpected[:5]}")
            self.emb = self.bert.embeddings.word_embeddings
        else:
            self.emb = torch.nn.Embedding.from_pretrained(weights[prefix + "embedding.weight"], freeze=True)
        if self.kind == "lstm":
            self.kernel = weights[prefix + "lstm.kernel"]
            self.recurrent = weights[prefix + "lstm.recurrent_kernel"]
            self.bias = weights[prefix + "lstm.bias"]
        self.dense_w = weights["head.dense.weight"]
        self.dense_b = weights["head.dense.bias"]
        self.pad_id = pad_id
        self.mask = None  # [L] True at padding, set per text

    def forward(self, ids):
        keep = (~self.mask).to(torch.float32)[None, :].expand(ids.shape[0], -1)
        if self.kind == "bert":
            hidden = self.bert(input_ids=ids, attention_mask=keep.long()).last_hidden_state
            pooled = (hidden * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1.0)
        elif self.kind == "lstm":
            x = self.emb(ids)
            h = torch.zeros(x.shape[0], self.recurrent.shape[0], dtype=x.dtype)
            c = torch.zeros_like(h)
            hid = h.shape[1]
            for t in range(x.shape[1]):
                z = x[:, t] @ self.kernel + self.bias + h @ self.recurrent
                i, f = torch.sigmoid(z[:, :hid]), torch.sigmoid(z[:, hid:2 * hid])
                g, o = torch.tanh(z[:, 2 * hid:3 * hid]), torch.sigmoid(z[:, 3 * hid:])
                c = f * c + i * g
                h = o * torch.tanh(c)
            pooled = h
        else:
            x = self.emb(ids)
            pooled = (x * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp(min=1.0)
        logits = pooled @ self.dense_w.T + self.dense_b
        if logits.shape[1] == 1:  # two classes: logits [0, z], as ClassificationHead
            logits = torch.cat([torch.zeros_like(logits), logits], 1)
        return torch.softmax(logits, 1)


def find_bert_config(value):
    """The Hugging Face config.json inside a run's config.json (the object with hidden_size)."""
    if isinstance(value, dict):
        if "hidden_size" in value and "num_hidden_layers" in value:
            return value
        for v in value.values():
            found = find_bert_config(v)
            if found:
                return found
    return None


def pearson(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default="runs/text_classification")
    p.add_argument("--texts", type=int, default=50)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bin")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help="write the per-text correlations here (JSON)")
    p.add_argument("--methods", default="ig,kernelshap,lime",
                   help="which of ig, kernelshap, lime to compare (comma-separated)")
    p.add_argument("--mnist", metavar="RUN", help="compare the image run RUN instead")
    p.add_argument("--images", type=int, default=50)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.mnist:
        return compare_mnist(args)
    import captum.attr
    import lime.lime_text
    import shap

    binary = our_binary(args)
    with tempfile.TemporaryDirectory() as tmp:
        weights_file = os.path.join(tmp, "model.safetensors")
        subprocess.run([binary, "--export-weights", args.run, weights_file], check=True)
        weights = load_file(weights_file)
        run = subprocess.run(
            [binary, "--explain", args.run, "--test-texts", str(args.texts), "--json",
             "--method", args.methods, "--steps", str(args.steps),
             "--samples", str(args.samples), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True)
    ours = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    methods = args.methods.split(",")
    by_method = {m: [e for e in ours if e["method"] == m] for m in methods}
    first = by_method[methods[0]]
    config = json.load(open(os.path.join(args.run, "config.json")))
    tokenizer = json.load(open(os.path.join(args.run, "tokenizer.json")))
    pad_id = next((t["id"] for t in tokenizer.get("added_tokens", [])
                   if t["content"] in ("[PAD]", "<pad>", "<PAD>")), 0)
    twin = Twin(weights, pad_id, config).eval()
    summary = json.load(open(os.path.join(args.run, "summary.json")))
    classes = summary["class_names"]

    rows = {"ig": [], "kernelshap": [], "lime": [], "shap_seeds": [], "lime_seeds": [], "prob_gap": []}
    lig = captum.attr.LayerIntegratedGradients(lambda ids: twin(ids), twin.emb)
    for k, e in enumerate(first):
        if k and k % 10 == 0:
            print(f"{k} of {len(first)} texts", file=sys.stderr, flush=True)
        ids = torch.tensor([e["ids"]])
        positions = e["positions"]
        # Padding is where our batcher padded: outside the tokens, [CLS] and [SEP].
        twin.mask = torch.tensor(e["mask_pad"])
        target = classes.index(e["label"])
        with torch.no_grad():
            prob = float(twin(ids)[0, target])
        rows["prob_gap"].append(abs(prob - e["probability"]))
        base = ids.clone()
        base[0, positions] = pad_id
        if "ig" in by_method:
            attr = lig.attribute(ids, baselines=base, target=target, n_steps=args.steps,
                                 method="gausslegendre", internal_batch_size=64)
            ref = attr.sum(-1)[0, positions].detach().numpy()
            rows["ig"].append(pearson(by_method["ig"][k]["attributions"], ref))

        def masked_scores(masks):
            masks = np.asarray(masks) > 0.5
            batch = ids.repeat(len(masks), 1)
            for r, m in enumerate(masks):
                batch[r, [pos for pos, on in zip(positions, m) if not on]] = pad_id
            with torch.no_grad():
                return twin(batch)[:, target].numpy()

        d = len(positions)
        if "kernelshap" not in by_method:
            continue
        shap_vals = []
        for seed in (args.seed, args.seed + 1):
            np.random.seed(seed)
            explainer = shap.KernelExplainer(masked_scores, np.zeros((1, d)))
            shap_vals.append(explainer.shap_values(np.ones((1, d)), nsamples=args.samples,
                                                   l1_reg=0, silent=True)[0])
        rows["kernelshap"].append(pearson(by_method["kernelshap"][k]["attributions"], shap_vals[0]))
        rows["shap_seeds"].append(pearson(shap_vals[0], shap_vals[1]))

        if "lime" not in by_method:
            continue
        words = " ".join(f"w{i}" for i in range(d))

        def lime_fn(strings):
            masks = [[w == f"w{i}" for i, w in enumerate(s.split(" "))] for s in strings]
            scores = masked_scores(masks)
            out = np.zeros((len(strings), len(classes)))
            out[:, target] = scores
            out[:, (target + 1) % len(classes)] = 1 - scores
            return out

        lime_vals = []
        for seed in (args.seed, args.seed + 1):
            lx = lime.lime_text.LimeTextExplainer(bow=False, split_expression=" ", random_state=seed)
            exp = lx.explain_instance(words, lime_fn, labels=(target,), num_features=d,
                                      num_samples=args.samples)
            vals = np.zeros(d)
            for i, v in exp.as_map()[target]:
                vals[i] = v
            lime_vals.append(vals)
        rows["lime"].append(pearson(by_method["lime"][k]["attributions"], lime_vals[0]))
        rows["lime_seeds"].append(pearson(lime_vals[0], lime_vals[1]))

    print(f"{len(first)} test texts of {args.run} ({twin.kind}); "
          f"probability of the twin vs ours: max gap {max(rows['prob_gap']):.2e}")
    print("| comparison | texts | median r | min r | share with r >= bar |")
    print("|---|---|---|---|---|")
    for name, label, bar in (("ig", "IG vs Captum LayerIntegratedGradients", 0.99),
                             ("kernelshap", "KernelSHAP vs shap.KernelExplainer", 0.9),
                             ("shap_seeds", "shap, seed 0 vs seed 1", 0.9),
                             ("lime", "LIME vs lime.LimeTextExplainer", 0.9),
                             ("lime_seeds", "lime, seed 0 vs seed 1", 0.9)):
        rs = [r for r in rows[name] if r is not None]
        if rs:
            share = sum(r >= bar for r in rs) / len(rs)
            print(f"| {label} | {len(rs)} | {statistics.median(rs):.4f} | {min(rs):.4f} | "
                  f"{share:.0%} (bar {bar}) |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
