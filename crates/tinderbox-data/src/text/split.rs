//! Seeded, stratified train/validation/test splits, saved with the run so that a later
//! evaluation uses exactly the same texts.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::labeled::LabeledTexts;
use crate::error::{DataError, Result};

/// Which texts are in which split, by index into the dataset, with what identifies the dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// The dataset's name.
    pub dataset: String,
    /// Its number of texts.
    pub rows: usize,
    /// sha256 over the texts and labels: a changed dataset is refused.
    pub fingerprint: String,
    /// The seed the split was drawn with.
    pub seed: u64,
    /// Training indices.
    pub train: Vec<usize>,
    /// Validation indices.
    pub valid: Vec<usize>,
    /// Test indices.
    pub test: Vec<usize>,
}

/// A fingerprint of the texts, labels and class names.
pub fn fingerprint(data: &LabeledTexts) -> String {
    let mut hasher = Sha256::new();
    for name in &data.class_names {
        hasher.update(name.as_bytes());
        hasher.update([0]);
    }
    for (text, label) in data.texts.iter().zip(&data.labels) {
        hasher.update((*label as u64).to_le_bytes());
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hex::encode(hasher.finalize())
}

impl Split {
    /// Splits each class in the proportions `fractions` (validation, test; the rest trains),
    /// rounding to the nearest text but giving every split at least one text of every class.
    /// A class too small for that is an error naming it.
    pub fn stratified(
        data: &LabeledTexts,
        valid_fraction: f64,
        test_fraction: f64,
        seed: u64,
    ) -> Result<Self> {
        let invalid = |reason: String| DataError::Invalid {
            name: data.name.clone(),
            reason,
        };
        let ok = |f: f64| (0.0..1.0).contains(&f);
        if !ok(valid_fraction) || !ok(test_fraction) || valid_fraction + test_fraction >= 1.0 {
            return Err(invalid(format!(
                "validation {valid_fraction} and test {test_fraction} fractions must be in [0, 1) and leave texts to train on"
            )));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
        for (class, name) in data.class_names.iter().enumerate() {
            let mut members: Vec<usize> = (0..data.len())
                .filter(|&i| data.labels[i] == class)
                .collect();
            let n = members.len();
            let take = |f: f64| {
                if f > 0.0 {
                    ((n as f64 * f).round() as usize).max(1)
                } else {
                    0
                }
            };
            let (n_valid, n_test) = (take(valid_fraction), take(test_fraction));
            if n < n_valid + n_test + 1 {
                return Err(invalid(format!(
                    "class {name:?} has {n} texts, too few for a train/validation/test split \
                     (it needs at least {})",
                    n_valid + n_test + 1
                )));
            }
            members.shuffle(&mut rng);
            valid.extend_from_slice(&members[..n_valid]);
            test.extend_from_slice(&members[n_valid..n_valid + n_test]);
            train.extend_from_slice(&members[n_valid + n_test..]);
        }
        for part in [&mut train, &mut valid, &mut test] {
            part.shuffle(&mut rng);
        }
        Ok(Self {
            dataset: data.name.clone(),
            rows: data.len(),
            fingerprint: fingerprint(data),
            seed,
            train,
            valid,
            test,
        })
    }

    /// The split with only `n` of its training texts, drawn per class in the training part's
    /// proportions (largest remainders; every class keeps at least one) with `seed`; validation
    /// and test unchanged, so that learning curves are scored on the same texts. `n` must be at
    /// least the number of classes and at most the training texts.
    pub fn limit_train(mut self, data: &LabeledTexts, n: usize, seed: u64) -> Result<Self> {
        self.check(data)?;
        let classes = data.class_names.len();
        let total = self.train.len();
        if n < classes || n > total {
            return Err(DataError::Invalid {
                name: data.name.clone(),
                reason: format!(
                    "{n} training texts asked for: give between {classes} (one per class) and {total} (the training split)"
                ),
            });
        }
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes];
        for &i in &self.train {
            members[data.labels[i]].push(i);
        }
        // Largest remainders, then at least one per class (taken from the largest quota).
        let exact: Vec<f64> = members
            .iter()
            .map(|m| n as f64 * m.len() as f64 / total as f64)
            .collect();
        let mut quota: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
        let mut by_remainder: Vec<usize> = (0..classes).collect();
        by_remainder.sort_by(|&a, &b| {
            (exact[b] - exact[b].floor())
                .total_cmp(&(exact[a] - exact[a].floor()))
                .then(a.cmp(&b))
        });
        let short = n - quota.iter().sum::<usize>();
        for &c in by_remainder.iter().take(short) {
            quota[c] += 1;
        }
        while let Some(empty) = (0..classes).find(|&c| quota[c] == 0 && !members[c].is_empty()) {
            let largest = (0..classes).max_by_key(|&c| quota[c]).unwrap_or(empty);
            quota[largest] -= 1;
            quota[empty] += 1;
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut train = Vec::with_capacity(n);
        for (class, m) in members.iter_mut().enumerate() {
            m.shuffle(&mut rng);
            train.extend_from_slice(&m[..quota[class].min(m.len())]);
        }
        train.shuffle(&mut rng);
        self.train = train;
        Ok(self)
    }

    /// Checks that `data` is the dataset this split was made from.
    pub fn check(&self, data: &LabeledTexts) -> Result<()> {
        if self.rows != data.len() || self.fingerprint != fingerprint(data) {
            return Err(DataError::Invalid {
                name: data.name.clone(),
                reason: format!(
                    "it is not the dataset this split was made from ({} texts, fingerprint {}); \
                     the data changed since the run",
                    self.rows,
                    &self.fingerprint[..12.min(self.fingerprint.len())]
                ),
            });
        }
        Ok(())
    }

    /// The three parts of `data`.
    pub fn apply(&self, data: &LabeledTexts) -> Result<[LabeledTexts; 3]> {
        self.check(data)?;
        Ok([
            data.subset(&self.train)?,
            data.subset(&self.valid)?,
            data.subset(&self.test)?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(counts: &[usize]) -> LabeledTexts {
        let pairs = counts
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| (0..n).map(move |i| (format!("text {c} {i}"), format!("class{c}"))))
            .collect();
        LabeledTexts::from_pairs("toy", pairs, 0).unwrap()
    }

    #[test]
    fn stratified_seeded_and_disjoint() {
        let d = data(&[100, 40, 7]);
        let s = Split::stratified(&d, 0.1, 0.1, 7).unwrap();
        assert_eq!(s, Split::stratified(&d, 0.1, 0.1, 7).unwrap());
        assert_ne!(s.train, Split::stratified(&d, 0.1, 0.1, 8).unwrap().train);
        let mut all: Vec<usize> = [s.train.clone(), s.valid.clone(), s.test.clone()].concat();
        all.sort();
        assert_eq!(all, (0..147).collect::<Vec<_>>());
        let [train, valid, test] = s.apply(&d).unwrap();
        assert_eq!(valid.class_counts(), vec![10, 4, 1]);
        assert_eq!(test.class_counts(), vec![10, 4, 1]);
        assert_eq!(train.class_counts(), vec![80, 32, 5]);
    }

    #[test]
    fn a_limited_training_part_keeps_the_proportions_and_the_other_parts() {
        let d = data(&[100, 40, 7]);
        let s = Split::stratified(&d, 0.1, 0.1, 7).unwrap();
        // Training has 80, 32 and 5 texts: 20 of 117 give 13.7, 5.5, 0.9.
        let small = s.clone().limit_train(&d, 20, 3).unwrap();
        assert_eq!((&small.valid, &small.test), (&s.valid, &s.test));
        let [train, _, _] = small.apply(&d).unwrap();
        assert_eq!(train.class_counts(), vec![14, 5, 1]);
        assert!(small.train.iter().all(|i| s.train.contains(i)));
        assert_eq!(small, s.clone().limit_train(&d, 20, 3).unwrap());
        assert_ne!(small.train, s.clone().limit_train(&d, 20, 4).unwrap().train);
        // Three texts: one per class, however small the class.
        let [three, _, _] = s.clone().limit_train(&d, 3, 1).unwrap().apply(&d).unwrap();
        assert_eq!(three.class_counts(), vec![1, 1, 1]);
        let all = s.clone().limit_train(&d, 117, 1).unwrap();
        assert_eq!(all.train.len(), 117);
        for bad in [2, 118] {
            let e = s.clone().limit_train(&d, bad, 1).unwrap_err().to_string();
            assert!(e.contains("give between 3 (one per class) and 117"), "{e}");
        }
    }

    #[test]
    fn tiny_classes_and_changed_data_are_refused() {
        let err = Split::stratified(&data(&[50, 2]), 0.1, 0.1, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("class \"class1\" has 2 texts"), "{err}");
        let s = Split::stratified(&data(&[20, 20]), 0.1, 0.1, 1).unwrap();
        let err = s.check(&data(&[20, 21])).unwrap_err().to_string();
        assert!(err.contains("the data changed since the run"), "{err}");
        assert!(Split::stratified(&data(&[20]), 0.6, 0.5, 1).is_err());
    }
}
