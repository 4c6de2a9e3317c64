//! Labelled texts: the common form of every text-classification source.

use std::collections::BTreeSet;

use crate::error::{DataError, Result};

/// Texts with one class each, and the class names (sorted, so the same data always gives the
/// same ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledTexts {
    /// A name for messages and `summary.json` (`rotten-tomatoes`, a file name, ...).
    pub name: String,
    /// The texts.
    pub texts: Vec<String>,
    /// The class id of each text, an index into `class_names`.
    pub labels: Vec<usize>,
    /// The class names.
    pub class_names: Vec<String>,
    /// How many texts held bytes that were not UTF-8 (read lossily, with U+FFFD).
    pub lossy_texts: usize,
}

impl LabeledTexts {
    /// Builds a dataset from `(text, label name)` pairs; class ids follow the sorted names.
    pub fn from_pairs(
        name: &str,
        pairs: Vec<(String, String)>,
        lossy_texts: usize,
    ) -> Result<Self> {
        if pairs.is_empty() {
            return Err(DataError::Invalid {
                name: name.to_string(),
                reason: "it holds no labelled text".into(),
            });
        }
        let class_names: Vec<String> = pairs
            .iter()
            .map(|(_, l)| l.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Self::with_classes(name, pairs, class_names, lossy_texts)
    }

    /// Builds a dataset whose labels must be among `class_names` (those of a saved run).
    pub fn with_classes(
        name: &str,
        pairs: Vec<(String, String)>,
        class_names: Vec<String>,
        lossy_texts: usize,
    ) -> Result<Self> {
        let mut texts = Vec::with_capacity(pairs.len());
        let mut labels = Vec::with_capacity(pairs.len());
        for (i, (text, label)) in pairs.into_iter().enumerate() {
            let id = class_names.iter().position(|c| *c == label).ok_or_else(|| DataError::Invalid {
                name: name.to_string(),
                reason: format!(
                    "text {i} has label {label:?}, which is not one of the classes {class_names:?}"
                ),
            })?;
            texts.push(text);
            labels.push(id);
        }
        Ok(Self {
            name: name.to_string(),
            texts,
            labels,
            class_names,
            lossy_texts,
        })
    }

    /// The number of texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether there is no text.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The number of texts in each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &l in &self.labels {
            counts[l] += 1;
        }
        counts
    }

    /// The texts at `indices`, in that order, with the same classes.
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        let mut texts = Vec::with_capacity(indices.len());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            let (Some(text), Some(&label)) = (self.texts.get(i), self.labels.get(i)) else {
                return Err(DataError::Invalid {
                    name: self.name.clone(),
                    reason: format!("index {i} is past the end ({} texts)", self.len()),
                });
            };
            texts.push(text.clone());
            labels.push(label);
        }
        Ok(Self {
            name: self.name.clone(),
            texts,
            labels,
            class_names: self.class_names.clone(),
            lossy_texts: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect()
    }

    #[test]
    fn class_ids_follow_sorted_names() {
        let d =
            LabeledTexts::from_pairs("t", pairs(&[("a", "pos"), ("b", "neg"), ("c", "pos")]), 0)
                .unwrap();
        assert_eq!(d.class_names, vec!["neg", "pos"]);
        assert_eq!(d.labels, vec![1, 0, 1]);
        assert_eq!(d.class_counts(), vec![1, 2]);
        assert_eq!(d.subset(&[2, 1]).unwrap().texts, vec!["c", "b"]);
        assert!(d.subset(&[3]).is_err());
    }

    #[test]
    fn unknown_labels_and_empty_data_are_errors() {
        let err = LabeledTexts::with_classes(
            "eval",
            pairs(&[("a", "pos"), ("b", "maybe")]),
            vec!["neg".into(), "pos".into()],
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("text 1 has label \"maybe\""), "{err}");
        let err = LabeledTexts::from_pairs("none", vec![], 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no labelled text"), "{err}");
    }
}
