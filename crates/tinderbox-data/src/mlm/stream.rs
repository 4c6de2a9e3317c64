//! Pre-training batches drawn from a [`SequenceFile`]: a shuffled pass after pass, each batch a
//! pure function of its number (which sequences, which masks), so a resumed run sees what an
//! uninterrupted one would have; and a fixed set of held-out batches for evaluation. What a batch
//! is (masked-LM, causal-LM) is its [`Collate`]'s business.

use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::batch::{MlmBatch, MlmCollator};
use super::sequence_file::SequenceFile;
use crate::DataError;

fn rng(seed: u64, stream: u64, n: u64) -> StdRng {
    StdRng::seed_from_u64(
        seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    )
}

const SHUFFLE: u64 = 1;
const MASKS: u64 = 2;
const EVAL_MASKS: u64 = 3;

/// Turns sequences into a batch of one kind: [`MlmCollator`] masks them, the causal-LM collator
/// pads them.
pub trait Collate {
    /// The batch.
    type Batch;

    /// The batch of `sequences`; `rng` draws whatever the batch randomises (BERT's masks).
    fn collate(
        &self,
        sequences: &[Vec<u32>],
        rng: &mut StdRng,
        device: &Device,
    ) -> Result<Self::Batch, DataError>;
}

impl Collate for MlmCollator {
    type Batch = MlmBatch;

    fn collate(
        &self,
        sequences: &[Vec<u32>],
        rng: &mut StdRng,
        device: &Device,
    ) -> Result<MlmBatch, DataError> {
        MlmCollator::collate(self, sequences, rng, device)
    }
}

/// The stream of masked-LM batches.
pub type MlmStream = SequenceStream<MlmCollator>;

/// An endless stream of batches over the training sequences.
///
/// ```
/// use burn::prelude::*;
/// use tinderbox_data::mlm::*;
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut writer = SequenceFileWriter::create(dir.path().join("t.seq"), 6).unwrap();
/// for i in 0..5 {
///     writer.push(&[1, 10 + i, 11 + i, 12 + i, 2]).unwrap();
/// }
/// let masker = MlmMasker::new(MlmMaskingConfig::default(), 100, 3, &[0, 1, 2]).unwrap();
/// let mut stream = MlmStream::new(writer.finish().unwrap(), MlmCollator::new(masker, 0), 2, 7).unwrap();
/// let device = Device::default();
/// let a = stream.batch(4, &device).unwrap();
/// let b = stream.batch(4, &device).unwrap();
/// assert_eq!(a.input_ids.to_data(), b.input_ids.to_data());
/// ```
#[derive(Clone, Debug)]
pub struct SequenceStream<C> {
    sequences: SequenceFile,
    collator: C,
    batch_size: usize,
    seed: u64,
    /// The order of the pass last used: (pass, permutation).
    order: Option<(usize, Vec<u32>)>,
}

impl<C: Collate> SequenceStream<C> {
    /// Batches of `batch_size` sequences of `sequences`, shuffled and masked from `seed`.
    pub fn new(
        sequences: SequenceFile,
        collator: C,
        batch_size: usize,
        seed: u64,
    ) -> Result<Self, DataError> {
        if sequences.is_empty() || batch_size == 0 {
            return Err(DataError::Mlm {
                reason: format!(
                    "cannot draw batches of {batch_size} from {} sequences in {}",
                    sequences.len(),
                    sequences.path().display()
                ),
            });
        }
        Ok(Self {
            sequences,
            collator,
            batch_size,
            seed,
            order: None,
        })
    }

    /// The number of sequences in one pass.
    pub fn sequences(&self) -> usize {
        self.sequences.len()
    }

    /// Batch `n`: sequences `n * batch_size ..` of the endless concatenation of shuffled passes,
    /// masked with a generator seeded by `n`.
    pub fn batch(&mut self, n: usize, device: &Device) -> Result<C::Batch, DataError> {
        let count = self.sequences.len();
        let mut batch = Vec::with_capacity(self.batch_size);
        for k in n * self.batch_size..(n + 1) * self.batch_size {
            let (pass, at) = (k / count, k % count);
            let order = match &self.order {
                Some((p, order)) if *p == pass => order,
                _ => {
                    let mut order: Vec<u32> = (0..count as u32).collect();
                    order.shuffle(&mut rng(self.seed, SHUFFLE, pass as u64));
                    &self.order.insert((pass, order)).1
                }
            };
            batch.push(self.sequences.get(order[at] as usize)?);
        }
        self.collator
            .collate(&batch, &mut rng(self.seed, MASKS, n as u64), device)
    }
}

