"""The small committed model folders that the crates' doc examples load, with reference values
from Hugging Face `transformers`, so that a doctest checks what it shows.

Writes
- crates/tinderbox-nn/tests/fixtures/tiny-sentence-bert/: a 2-layer BERT (hidden 32, random
  weights from seed 0) saved as sentence-transformers saves all-MiniLM-L6-v2 (`BertModel`
  keys, `tokenizer.json`, `sentence_bert_config.json`), and `reference.json`: the mean-pooled,
  L2-normalised embeddings of two sentences and their cosine;
- crates/tinderbox-heads/tests/fixtures/tiny-bert-mlm/: the same vocabulary as a
  `BertForMaskedLM` (seed 1) trained for 300 steps on patterned sentences ("paris is the capital
  of france .", ...) so that its guesses mean something, and `reference.json`: the `fill-mask`
  pipeline's top 3 for a text.

The tokenizer is a 64-token uncased WordPiece in BERT's pipeline, built with `tokenizers`.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/doc_fixtures.py
"""

import json
import os

import torch
from transformers import (BertConfig, BertForMaskedLM, BertModel, PreTrainedTokenizerFast,
                          pipeline)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "a", "man", "is", "eating", "food", ".", "piece", "of", "bread", "president",
    "spoke", "to", "about", "economy", "paris", "capital", "france", "city", "woman", "dog",
    "cat", "runs", "sat", "on", "mat", "in", "park", ",", "!", "?", "and", "was", "he", "she",
    "it", "good", "bad", "movie", "film", "great", "very", "not", "i", "you", "we", "they",
    "##s", "##ing", "##ed", "plays", "music", "guitar", "read", "book", "train", "car", "fast",
    "slow",
]
SENTENCES = ["A man is eating food.", "A man is eating a piece of bread."]
FILL = "Paris is the [MASK] of France."


def tokenizer():
    """BERT's uncased WordPiece pipeline over `VOCAB`, built with `tokenizers` itself."""
    assert len(VOCAB) == 64
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    vocab = {token: i for i, token in enumerate(VOCAB)}
    inner = Tokenizer(WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##"))
    inner.normalizer = normalizers.BertNormalizer(lowercase=True)
    inner.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    inner.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    inner.decoder = decoders.WordPiece(prefix="##")
    return PreTrainedTokenizerFast(
        tokenizer_object=inner, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]",
    )


def config():
    return BertConfig(
        vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )


def save_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def sentence_bert(tok):
    out = os.path.join(ROOT, "crates", "tinderbox-nn", "tests", "fixtures", "tiny-sentence-bert")
    torch.manual_seed(0)
    model = BertModel(config(), add_pooling_layer=True).float().eval()
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    for extra in ["vocab.txt", "special_tokens_map.json", "tokenizer_config.json"]:
        if os.path.exists(os.path.join(out, extra)):
            os.remove(os.path.join(out, extra))
    save_json(os.path.join(out, "sentence_bert_config.json"),
              {"max_seq_length": 16, "do_lower_case": False})
    batch = tok(SENTENCES, padding=True, truncation=True, max_length=16, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    emb = torch.nn.functional.normalize(pooled, p=2, dim=1)
    save_json(os.path.join(out, "reference.json"), {
        "sentences": SENTENCES,
        "input_ids": [ids[:int(m.sum())] for ids, m in
                      zip(batch["input_ids"].tolist(), batch["attention_mask"])],
        "embeddings": emb.tolist(),
        "cosine": float(emb[0] @ emb[1]),
    })
    print("cosine", float(emb[0] @ emb[1]), "first values", emb[0, :3].tolist())


SENTENCES_TO_LEARN = [
    "paris is the capital of france .", "the man is eating food .", "a dog sat on the mat .",
    "the cat sat on the mat .", "she plays music on the guitar .", "he read a book in the park .",
    "the president spoke about the economy .", "the train was very fast .",
    "the car was not slow .", "we read a good book .", "they plays music in the city .",
]


def train_mlm(model, tok):
    """300 AdamW steps of BERT's masking (15 %, always [MASK]) on the patterned sentences."""
    batch = tok(SENTENCES_TO_LEARN, padding=True, return_tensors="pt")
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(2)
    model.train()
    for _ in range(300):
        ids = batch["input_ids"].clone()
        real = (batch["attention_mask"] == 1) & (ids != tok.cls_token_id) & (ids != tok.sep_token_id)
        chosen = (torch.rand(ids.shape, generator=generator) < 0.15) & real
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        ids[chosen] = tok.mask_token_id
        loss = model(input_ids=ids, attention_mask=batch["attention_mask"], labels=labels).loss
        optim.zero_grad()
        loss.backward()
        optim.step()


def bert_mlm(tok):
    out = os.path.join(ROOT, "crates", "tinderbox-heads", "tests", "fixtures", "tiny-bert-mlm")
    torch.manual_seed(1)
    model = BertForMaskedLM(config()).float()
    train_mlm(model, tok)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    for extra in ["vocab.txt", "special_tokens_map.json", "tokenizer_config.json"]:
        if os.path.exists(os.path.join(out, extra)):
            os.remove(os.path.join(out, extra))
    fill = pipeline("fill-mask", model=model, tokenizer=tok, device="cpu")
    top = fill(FILL, top_k=3)
    save_json(os.path.join(out, "reference.json"), {
        "text": FILL,
        "top": [{"token": tok.convert_ids_to_tokens(c["token"]), "id": c["token"],
                 "probability": c["score"]} for c in top],
    })
    print("fill-mask", [(c["token_str"], c["score"]) for c in top])


def main():
    tok = tokenizer()
    sentence_bert(tok)
    bert_mlm(tok)


if __name__ == "__main__":
    main()
