//! BERT's masked-language-model corruption, as Hugging Face's `DataCollatorForLanguageModeling`
//! does it: each real token is chosen with probability 0.15; a chosen token becomes `[MASK]` 80 %
//! of the time, a random token 10 %, and stays 10 %; labels hold the original id at chosen
//! positions and -100 everywhere else. With whole-word masking a word's pieces are chosen
//! together.
//!
//! Special tokens (`[CLS]`, `[SEP]`, `[PAD]`, ...) are never chosen, and random replacements are
//! drawn from the ordinary tokens only (Hugging Face draws from the whole vocabulary, so it can
//! put a `[SEP]` in the middle of a sentence).

use rand::Rng;
use tinderbox_ops::IGNORE_INDEX;

use crate::DataError;

/// The masking recipe: probabilities of BERT's pre-training by default.
#[derive(Clone, Debug, PartialEq)]
pub struct MlmMaskingConfig {
    /// The probability that a token (or, with `whole_word`, a word) is chosen.
    pub probability: f64,
    /// Of the chosen tokens, the fraction replaced by `[MASK]`.
    pub mask_fraction: f64,
    /// Of the chosen tokens, the fraction replaced by a random token; the rest stay.
    pub random_fraction: f64,
    /// Choose whole words (all pieces of a word together) instead of single tokens.
    pub whole_word: bool,
}

impl Default for MlmMaskingConfig {
    fn default() -> Self {
        Self {
            probability: 0.15,
            mask_fraction: 0.8,
            random_fraction: 0.1,
            whole_word: false,
        }
    }
}

/// One corrupted sequence: the model's input and the labels of the loss.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskedSequence {
    /// The ids with the chosen tokens replaced.
    pub input_ids: Vec<u32>,
    /// The original id at chosen positions, [`IGNORE_INDEX`] elsewhere.
    pub labels: Vec<i64>,
}

/// Applies an [`MlmMaskingConfig`] for one vocabulary.
///
/// ```
/// use rand::SeedableRng;
/// use tinderbox_data::mlm::{MlmMasker, MlmMaskingConfig};
/// use tinderbox_ops::IGNORE_INDEX;
///
/// // A vocabulary of 100 ids: 0 [PAD], 1 [CLS], 2 [SEP], 3 [MASK].
/// let masker = MlmMasker::new(MlmMaskingConfig::default(), 100, 3, &[0, 1, 2, 3]).unwrap();
/// let ids = [1, 50, 51, 52, 53, 2, 0, 0];
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let masked = masker.mask(&ids, None, &mut rng).unwrap();
/// // [CLS], [SEP] and padding are never chosen.
/// for i in [0, 5, 6, 7] {
///     assert_eq!(masked.input_ids[i], ids[i]);
///     assert_eq!(masked.labels[i], IGNORE_INDEX);
/// }
/// ```
#[derive(Clone, Debug)]
pub struct MlmMasker {
    config: MlmMaskingConfig,
    mask_id: u32,
    /// `special[id]` is true for ids that are never chosen nor drawn as replacements.
    special: Vec<bool>,
    /// The ids a random replacement is drawn from.
    ordinary: Vec<u32>,
}

