//! The logits processors of Hugging Face's `generate`, one small function each, applied to one
//! row of logits in `transformers`' order: repetition penalty and n-gram blocking on the raw
//! scores, then (when sampling) temperature, top-k, top-p and min-p.
//!
//! Reference: `transformers` 5.25, `generation/logits_process.py`.

use std::collections::HashSet;

use crate::config::GenerationConfig;

/// CTRL's repetition penalty (`RepetitionPenaltyLogitsProcessor`): each token already in
/// `context` has its score divided by `penalty` when positive and multiplied when negative.
pub fn repetition_penalty(scores: &mut [f32], context: &[u32], penalty: f32) {
    if penalty == 1.0 {
        return;
    }
    let seen: HashSet<u32> = context.iter().copied().collect();
    for id in seen {
        if let Some(s) = scores.get_mut(id as usize) {
            *s = if *s < 0.0 { *s * penalty } else { *s / penalty };
        }
    }
}

/// `NoRepeatNGramLogitsProcessor`: bans every token that would complete an n-gram of size `n`
/// already in `context`.
pub fn no_repeat_ngram(scores: &mut [f32], context: &[u32], n: usize) {
    if n == 0 || context.len() + 1 < n {
        return;
    }
    let prefix = &context[context.len() + 1 - n..];
    for window in context.windows(n) {
        if &window[..n - 1] == prefix
            && let Some(s) = scores.get_mut(window[n - 1] as usize)
        {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// `TemperatureLogitsWarper`.
pub fn temperature(scores: &mut [f32], temperature: f32) {
    if temperature != 1.0 {
        scores.iter_mut().for_each(|s| *s /= temperature);
    }
}

/// `TopKLogitsWarper`: scores below the `k`-th largest become `-inf` (ties at the `k`-th stay).
pub fn top_k(scores: &mut [f32], k: usize) {
    if k == 0 || k >= scores.len() {
        return;
    }
    let mut sorted: Vec<f32> = scores.to_vec();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let threshold = sorted[k - 1];
    scores
        .iter_mut()
        .filter(|s| **s < threshold)
        .for_each(|s| *s = f32::NEG_INFINITY);
}

/// `TopPLogitsWarper`: keeps the most likely tokens whose probabilities sum to `top_p`, removing
/// (in ascending order) those whose cumulative probability stays at or below `1 - top_p`; the
/// most likely token always stays.
pub fn top_p(scores: &mut [f32], top_p: f32) {
    if top_p >= 1.0 {
        return;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Ascending, as torch.sort(descending=False); equal scores in index order.
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    let sorted: Vec<f32> = order.iter().map(|&i| scores[i]).collect();
    let probs = softmax(&sorted);
    let mut cumulative = 0.0f32;
    let last = order.len() - 1;
    for (rank, (&index, p)) in order.iter().zip(probs).enumerate() {
        cumulative += p;
        if cumulative <= 1.0 - top_p && rank != last {
            scores[index] = f32::NEG_INFINITY;
        }
    }
}

/// `MinPLogitsWarper`: removes tokens whose probability is below `min_p` times the largest.
pub fn min_p(scores: &mut [f32], min_p: f32) {
    if min_p <= 0.0 {
        return;
    }
    let probs = softmax(scores);
    let top = probs.iter().copied().fold(0.0f32, f32::max);
    let best = argmax(scores);
    for (i, (s, p)) in scores.iter_mut().zip(probs).enumerate() {
        if p < min_p * top && i != best {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// Applies the processors that `config` turns on, in `transformers`' order; the warpers only
/// when sampling.
pub fn process(scores: &mut [f32], context: &[u32], config: &GenerationConfig) {
    repetition_penalty(scores, context, config.repetition_penalty as f32);
    no_repeat_ngram(scores, context, config.no_repeat_ngram_size);
    if config.do_sample {
        temperature(scores, config.temperature as f32);
        top_k(scores, config.top_k);
        top_p(scores, config.top_p as f32);
        min_p(scores, config.min_p as f32);
    }
}

/// Softmax of a row (`-inf` entries get probability 0).
pub fn softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// The index of the largest score, the first on ties (as `torch.argmax`).
pub fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}

/// Log-softmax of a row.
pub fn log_softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_sum = scores.iter().map(|s| (s - max).exp()).sum::<f32>().ln() + max;
    scores.iter().map(|s| s - log_sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_penalty_divides_positive_and_multiplies_negative_scores() {
        let mut s = vec![2.0, -2.0, 1.0];
        repetition_penalty(&mut s, &[0, 1, 1], 2.0);
        assert_eq!(s, vec![1.0, -4.0, 1.0]);
    }

    #[test]
    fn a_repeated_bigram_is_banned() {
        let mut s = vec![0.0; 5];
        // "1 2 ... 1" -> 2 would repeat the bigram (1, 2).
        no_repeat_ngram(&mut s, &[1, 2, 3, 1], 2);
        assert_eq!(s[2], f32::NEG_INFINITY);
        assert!(s.iter().enumerate().all(|(i, &v)| i == 2 || v == 0.0));
    }

    #[test]
    fn top_k_keeps_ties_at_the_threshold() {
        let mut s = vec![1.0, 3.0, 2.0, 2.0, 0.0];
        top_k(&mut s, 2);
        assert_eq!(s, vec![f32::NEG_INFINITY, 3.0, 2.0, 2.0, f32::NEG_INFINITY]);
    }

    #[test]
    fn top_p_keeps_the_smallest_set_reaching_p() {
        // Probabilities 0.5, 0.3, 0.2 (logs).
        let mut s: Vec<f32> = [0.5f32, 0.3, 0.2].iter().map(|p| p.ln()).collect();
        top_p(&mut s, 0.7);
        assert!(s[0].is_finite() && s[1].is_finite() && s[2] == f32::NEG_INFINITY);
        let mut s: Vec<f32> = [0.5f32, 0.3, 0.2].iter().map(|p| p.ln()).collect();
        top_p(&mut s, 0.01);
        assert!(s[0].is_finite() && s[1..].iter().all(|v| *v == f32::NEG_INFINITY));
    }

    #[test]
    fn min_p_drops_tokens_far_below_the_best() {
        let mut s: Vec<f32> = [0.6f32, 0.3, 0.1].iter().map(|p| p.ln()).collect();
        min_p(&mut s, 0.25);
        assert!(s[0].is_finite() && s[1].is_finite() && s[2] == f32::NEG_INFINITY);
    }

    #[test]
    fn greedy_ignores_the_warpers() {
        let config = GenerationConfig {
            top_k: 1,
            temperature: 0.5,
            ..GenerationConfig::default()
        };
        let mut s = vec![1.0, 2.0];
        process(&mut s, &[], &config);
        assert_eq!(s, vec![1.0, 2.0]);
    }
}
