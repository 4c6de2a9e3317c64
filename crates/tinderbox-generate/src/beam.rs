//! Beam search as `transformers` 5 runs it (`_beam_search`): per prompt, `num_beams` running
//! sequences scored by summed log-probabilities; each step the best `2 * num_beams` continuations
//! are kept, those that end (an end token, or the length limit) among the best `num_beams` are
//! offered to the finished list with their score divided by `length ^ length_penalty`, and the
//! best continuations that do not end run on. It stops when no running beam can beat the worst
//! of `num_beams` finished ones (or, with `early_stopping`, once `num_beams` have finished).
//!
//! Reference: `transformers` 5.25, `generation/utils.py` (`_beam_search`,
//! `_get_top_k_continuations`, `_update_finished_beams`, `_check_early_stop_heuristic`).

use burn::prelude::*;
use tinderbox_nn::decoder::CausalLm;
use tinderbox_tokenize::TextTokenizer;

use crate::config::GenerationConfig;
use crate::error::GenerateError;
use crate::generate::{FinishReason, Generated, Generation, check_prompts, left_padded, rows_of};
use crate::processors::{log_softmax, process};

/// What `transformers` adds to a score to rule a candidate out.
const RULED_OUT: f32 = -1.0e9;

struct Finished {
    ids: Vec<u32>,
    score: f32,
    eos: bool,
}

/// The `num_return_sequences` best beams of each prompt, prompts one after another.
pub fn beam_search<M: CausalLm>(
    model: &M,
    tokenizer: &dyn TextTokenizer,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    pad_id: u32,
) -> Result<Generation, GenerateError> {
    check_prompts(model, prompts, config)?;
    let mut out = Vec::new();
    let (mut prompt_seconds, mut decode_seconds) = (0.0, 0.0);
    for (index, prompt) in prompts.iter().enumerate() {
        let (found, seconds) = search(model, prompt, config, pad_id)?;
        prompt_seconds += seconds[0];
        decode_seconds += seconds[1];
        for finished in found {
            out.push(Generated {
                prompt: index,
                text: tokenizer.decode(&finished.ids, true)?,
                finish: if finished.eos {
                    FinishReason::Eos
                } else {
                    FinishReason::Length
                },
                ids: finished.ids,
                score: Some(finished.score),
            });
        }
    }
    Ok(Generation {
        new_tokens: out.iter().map(|g| g.ids.len()).sum(),
        sequences: out,
        prompt_tokens: prompts.iter().map(Vec::len).sum(),
        prompt_seconds,
        decode_seconds,
    })
}

fn search<M: CausalLm>(
    model: &M,
    prompt: &[u32],
    config: &GenerationConfig,
    pad_id: u32,
) -> Result<(Vec<Finished>, [f64; 2]), GenerateError> {
    let beams = config.num_beams;
    let device = model.device();
    let started = std::time::Instant::now();
    let keep = beams * 2.max(1 + config.eos_token_ids.len());
    let mut cache = model.new_cache(beams, prompt.len() + config.max_new_tokens);
    let inputs = vec![prompt; beams];
    let (ids, padding) = left_padded(&inputs, pad_id, &device);
    let mut logits = rows_of(model.forward_last(ids, &padding, &mut cache)?)?;
    let prompt_seconds = started.elapsed().as_secs_f64();
    let decoding = std::time::Instant::now();
    let mut running: Vec<Vec<u32>> = vec![Vec::new(); beams];
    let mut running_scores: Vec<f32> = (0..beams)
        .map(|b| if b == 0 { 0.0 } else { RULED_OUT })
        .collect();
    let mut finished: Vec<Finished> = Vec::new();
    let mut improvable = true;
    for step in 0..config.max_new_tokens {
        let generated_len = step + 1;
        let last_step = generated_len == config.max_new_tokens;
        // Every beam's continuations, scored by the beam's score plus the token's log-prob.
        let mut candidates: Vec<(f32, usize, u32)> = Vec::new();
        for (beam, scores) in logits.iter().enumerate() {
            let mut context = prompt.to_vec();
            context.extend_from_slice(&running[beam]);
            let mut log_probs = log_softmax(scores);
            process(&mut log_probs, &context, config);
            candidates.extend(
                log_probs
                    .iter()
                    .enumerate()
                    .map(|(token, &lp)| (lp + running_scores[beam], beam, token as u32)),
            );
        }
        // torch.topk: the largest first; equal scores by position (beam, then token).
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        candidates.truncate(keep);
        let ends = |token: u32| last_step || config.eos_token_ids.contains(&token);
        // Finished list: the best `beams` candidates that end, if they improve it.
        let beams_full = finished.len() == beams && config.early_stopping;
        if improvable && !beams_full {
            for (rank, &(score, beam, token)) in candidates.iter().enumerate() {
                if rank < beams && ends(token) {
                    let mut ids = running[beam].clone();
                    ids.push(token);
                    finished.push(Finished {
                        score: score / (generated_len as f32).powf(config.length_penalty as f32),
                        ids,
                        eos: config.eos_token_ids.contains(&token),
                    });
                }
            }
            finished.sort_by(|a, b| b.score.total_cmp(&a.score));
            finished.truncate(beams);
        }
        // Running beams: the best candidates that do not end.
        let mut next: Vec<(f32, usize, u32)> = candidates
            .iter()
            .map(|&(s, b, t)| (if ends(t) { s + RULED_OUT } else { s }, b, t))
            .collect();
        next.sort_by(|a, b| b.0.total_cmp(&a.0));
        next.truncate(beams);
        let parents: Vec<usize> = next.iter().map(|c| c.1).collect();
        running = next
            .iter()
            .map(|&(_, beam, token)| {
                let mut ids = running[beam].clone();
                ids.push(token);
                ids
            })
            .collect();
        running_scores = next.iter().map(|c| c.0).collect();
        // Can a running beam still beat the worst finished one?
        let best_possible =
            running_scores[0] / (generated_len as f32).powf(config.length_penalty as f32);
        let worst = if finished.len() == beams {
            finished
                .iter()
                .map(|f| f.score)
                .fold(f32::INFINITY, f32::min)
        } else {
            RULED_OUT
        };
        improvable &= best_possible > worst;
        let all_finished = finished.len() == beams && config.early_stopping;
        if last_step || !improvable || all_finished {
            break;
        }
        cache.reorder(&parents);
        let tokens: Vec<i64> = next.iter().map(|c| i64::from(c.2)).collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(tokens, [beams]), &device)
            .reshape([beams, 1]);
        logits = rows_of(model.forward_last(ids, &vec![vec![false]; beams], &mut cache)?)?;
    }
    finished.truncate(config.num_return_sequences);
    Ok((finished, [prompt_seconds, decoding.elapsed().as_secs_f64()]))
}