impl MlmMasker {
    /// A masker for a vocabulary of `vocab_size` ids whose `[MASK]` is `mask_id`; `special_ids`
    /// (which should include `[PAD]`, `[CLS]`, `[SEP]`, `[MASK]`) are never chosen.
    ///
    /// Errors when a probability is outside `0..=1`, the two fractions add up to more than 1,
    /// an id is outside the vocabulary, or no ordinary token is left to draw from.
    pub fn new(
        config: MlmMaskingConfig,
        vocab_size: usize,
        mask_id: u32,
        special_ids: &[u32],
    ) -> Result<Self, DataError> {
        let invalid = |reason: String| Err(DataError::Mlm { reason });
        for (name, p) in [
            ("probability", config.probability),
            ("mask_fraction", config.mask_fraction),
            ("random_fraction", config.random_fraction),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return invalid(format!("{name} must be in 0..=1, got {p}"));
            }
        }
        if config.mask_fraction + config.random_fraction > 1.0 + 1e-12 {
            return invalid(format!(
                "mask_fraction {} + random_fraction {} exceed 1",
                config.mask_fraction, config.random_fraction
            ));
        }
        let mut special = vec![false; vocab_size];
        for &id in special_ids.iter().chain([&mask_id]) {
            match special.get_mut(id as usize) {
                Some(flag) => *flag = true,
                None => {
                    return invalid(format!(
                        "special id {id} is outside the vocabulary of {vocab_size}"
                    ));
                }
            }
        }
        let ordinary: Vec<u32> = (0..vocab_size as u32)
            .filter(|id| !special[*id as usize])
            .collect();
        if ordinary.is_empty() {
            return invalid(format!(
                "the vocabulary of {vocab_size} holds only special tokens"
            ));
        }
        Ok(Self {
            config,
            mask_id,
            special,
            ordinary,
        })
    }

    /// Corrupts one sequence. `word_starts[i]` says whether token `i` begins a word (a WordPiece
    /// token without `##`); it is needed for whole-word masking and ignored otherwise.
    ///
    /// Errors on an id outside the vocabulary or a `word_starts` of another length.
    pub fn mask<R: Rng + ?Sized>(
        &self,
        ids: &[u32],
        word_starts: Option<&[bool]>,
        rng: &mut R,
    ) -> Result<MaskedSequence, DataError> {
        if let Some(bad) = ids.iter().find(|id| **id as usize >= self.special.len()) {
            return Err(DataError::Mlm {
                reason: format!(
                    "token id {bad} is outside the vocabulary of {}",
                    self.special.len()
                ),
            });
        }
        let chosen = match (self.config.whole_word, word_starts) {
            (false, _) => self.choose_tokens(ids, rng),
            (true, Some(starts)) if starts.len() == ids.len() => {
                self.choose_words(ids, starts, rng)
            }
            (true, Some(starts)) => {
                return Err(DataError::Mlm {
                    reason: format!(
                        "word_starts has {} entries for {} tokens",
                        starts.len(),
                        ids.len()
                    ),
                });
            }
            (true, None) => {
                return Err(DataError::Mlm {
                    reason: "whole-word masking needs word_starts".into(),
                });
            }
        };
        let mut input_ids = ids.to_vec();
        let mut labels = vec![IGNORE_INDEX; ids.len()];
        for (i, _) in chosen.iter().enumerate().filter(|(_, c)| **c) {
            labels[i] = i64::from(ids[i]);
            let roll: f64 = rng.random();
            if roll < self.config.mask_fraction {
                input_ids[i] = self.mask_id;
            } else if roll < self.config.mask_fraction + self.config.random_fraction {
                input_ids[i] = self.ordinary[rng.random_range(0..self.ordinary.len())];
            }
        }
        Ok(MaskedSequence { input_ids, labels })
    }

    /// Whether `id` is in the vocabulary and not special, so that it may be chosen.
    pub fn can_mask(&self, id: u32) -> bool {
        self.special
            .get(id as usize)
            .is_some_and(|special| !special)
    }

    /// The `[MASK]` id.
    pub fn mask_id(&self) -> u32 {
        self.mask_id
    }

    fn is_special(&self, id: u32) -> bool {
        self.special[id as usize]
    }

    fn choose_tokens<R: Rng + ?Sized>(&self, ids: &[u32], rng: &mut R) -> Vec<bool> {
        ids.iter()
            .map(|id| !self.is_special(*id) && rng.random_bool(self.config.probability))
            .collect()
    }

    /// A word is a start token and the continuation pieces after it; a special token ends it.
    fn choose_words<R: Rng + ?Sized>(
        &self,
        ids: &[u32],
        starts: &[bool],
        rng: &mut R,
    ) -> Vec<bool> {
        let mut chosen = vec![false; ids.len()];
        let mut word_chosen = false;
        for (i, id) in ids.iter().enumerate() {
            if self.is_special(*id) {
                word_chosen = false;
                continue;
            }
            if starts[i] || i == 0 || self.is_special(ids[i - 1]) {
                word_chosen = rng.random_bool(self.config.probability);
            }
            chosen[i] = word_chosen;
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const PAD: u32 = 0;
    const CLS: u32 = 1;
    const SEP: u32 = 2;
    const MASK: u32 = 3;
    const VOCAB: usize = 1000;

    fn masker(config: MlmMaskingConfig) -> MlmMasker {
        MlmMasker::new(config, VOCAB, MASK, &[PAD, CLS, SEP, MASK]).unwrap()
    }

    /// 200 sequences of `[CLS]` + 100 ordinary ids + `[SEP]` + 20 `[PAD]`.
    fn corpus() -> Vec<Vec<u32>> {
        (0..200u32)
            .map(|s| {
                let mut ids = vec![CLS];
                ids.extend((0..100).map(|i| 10 + (s * 7 + i * 13) % 900));
                ids.push(SEP);
                ids.extend([PAD; 20]);
                ids
            })
            .collect()
    }

    #[test]
    fn rates_match_bert() {
        let masker = masker(MlmMaskingConfig::default());
        let mut rng = StdRng::seed_from_u64(1);
        let (mut real, mut chosen, mut masked, mut replaced, mut kept) = (0, 0, 0, 0, 0);
        for ids in corpus() {
            let out = masker.mask(&ids, None, &mut rng).unwrap();
            for ((&id, &input), &label) in ids.iter().zip(&out.input_ids).zip(&out.labels) {
                if [PAD, CLS, SEP].contains(&id) {
                    assert_eq!(label, IGNORE_INDEX, "special token chosen");
                    assert_eq!(input, id);
                    continue;
                }
                real += 1;
                if label == IGNORE_INDEX {
                    assert_eq!(input, id);
                    continue;
                }
                chosen += 1;
                assert_eq!(label, i64::from(id));
                match input {
                    MASK => masked += 1,
                    same if same == id => kept += 1,
                    other => {
                        assert!(
                            other as usize >= 4 && (other as usize) < VOCAB,
                            "replacement {other}"
                        );
                        replaced += 1;
                    }
                }
            }
        }
        // 20,000 real tokens: 3,000 expected chosen, standard deviation 50.
        let rate = chosen as f64 / real as f64;
        assert!((rate - 0.15).abs() < 0.01, "chosen {rate}");
        let chosen = chosen as f64;
        // A random replacement equals the original 1 time in 996; it counts as kept.
        assert!(
            (masked as f64 / chosen - 0.8).abs() < 0.03,
            "masked {masked}"
        );
        assert!(
            (replaced as f64 / chosen - 0.1).abs() < 0.02,
            "replaced {replaced}"
        );
        assert!((kept as f64 / chosen - 0.1).abs() < 0.02, "kept {kept}");
    }

    #[test]
    fn the_same_seed_gives_the_same_masks() {
        let masker = masker(MlmMaskingConfig::default());
        let ids = &corpus()[0];
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            masker.mask(ids, None, &mut rng).unwrap()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn whole_words_are_chosen_together() {
        let masker = masker(MlmMaskingConfig {
            whole_word: true,
            ..MlmMaskingConfig::default()
        });
        let mut rng = StdRng::seed_from_u64(3);
        // Words of three pieces: a start and two continuations.
        let ids: Vec<u32> = [CLS]
            .into_iter()
            .chain((0..300).map(|i| 10 + i))
            .chain([SEP])
            .collect();
        let starts: Vec<bool> = (0..ids.len()).map(|i| i % 3 == 1).collect();
        let (mut words, mut chosen_words) = (0, 0);
        for _ in 0..50 {
            let out = masker.mask(&ids, Some(&starts), &mut rng).unwrap();
            assert_eq!(out.labels[0], IGNORE_INDEX);
            assert_eq!(out.labels[ids.len() - 1], IGNORE_INDEX);
            for word in out.labels[1..ids.len() - 1].chunks(3) {
                let picked = word.iter().filter(|l| **l != IGNORE_INDEX).count();
                assert!(picked == 0 || picked == 3, "a word split: {word:?}");
                words += 1;
                chosen_words += usize::from(picked == 3);
            }
        }
        let rate = chosen_words as f64 / words as f64;
        assert!((rate - 0.15).abs() < 0.02, "{rate}");
    }

    #[test]
    fn bad_recipes_and_inputs_are_errors() {
        let err = |r: Result<MlmMasker, DataError>| r.unwrap_err().to_string();
        let bad_p = MlmMaskingConfig {
            probability: 1.5,
            ..MlmMaskingConfig::default()
        };
        assert!(err(MlmMasker::new(bad_p, VOCAB, MASK, &[])).contains("probability"));
        let over = MlmMaskingConfig {
            mask_fraction: 0.9,
            random_fraction: 0.2,
            ..MlmMaskingConfig::default()
        };
        assert!(err(MlmMasker::new(over, VOCAB, MASK, &[])).contains("exceed 1"));
        let cfg = MlmMaskingConfig::default();
        assert!(err(MlmMasker::new(cfg.clone(), 4, 7, &[])).contains("outside the vocabulary"));
        assert!(err(MlmMasker::new(cfg.clone(), 2, 0, &[1])).contains("only special tokens"));

        let masker = masker(cfg);
        let mut rng = StdRng::seed_from_u64(0);
        let e = masker.mask(&[1, 5000], None, &mut rng).unwrap_err();
        assert!(e.to_string().contains("token id 5000"), "{e}");
        let whole = MlmMasker::new(
            MlmMaskingConfig {
                whole_word: true,
                ..MlmMaskingConfig::default()
            },
            VOCAB,
            MASK,
            &[],
        )
        .unwrap();
        assert!(whole.mask(&[10, 11], None, &mut rng).is_err());
        let e = whole.mask(&[10, 11], Some(&[true]), &mut rng).unwrap_err();
        assert!(e.to_string().contains("1 entries for 2 tokens"), "{e}");
    }

    #[test]
    fn empty_sequences_stay_empty() {
        let masker = masker(MlmMaskingConfig::default());
        let out = masker
            .mask(&[], None, &mut StdRng::seed_from_u64(0))
            .unwrap();
        assert!(out.input_ids.is_empty() && out.labels.is_empty());
    }
}