/// The evaluation batches: the first `limit` sequences of `sequences` in order, masked once
/// with `seed`, so that every evaluation of a run scores the same masks.
pub fn fixed_batches<C: Collate>(
    sequences: &SequenceFile,
    collator: &C,
    batch_size: usize,
    limit: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<C::Batch>, DataError> {
    let take = sequences.len().min(limit);
    if take == 0 || batch_size == 0 {
        return Err(DataError::Mlm {
            reason: format!(
                "no held-out batch of {batch_size} can be drawn from {} ({} sequences)",
                sequences.path().display(),
                sequences.len()
            ),
        });
    }
    let mut rng = rng(seed, EVAL_MASKS, 0);
    (0..take)
        .step_by(batch_size)
        .map(|start| {
            let rows = (start..(start + batch_size).min(take))
                .map(|i| sequences.get(i))
                .collect::<Result<Vec<_>, _>>()?;
            collator.collate(&rows, &mut rng, device)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlm::{MlmMasker, MlmMaskingConfig, SequenceFileWriter};

    fn file(dir: &std::path::Path, n: u32) -> SequenceFile {
        let mut w = SequenceFileWriter::create(dir.join("s.seq"), 4).unwrap();
        for i in 0..n {
            // The two inner ids say which sequence this is (the collator masks one token).
            w.push(&[1, 100 + i, 100 + i, 2]).unwrap();
        }
        w.finish().unwrap()
    }

    fn collator() -> MlmCollator {
        // Masking probability 0 leaves the ids readable; the collator still masks one per batch.
        let config = MlmMaskingConfig {
            probability: 0.0,
            ..MlmMaskingConfig::default()
        };
        MlmCollator::new(MlmMasker::new(config, 200, 3, &[0, 1, 2]).unwrap(), 0)
    }

    fn rows(batch: &MlmBatch) -> Vec<i64> {
        let ids: Vec<i64> = batch.input_ids.to_data().iter::<i64>().collect();
        ids.chunks(4).map(|r| r[1].max(r[2])).collect()
    }

    #[test]
    fn each_pass_visits_every_sequence_once_in_a_new_order() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::default();
        let mut stream = MlmStream::new(file(dir.path(), 10), collator(), 5, 9).unwrap();
        let pass = |stream: &mut MlmStream, first: usize| -> Vec<i64> {
            (first..first + 2)
                .flat_map(|n| rows(&stream.batch(n, &device).unwrap()))
                .collect()
        };
        let (one, two) = (pass(&mut stream, 0), pass(&mut stream, 2));
        for p in [&one, &two] {
            let mut sorted = p.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (100..110).collect::<Vec<i64>>());
        }
        assert_ne!(one, two);
        // A fresh stream (a resumed run) gives batch 3 without drawing 0 to 2.
        let mut fresh = MlmStream::new(file(dir.path(), 10), collator(), 5, 9).unwrap();
        let b = fresh.batch(3, &device).unwrap();
        assert_eq!(rows(&b), two[5..]);
        let a = stream.batch(3, &device).unwrap();
        assert_eq!(a.masked_positions.to_data(), b.masked_positions.to_data());
    }

    #[test]
    fn evaluation_batches_are_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::default();
        let f = file(dir.path(), 10);
        let masked = MlmCollator::new(
            MlmMasker::new(MlmMaskingConfig::default(), 200, 3, &[0, 1, 2]).unwrap(),
            0,
        );
        let a = fixed_batches(&f, &masked, 4, 7, 1, &device).unwrap();
        let b = fixed_batches(&f, &masked, 4, 7, 1, &device).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].input_ids.dims(), [3, 4]);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.input_ids.to_data(), y.input_ids.to_data());
            assert_eq!(x.masked_labels.to_data(), y.masked_labels.to_data());
        }
        assert!(fixed_batches(&f, &masked, 0, 7, 1, &device).is_err());
        assert!(MlmStream::new(f, masked, 0, 1).is_err());
    }
}
