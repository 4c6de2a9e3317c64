#!/usr/bin/env python3
"""Writes crates/tinderbox-tokenize/tests/fixtures/keras_tokenizer.json: what Keras'
`Tokenizer(num_words, oov_token)` and `pad_sequences(maxlen)` give for a set of tricky texts,
from the original `keras_preprocessing` package (pip install keras-preprocessing). The Rust test
`keras_ids_match_the_original` compares against it; CI never runs this script.
"""
import json
import os

import numpy as np

if not hasattr(np, "unicode_"):  # keras_preprocessing 1.1.2 predates NumPy 2
    np.unicode_ = np.str_

from keras_preprocessing.sequence import pad_sequences
from keras_preprocessing.text import Tokenizer

FIT = [
    "The movie was great, GREAT fun!",
    "the plot -- such as it is -- drags; the actors don't.",
    "Café au lait? Naïve, but charming.",
    "A film about... nothing at all",
    "Great great great: 10/10 would watch again",
    "tab\tseparated\nand new-lined words",
    "emoji 🎬 and 中文 words, with   extra   spaces",
    "apostrophes aren't filtered; hyphens-are filtered",
    "",
    "   ",
]
QUERY = FIT + [
    "completely unseen words here",
    "THE MOVIE, the movie; the Movie!",
    "a " * 40 + "very long review that ends here",
]


def main():
    out = {"cases": []}
    for num_words in (8, 12, 1000):
        tok = Tokenizer(num_words=num_words, oov_token="<OOV>")
        tok.fit_on_texts(FIT)
        seqs = tok.texts_to_sequences(QUERY)
        out["cases"].append({
            "num_words": num_words,
            "maxlen": 10,
            "sequences": seqs,
            "padded": pad_sequences(seqs, maxlen=10).tolist(),
            "word_index_head": sorted(tok.word_index.items(), key=lambda kv: kv[1])[: num_words + 2],
        })
    out["fit"] = FIT
    out["query"] = QUERY
    path = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "tinderbox-tokenize", "tests",
                        "fixtures", "keras_tokenizer.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
