//! GGUF files (llama.cpp's format): the header, metadata of every value type, the tensor table,
//! and the dequantization of every tensor the table accepts. Whatever the bytes, an error or a
//! file whose tensors all read; never a panic or an allocation the bytes cannot back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinderbox_nn::gguf::GgufFile;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = GgufFile::from_bytes(data.to_vec(), "fuzz.gguf") else {
        return;
    };
    let _ = file.vocab();
    let _ = file.llama_config();
    for info in file.tensors() {
        // Small tensors only: the table checked the bytes exist, but 2^30 zero-sized values
        // (a shape with no bytes behind it) would still allocate.
        if info.len() <= 1 << 16 {
            let _ = file.dequantize(&info.name);
        }
    }
});
