//! The order in which an epoch visits the training set: shuffled by default, or grouped by
//! length so that dynamically padded batches carry little padding.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Decides the order of one epoch's examples from the epoch's seed.
pub trait EpochOrder: Send + Sync {
    /// A permutation of `0..len` for the epoch whose seed is `seed`.
    fn order(&self, len: usize, seed: u64) -> Vec<usize>;
}

/// Length bucketing: shuffle, cut into windows of `window_batches` batches, sort each window by
/// length, cut it into batches and shuffle the batches. Batches hold examples of similar length
/// (little padding) while the epoch stays random.
///
/// ```
/// use tinderbox_train::{EpochOrder, LengthBuckets};
///
/// let lengths = vec![5, 90, 7, 88, 6, 91, 4, 89];
/// let order = LengthBuckets::new(lengths.clone(), 2, 4).order(8, 42);
/// for batch in order.chunks(2) {
///     let (a, b) = (lengths[batch[0]], lengths[batch[1]]);
///     assert!(a.abs_diff(b) < 10, "{a} and {b} share a batch");
/// }
/// ```
#[derive(Debug, Clone)]
pub struct LengthBuckets {
    lengths: Vec<usize>,
    batch_size: usize,
    window_batches: usize,
}

impl LengthBuckets {
    /// Buckets examples of the given lengths into batches of `batch_size`, sorting windows of
    /// `window_batches` batches (50 is a common choice).
    pub fn new(lengths: Vec<usize>, batch_size: usize, window_batches: usize) -> Self {
        Self {
            lengths,
            batch_size: batch_size.max(1),
            window_batches: window_batches.max(1),
        }
    }
}

impl EpochOrder for LengthBuckets {
    fn order(&self, len: usize, seed: u64) -> Vec<usize> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut indices: Vec<usize> = (0..len).collect();
        indices.shuffle(&mut rng);
        let length = |i: usize| self.lengths.get(i).copied().unwrap_or(0);
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for window in indices.chunks_mut(self.batch_size * self.window_batches) {
            window.sort_by_key(|&i| length(i));
            batches.extend(window.chunks(self.batch_size).map(<[usize]>::to_vec));
        }
        batches.shuffle(&mut rng);
        batches.concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_permutation_of_every_index() {
        let lengths: Vec<usize> = (0..103).map(|i| (i * 37) % 50).collect();
        let buckets = LengthBuckets::new(lengths, 8, 3);
        let order = buckets.order(103, 1);
        assert_eq!(order, buckets.order(103, 1));
        assert_ne!(order, buckets.order(103, 2));
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..103).collect::<Vec<_>>());
    }
}
