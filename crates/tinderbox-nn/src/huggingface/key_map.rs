//! Checkpoint key names to module paths, written once per architecture.

use burn::store::KeyRemapper;

/// How one architecture's checkpoint keys become our module paths: prefixes that task models
/// add (dropped), literal renames applied in order, and buffers that are not weights.
///
/// RoBERTa is BERT's table with the `roberta.` prefix; DistilBERT would rename
/// `transformer.layer.N.attention.q_lin` and friends to the same modules.
#[derive(Debug, Clone, Copy)]
pub struct KeyMap {
    /// Prefixes of task checkpoints (`bert.` in `BertForMaskedLM`), removed when reading.
    pub prefixes: &'static [&'static str],
    /// `(checkpoint, module)` substrings.
    pub renames: &'static [(&'static str, &'static str)],
    /// Keys that are buffers rather than weights (ignored when reading).
    pub buffers: &'static [&'static str],
    /// Prefixes of task heads that the model does not have (ignored when reading, as
    /// `transformers`' `BertModel.from_pretrained` drops a `BertForMaskedLM`'s `cls.*`).
    pub heads: &'static [&'static str],
}

/// BERT (and models with its layout: MiniLM, the sentence-transformers encoders).
pub const BERT_KEYS: KeyMap = KeyMap {
    prefixes: &["bert."],
    renames: &[
        (".attention.self.", ".attention.self_attn."),
        ("LayerNorm.", "layer_norm."),
    ],
    buffers: &["embeddings.position_ids", "embeddings.token_type_ids"],
    heads: &["cls."],
};

/// `BertForMaskedLM` whole: the encoder under `bert.` and the prediction head under
/// `cls.predictions.` (its `transform.` level flattened into our `MlmHead`). The decoder is tied
/// to the word embeddings, so checkpoints store no `cls.predictions.decoder.*`; older ones that do
/// have it ignored.
pub const BERT_MLM_KEYS: KeyMap = KeyMap {
    prefixes: &[],
    renames: &[
        (".attention.self.", ".attention.self_attn."),
        ("LayerNorm.", "layer_norm."),
        ("predictions.transform.dense.", "predictions.dense."),
        (
            "predictions.transform.layer_norm.",
            "predictions.layer_norm.",
        ),
    ],
    buffers: &[
        "bert.embeddings.position_ids",
        "bert.embeddings.token_type_ids",
        "cls.predictions.decoder.weight",
        "cls.predictions.decoder.bias",
    ],
    heads: &[],
};

fn escape(literal: &str) -> String {
    literal.replace('.', r"\.")
}

impl KeyMap {
    /// The key without a task prefix, or `None` for a buffer or a head the model lacks.
    pub fn normalise<'a>(&self, key: &'a str) -> Option<&'a str> {
        if self.heads.iter().any(|h| key.starts_with(h)) {
            return None;
        }
        let key = self
            .prefixes
            .iter()
            .find_map(|p| key.strip_prefix(p))
            .unwrap_or(key);
        (!self.buffers.contains(&key)).then_some(key)
    }

    /// A checkpoint key's module path.
    pub fn to_module(&self, key: &str) -> String {
        let key = self
            .prefixes
            .iter()
            .find_map(|p| key.strip_prefix(p))
            .unwrap_or(key);
        self.renames
            .iter()
            .fold(key.to_string(), |k, (from, to)| k.replace(from, to))
    }

    /// A module path's checkpoint key (without a task prefix).
    pub fn to_checkpoint(&self, path: &str) -> String {
        self.renames
            .iter()
            .rev()
            .fold(path.to_string(), |k, (from, to)| k.replace(to, from))
    }

    /// burn-store's remapper from checkpoint keys to module paths.
    pub fn reading(&self) -> Result<KeyRemapper, String> {
        let prefixes = self
            .prefixes
            .iter()
            .map(|p| (format!("^{}", escape(p)), String::new()));
        let renames = self
            .renames
            .iter()
            .map(|(from, to)| (escape(from), to.to_string()));
        KeyRemapper::from_patterns(prefixes.chain(renames).collect()).map_err(|e| e.to_string())
    }

    /// burn-store's remapper from module paths to checkpoint keys.
    pub fn writing(&self) -> Result<KeyRemapper, String> {
        let renames = self
            .renames
            .iter()
            .rev()
            .map(|(from, to)| (escape(to), from.to_string()));
        KeyRemapper::from_patterns(renames.collect()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bert_keys_round_trip() {
        let key = "encoder.layer.3.attention.self.query.weight";
        let path = BERT_KEYS.to_module(key);
        assert_eq!(path, "encoder.layer.3.attention.self_attn.query.weight");
        assert_eq!(BERT_KEYS.to_checkpoint(&path), key);
        let norm = "bert.encoder.layer.0.output.LayerNorm.bias";
        assert_eq!(
            BERT_KEYS.to_module(norm),
            "encoder.layer.0.output.layer_norm.bias"
        );
        assert_eq!(
            BERT_KEYS.normalise(norm),
            Some("encoder.layer.0.output.LayerNorm.bias")
        );
        assert_eq!(BERT_KEYS.normalise("embeddings.position_ids"), None);
        assert_eq!(BERT_KEYS.normalise("cls.predictions.bias"), None);
        assert_eq!(
            BERT_MLM_KEYS.normalise("cls.predictions.bias"),
            Some("cls.predictions.bias")
        );
    }
}
