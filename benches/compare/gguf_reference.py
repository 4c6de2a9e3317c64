"""Reference values for tinderbox's GGUF reader and dequantization, from the `gguf` package
(llama.cpp's own Python library, 0.19), for the tests:

- crates/tinderbox-ops/tests/fixtures/quant_reference.safetensors: for every supported tensor
  type, a few blocks of bytes (`TYPE.bytes`) and what `gguf.quants.dequantize` makes of them
  (`TYPE.values`, float32). Scales are random finite halves, the rest random bytes, so every bit
  pattern of the packed values is exercised; Q4_0 to Q8_0 also get blocks quantized from floats.
- crates/tinderbox-nn/tests/fixtures/tiny.gguf: a GGUF v3 file with metadata of every value type
  (nested arrays included), alignment 64, and one tensor per type; tiny.gguf.json: what
  `gguf.GGUFReader` reads from it (metadata, tensor names, shapes in ggml order, types, offsets)
  and tiny_gguf_values.safetensors: every tensor dequantized.

    ~/.cache/tinderbox-compare/venv/bin/python benches/compare/gguf_reference.py
"""

import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, GGUFValueType, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
TYPES = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]
# Byte offsets of the f16 scales in each block, which must be finite.
HALVES = {"Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
          "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}


def random_blocks(name, blocks, rng):
    """`blocks` blocks of type `name`: random bytes with finite random scales."""
    ty = T[name]
    block_len, block_bytes = GGML_QUANT_SIZES[ty]
    if name == "F32":
        return rng.standard_normal(blocks * block_len).astype(np.float32).view(np.uint8)
    if name == "F16":
        return rng.standard_normal(blocks * block_len).astype(np.float16).view(np.uint8)
    if name == "BF16":
        return quantize(rng.standard_normal(blocks * block_len).astype(np.float32), ty)
    raw = rng.integers(0, 256, size=(blocks, block_bytes), dtype=np.uint8)
    for at in HALVES[name]:
        scale = (rng.standard_normal(blocks) * 0.05).astype(np.float16)
        raw[:, at:at + 2] = scale.view(np.uint8).reshape(blocks, 2)
    return raw.reshape(-1)


def quant_fixture(rng):
    tensors = {}
    for name in TYPES:
        ty = T[name]
        block_len, block_bytes = GGML_QUANT_SIZES[ty]
        raw = random_blocks(name, 8, rng)
        if name in ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"):
            floats = rng.standard_normal(4 * block_len).astype(np.float32)
            raw = np.concatenate([raw, quantize(floats, ty).reshape(-1)])
        values = dequantize(raw.reshape(-1, block_bytes), ty).reshape(-1).astype(np.float32)
        tensors[f"{name}.bytes"] = np.ascontiguousarray(raw)
        tensors[f"{name}.values"] = np.ascontiguousarray(values)
    out = os.path.join(ROOT, "crates", "tinderbox-ops", "tests", "fixtures",
                       "quant_reference.safetensors")
    save_file(tensors, out)
    print("wrote", out)


def gguf_fixture(rng):
    folder = os.path.join(ROOT, "crates", "tinderbox-nn", "tests", "fixtures")
    path = os.path.join(folder, "tiny.gguf")
    writer = GGUFWriter(path, "llama")
    writer.add_custom_alignment(64)
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -100)
    writer.add_uint16("test.u16", 60000)
    writer.add_int16("test.i16", -30000)
    writer.add_uint32("test.u32", 4_000_000_000)
    writer.add_int32("test.i32", -2_000_000_000)
    writer.add_float32("test.f32", 0.1)
    writer.add_uint64("test.u64", 2**63 + 5)
    writer.add_int64("test.i64", -(2**62))
    writer.add_float64("test.f64", 1e-300)
    writer.add_bool("test.bool", True)
    writer.add_string("test.string", "héllo, 世界")
    writer.add_array("test.strings", ["a", "", "c d"])
    writer.add_array("test.ints", [1, -2, 3])
    writer.add_array("test.floats", [0.5, -1.25])
    writer.add_key_value("test.nested", [[1, 2], [3]], GGUFValueType.ARRAY)
    values = {}
    for i, name in enumerate(TYPES):
        ty = T[name]
        block_len, block_bytes = GGML_QUANT_SIZES[ty]
        rows, cols = 2, 256
        raw = random_blocks(name, rows * cols // block_len, rng).reshape(rows, -1)
        writer.add_tensor(f"blk.{i}.{name.lower()}", raw, raw_dtype=ty)
        values[f"blk.{i}.{name.lower()}"] = dequantize(raw, ty).astype(np.float32)
    # A vector and a 3-d tensor, to check that shapes are read in ggml's order.
    vector = rng.standard_normal(7).astype(np.float32)
    writer.add_tensor("output_norm.weight", vector)
    values["output_norm.weight"] = vector
    cube = rng.standard_normal((2, 3, 4)).astype(np.float16)
    writer.add_tensor("cube", cube)
    values["cube"] = cube.astype(np.float32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    reader = GGUFReader(path)
    fields = {}
    for field in reader.fields.values():
        if field.name.startswith("GGUF."):
            continue
        fields[field.name] = to_json(field.contents())
    tensors = [{"name": t.name, "shape": [int(d) for d in t.shape], "type": t.tensor_type.name,
                "offset": int(t.data_offset)} for t in reader.tensors]
    with open(os.path.join(folder, "tiny.gguf.json"), "w") as f:
        json.dump({"version": 3, "alignment": 64, "metadata": fields, "tensors": tensors}, f,
                  indent=1)
        f.write("\n")
    save_file({k: np.ascontiguousarray(v.reshape(-1)) for k, v in values.items()},
              os.path.join(folder, "tiny_gguf_values.safetensors"))
    print("wrote", path, os.path.getsize(path), "bytes")


def to_json(value):
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def main():
    rng = np.random.default_rng(0)
    quant_fixture(rng)
    gguf_fixture(rng)


if __name__ == "__main__":
    main()
