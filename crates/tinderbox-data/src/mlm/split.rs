//! The held-out part of a pre-training corpus, chosen by document so that no held-out sentence
//! has a neighbour in training. Membership is a seeded hash of the document id: it needs no list
//! of the corpus (documents stream past once) and is the same on every machine.

use sha2::{Digest, Sha256};

/// Whether the document `id` is held out: true for about `fraction` of all ids, the same ones
/// for the same `seed`.
///
/// ```
/// use tinderbox_data::mlm::is_held_out;
///
/// let held: Vec<bool> = (0..1000).map(|i| is_held_out(&format!("doc-{i}"), 0.02, 42)).collect();
/// let count = held.iter().filter(|h| **h).count();
/// assert!((5..40).contains(&count));
/// assert_eq!(is_held_out("doc-7", 0.02, 42), held[7]);
/// ```
pub fn is_held_out(id: &str, fraction: f64, seed: u64) -> bool {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Uniform in [0, 1) from the top 53 bits.
    let unit = (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
    unit < fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_the_fraction_is_held_out_and_seeds_differ() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("corpus/doc-{i}")).collect();
        let held =
            |seed| -> Vec<bool> { ids.iter().map(|id| is_held_out(id, 0.02, seed)).collect() };
        let a = held(1);
        let rate = a.iter().filter(|h| **h).count() as f64 / ids.len() as f64;
        // 400 expected, standard deviation 20.
        assert!((rate - 0.02).abs() < 0.004, "{rate}");
        assert_eq!(a, held(1));
        assert_ne!(a, held(2));
    }

    #[test]
    fn edge_fractions() {
        assert!((0..100).all(|i| !is_held_out(&i.to_string(), 0.0, 0)));
        assert!((0..100).all(|i| is_held_out(&i.to_string(), 1.0, 0)));
    }
}
