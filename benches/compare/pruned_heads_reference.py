"""Our structurally pruned BERT against Hugging Face `transformers` running the same weights.

`examples/prune.rs` saves each pruned encoder as a Hugging Face folder: config.json lists the
removed heads (`pruned_heads`, original indices, as transformers 4 wrote them) and each layer's
feed-forward width (`intermediate_sizes`, ours), and model.safetensors holds the smaller
matrices. transformers 5 no longer prunes heads when it loads a config, so this script builds
its `BertModel` at the full size, swaps each layer's dense layers for ones of the pruned widths
(its attention infers the number of heads from the width), loads the file strictly, and embeds
the same sentences as our `sentence_embeddings --model DIR --json` (mean pooling, L2
normalisation, as sentence-transformers runs MiniLM). It prints the largest difference.

    python benches/compare/pruned_heads_reference.py runs/prune/rt-minilm/heads-0.50-ffn-0.50/encoder
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, BertConfig, BertModel

SENTENCES = [
    "A joy from start to end.",
    "The plot is thin and the jokes fall flat, but the cast is game.",
    "An overlong, self-indulgent mess.",
    "Quietly moving, with two of the year's best performances.",
]


def ours(binary: Path, folder: Path) -> list[list[float]]:
    out = subprocess.run(
        [str(binary), "--model", str(folder), "--json", *SENTENCES],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["embeddings"]


def pruned_bert(folder: Path) -> torch.nn.Module:
    config = json.loads((folder / "config.json").read_text())
    pruned = {int(k): v for k, v in config.pop("pruned_heads", {}).items()}
    widths = config.pop("intermediate_sizes", None)
    full = BertConfig(**config)
    model = BertModel(full, add_pooling_layer=config.get("add_pooler", True))
    head = full.hidden_size // full.num_attention_heads
    hidden = full.hidden_size
    for i, layer in enumerate(model.encoder.layer):
        width = (full.num_attention_heads - len(pruned.get(i, []))) * head
        attention = layer.attention.self
        attention.query = torch.nn.Linear(hidden, width)
        attention.key = torch.nn.Linear(hidden, width)
        attention.value = torch.nn.Linear(hidden, width)
        layer.attention.output.dense = torch.nn.Linear(width, hidden)
        ffn = widths[i] if widths else full.intermediate_size
        layer.intermediate.dense = torch.nn.Linear(hidden, ffn)
        layer.output.dense = torch.nn.Linear(ffn, hidden)
    model.load_state_dict(load_file(folder / "model.safetensors"), strict=True)
    return model.eval()


def theirs(folder: Path) -> torch.Tensor:
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = pruned_bert(folder)
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(mean, dim=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--binary",
        type=Path,
        default=Path.home() / ".cache/tinderbox-ci/target/release/examples/sentence_embeddings",
    )
    args = parser.parse_args()
    config = json.loads((args.folder / "config.json").read_text())
    reference = theirs(args.folder)
    mine = torch.tensor(ours(args.binary, args.folder))
    heads = {k: len(v) for k, v in config.get("pruned_heads", {}).items()}
    diff = (mine - reference).abs().max().item()
    cosine = torch.nn.functional.cosine_similarity(mine, reference).min().item()
    print(f"heads removed per layer: {heads}, feed-forward widths {config.get('intermediate_sizes')}")
    print(f"max |ours - transformers| = {diff:.2e}, lowest cosine {cosine:.8f}")
    return 0 if diff < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
