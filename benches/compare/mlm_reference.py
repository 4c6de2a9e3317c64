"""Reference MLM loss and gradients of a tiny `BertForMaskedLM` from Hugging Face `transformers`,
for tinderbox's tests (tests/mlm_reference.rs).

Writes tests/fixtures/tiny_bert_mlm/{config.json, model.safetensors} (2 layers, hidden 32, random
weights from seed 0, the decoder tied to the word embeddings) and
tests/fixtures/mlm_reference.safetensors: a padded batch, its labels (-100 where not masked), the
loss, and the gradients of a few parameters under their checkpoint names, in float32 on the CPU.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/mlm_reference.py
"""

import os

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForMaskedLM

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "tests", "fixtures")
GRADS = [
    "bert.embeddings.word_embeddings.weight",
    "bert.embeddings.position_embeddings.weight",
    "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.1.output.LayerNorm.weight",
    "cls.predictions.transform.dense.weight",
    "cls.predictions.transform.LayerNorm.bias",
    "cls.predictions.bias",
]


def main():
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = BertForMaskedLM(config).float()
    # Non-zero biases and LayerNorm shifts, so that their gradients are checked too.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name:
                p.add_(0.1 * torch.randn_like(p))
    model.eval()
    model.save_pretrained(os.path.join(FIXTURES, "tiny_bert_mlm"), safe_serialization=True)

    input_ids = torch.tensor([
        [2, 17, 33, 9, 41, 5, 60, 12, 3, 0],
        [2, 8, 4, 55, 3, 0, 0, 0, 0, 0],
    ])
    attention_mask = (input_ids != 0).long()
    labels = torch.full_like(input_ids, -100)
    for b, l, original in [(0, 2, 21), (0, 5, 5), (0, 7, 44), (1, 3, 55), (1, 1, 63)]:
        labels[b, l] = original
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    out.loss.backward()
    params = dict(model.named_parameters())
    tensors = {
        "input_ids": input_ids.to(torch.int64),
        "attention_mask": attention_mask.to(torch.int64),
        "labels": labels.to(torch.int64),
        "loss": out.loss.detach().reshape(1),
        "logits": out.logits.detach().contiguous(),
    }
    for name in GRADS:
        tensors[f"grad.{name}"] = params[name].grad.detach().contiguous()
    save_file(tensors, os.path.join(FIXTURES, "mlm_reference.safetensors"))
    print("loss", out.loss.item())


if __name__ == "__main__":
    main()
