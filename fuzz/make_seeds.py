#!/usr/bin/env python3
"""Writes the fuzz seeds under fuzz/seeds/TARGET/: small real files and corrupt variants.

Run from the repository root: python3 fuzz/make_seeds.py. Needs only the standard library and,
for the BERT config seed, MiniLM's config.json in the tinderbox cache (skipped if absent).
"""
import json
import os
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "seeds"


def write(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def variants(target, name, data):
    """The file, truncated at a third and at one byte short, and with a flipped byte."""
    write(target, name, data)
    write(target, name + ".cut3", data[: len(data) // 3])
    write(target, name + ".short", data[:-1])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    write(target, name + ".flip", bytes(flipped))


def array_pickle(shape, kind, data):
    """What numpy 1.x on Python 2 writes for an array, as in mnist.pkl.gz."""
    out = bytearray(b"cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87Rq\x03(K\x01")
    for d in shape:
        out += b"M" + struct.pack("<H", d)
    out.append(0x84 + len(shape))
    out += b"cnumpy\ndtype\nq\x04U" + bytes([len(kind)]) + kind.encode()
    out += b"K\x00K\x01\x87Rq\x05(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T"
    out += struct.pack("<I", len(data)) + data + b"tb"
    return bytes(out)


def pair(rows, cols, seed):
    images = struct.pack(f"<{rows * cols}f", *[((i * seed) % 256) / 256 for i in range(rows * cols)])
    labels = struct.pack(f"<{rows}q", *[(i * seed) % 10 for i in range(rows)])
    return array_pickle([rows, cols], "f4", images) + array_pickle([rows], "i8", labels) + b"\x86"


def pickles():
    one = b"\x80\x02" + pair(3, 4, 7) + b"."
    variants("pickle", "pair.pkl", one)
    three = b"\x80\x02" + pair(3, 4, 3) + pair(2, 4, 5) + pair(2, 4, 11) + b"\x87."
    variants("pickle", "mnist-like.pkl", three)
    write("pickle", "empty.pkl", b"")
    write("pickle", "none.pkl", b"\x80\x02N.")


def idx(dims, type_code, data):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def idxs():
    images = idx([2, 3, 3], 0x08, bytes(range(18)))
    labels = idx([2], 0x08, bytes([3, 9]))
    # The target splits at byte 0: 255 * 16 / (16 + 4) puts the cut between the two files.
    cut = round(255 * len(images) / (len(images) + len(labels)))
    variants("idx", "pair.idx", bytes([cut]) + images + labels)
    variants("idx", "labels.idx1", bytes([0]) + labels)
    write("idx", "wrong-count.idx", bytes([cut]) + images + idx([3], 0x08, bytes([1, 2])))
    write("idx", "float.idx", bytes([0]) + idx([2], 0x0D, struct.pack(">2f", 1.0, 2.0)))


def texts():
    csv = 'text,label\n"a good film, really",pos\nawful,neg\n"multi\nline",pos\n'
    variants("text_delimited", "reviews.csv", b"\x00" + csv.encode())
    tsv = "label\ttext\npos\tgreat\nneg\tbad\n"
    variants("text_delimited", "reviews.tsv", b"\x01" + tsv.encode())
    write("text_delimited", "ragged.csv", b"\x00text,label\na,b,c\n")
    write("text_delimited", "latin1.csv", b"\x00text,label\ncaf\xe9,pos\n")
    jsonl = '{"text": "good", "label": "pos"}\n{"text": "bad", "label": 0}\n{"text": "x", "label": true}\n'
    variants("text_jsonl", "reviews.jsonl", jsonl.encode())
    write("text_jsonl", "nulls.jsonl", b'{"text": null, "label": 1}\n')
    write("text_jsonl", "nested.jsonl", b'{"text": ["a"], "label": {"a": 1}}\n' + b"[" * 200)
    # Entries split on 0xFF; the first byte of each picks its folder.
    write("text_folder", "classes.bin", b"\x01great film\xff\x02dull\xff\x01fine\xff\x00top\xff\x05hidden")
    write("text_folder", "latin1.bin", b"\x03caf\xe9\xff\x04ok")


def configs():
    minilm = Path.home() / ".cache/tinderbox/all-minilm-l6-v2/config.json"
    base = json.loads(minilm.read_text()) if minilm.exists() else {
        "vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
        "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
        "max_position_embeddings": 512, "type_vocab_size": 2}
    variants("bert_config", "minilm.json", json.dumps(base, indent=2).encode())
    for name, change in [
        ("act", {"hidden_act": "swish"}),
        ("heads", {"num_attention_heads": 5}),
        ("zero", {"hidden_size": 0}),
        ("negative", {"vocab_size": -1}),
        ("huge", {"vocab_size": 2**70}),
        ("dropout", {"hidden_dropout_prob": 1.5}),
        ("position", {"position_embedding_type": "relative_key"}),
        ("pad", {"pad_token_id": 40000}),
    ]:
        write("bert_config", f"{name}.json", json.dumps({**base, **change}).encode())


def ggufs():
    """The committed tiny GGUF (every value and tensor type) and its corrupt variants."""
    tiny = Path(__file__).resolve().parent.parent / "crates/tinderbox-nn/tests/fixtures/tiny.gguf"
    variants("gguf", "tiny.gguf", tiny.read_bytes())
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1)
    write("gguf", "huge-array.gguf", header + struct.pack("<Q", 1) + b"k" + struct.pack("<IIQ", 9, 8, 2**62))
    write("gguf", "v1.gguf", b"GGUF" + struct.pack("<III", 1, 0, 0))


def mutations(target):
    """Inputs for targets that patch a valid file (see fuzz_targets/mutate.rs)."""
    write(target, "valid", b"\x00")
    write(target, "cut-at-8", b"\x02\x00\x08")
    write(target, "cut-at-100", b"\x02\x00\x64")
    write(target, "header-length", b"\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f")
    write(target, "header-json", b"\x00\x00\x08" + b'{"a":{"dtype":"F32","shape":[99999999999],"data_offsets":[0,4]}}')
    write(target, "random", b"\x01" + bytes((i * 37) % 256 for i in range(64)))


def checkpoints():
    for which in range(4):
        write("train_checkpoint", f"valid-{which}", bytes([which, 0]))
    state = json.dumps({"epoch": 1, "step": 2, "batches": 2, "history": [], "seed": 5}).encode()
    write("train_checkpoint", "epoch-state", b"\x00\x01" + state)
    write("train_checkpoint", "step-state", b"\x01\x01" + state)
    write("train_checkpoint", "weights-cut", b"\x02\x02\x00\x20")
    write("train_checkpoint", "weights-patch", b"\x02\x00\x00\x10\xff\xff\xff\xff")


def run_configs():
    """The target patches a valid TrainConfig (see fuzz_targets/mutate.rs)."""
    write("run_metadata", "valid", b"\x00")
    write("run_metadata", "cut", b"\x02\x00\x28")
    write("run_metadata", "epochs-zero", b'\x01{"lr": 0.001, "epochs": 0}')
    write("run_metadata", "bad-values", b'\x01{"lr": -1, "batch_size": 0, "clip_grad_norm": 1e400}')
    write("run_metadata", "schedule", b'\x01{"lr": 1, "schedule": {"kind": "warmup_linear", "warmup_ratio": 2}}')


if __name__ == "__main__":
    pickles()
    idxs()
    texts()
    configs()
    ggufs()
    mutations("safetensors_checkpoint")
    mutations("sequence_file")
    checkpoints()
    run_configs()
    print(f"seeds in {ROOT}: {sum(len(fs) for _, _, fs in os.walk(ROOT))} files")
