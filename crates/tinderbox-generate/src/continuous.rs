//! Continuous batching, as llama.cpp's server slots and text-generation-inference run it: one
//! decoding batch whose sequences each take a step together, new sequences joining between
//! steps (prefilled on their own, then appended to the batch's cache) and finished or
//! cancelled ones leaving, each with its own sampling settings and random generator.
//!
//! The caller drives it: [`ContinuousBatch::admit`] when requests arrive, [`ContinuousBatch::step`]
//! while it is not empty, [`ContinuousBatch::cancel`] when a client goes away. It holds no
//! threads and no model: a server's worker thread owns both.

use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tinderbox_nn::decoder::{CausalLm, KvCache};
use tinderbox_tokenize::TextTokenizer;

use crate::config::GenerationConfig;
use crate::error::GenerateError;
use crate::generate::{FinishReason, check_prompts, left_padded, rows_of};
use crate::sequence::Sequence;

/// A sequence to start: its prompt ids and settings (`seed` seeds its own generator), and a
/// tag that the caller knows it by.
#[derive(Debug, Clone)]
pub struct Request<T> {
    /// The caller's name for it (a request id and a choice index, say).
    pub tag: T,
    /// The prompt's ids.
    pub prompt: Vec<u32>,
    /// How to continue it.
    pub config: GenerationConfig,
}

/// What one sequence did in an admission or a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<T> {
    /// The sequence.
    pub tag: T,
    /// The token it chose.
    pub token: u32,
    /// New text that is whole (with the held-back rest when it ended).
    pub text: String,
    /// Why it ended, when it did (it has then left the batch).
    pub finish: Option<FinishReason>,
    /// Tokens it has generated so far.
    pub generated: usize,
}

struct Row<T> {
    tag: T,
    sequence: Sequence,
    rng: StdRng,
}

/// The running batch: its sequences and their shared cache.
pub struct ContinuousBatch<T> {
    cache: Option<KvCache>,
    capacity: usize,
    pad_id: u32,
    rows: Vec<Row<T>>,
}

impl<T> std::fmt::Debug for ContinuousBatch<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContinuousBatch")
            .field("sequences", &self.rows.len())
            .field("positions", &self.cache.as_ref().map_or(0, KvCache::len))
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<T: Clone> ContinuousBatch<T> {
    /// An empty batch whose cache holds `capacity` positions (the longest prompt plus new
    /// tokens a sequence may have, and the bound on the batch's shared length); shorter
    /// prompts of one admission are left-padded with `pad_id`.
    pub fn new(capacity: usize, pad_id: u32) -> Self {
        Self {
            cache: None,
            capacity,
            pad_id,
            rows: Vec::new(),
        }
    }

    /// Sequences running.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no sequence runs.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The batch's shared length (its longest sequence, padding in front of the others).
    pub fn positions(&self) -> usize {
        self.cache.as_ref().map_or(0, KvCache::len)
    }

    /// The capacity it was made with.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The tags of the running sequences, in batch order.
    pub fn tags(&self) -> impl Iterator<Item = &T> {
        self.rows.iter().map(|r| &r.tag)
    }

    /// Checks a request against the model and this batch's capacity, naming what is wrong:
    /// what [`admit`](Self::admit) would refuse.
    pub fn check<M: CausalLm>(
        &self,
        model: &M,
        prompt: &[u32],
        config: &GenerationConfig,
    ) -> Result<(), GenerateError> {
        check_prompts(model, &[prompt], config)?;
        if prompt.len() + config.max_new_tokens > self.capacity {
            return Err(GenerateError::TooLong {
                index: 0,
                tokens: prompt.len(),
                max_new_tokens: config.max_new_tokens,
                context: self.capacity,
            });
        }
        Ok(())
    }

    /// Whether sequences with these `(prompt length, max_new_tokens)` can join now: the
    /// batch's length after they join, plus the most steps any sequence may still take, must
    /// fit the capacity. Otherwise they wait for running sequences to finish.
    pub fn fits(&self, joining: &[(usize, usize)]) -> bool {
        let len = joining
            .iter()
            .map(|&(prompt, _)| prompt)
            .fold(self.positions(), usize::max);
        let steps = joining
            .iter()
            .map(|&(_, new)| new)
            .chain(self.rows.iter().map(|r| r.sequence.remaining()))
            .max()
            .unwrap_or(0);
        len + steps <= self.capacity
    }

    /// Starts `requests`: one forward pass over their prompts (left-padded together), their
    /// first tokens chosen, and those that did not end at once added to the batch. Returns
    /// each request's first event. Each request must pass [`check`](Self::check).
    pub fn admit<M: CausalLm>(
        &mut self,
        model: &M,
        tokenizer: &dyn TextTokenizer,
        requests: Vec<Request<T>>,
    ) -> Result<Vec<Event<T>>, GenerateError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        for request in &requests {
            self.check(model, &request.prompt, &request.config)?;
        }
        let prompts: Vec<&[u32]> = requests.iter().map(|r| r.prompt.as_slice()).collect();
        let longest = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
        let mut cache = model.new_cache(requests.len(), longest);
        let (ids, padding) = left_padded(&prompts, self.pad_id, &model.device());
        let logits = rows_of(model.forward_last(ids, &padding, &mut cache)?)?;
        let mut running = match self.cache.take() {
            Some(running) => running,
            None => model.new_cache(0, self.capacity),
        };
        running.append(cache).map_err(GenerateError::Cache)?;
        self.cache = Some(running);
        let first = self.rows.len();
        self.rows.extend(requests.into_iter().map(|r| Row {
            rng: StdRng::seed_from_u64(r.config.seed),
            sequence: Sequence::new(r.prompt, r.config),
            tag: r.tag,
        }));
        self.choose(first, logits, tokenizer)
    }

    /// One decoding step for every running sequence; those that end leave the batch.
    pub fn step<M: CausalLm>(
        &mut self,
        model: &M,
        tokenizer: &dyn TextTokenizer,
    ) -> Result<Vec<Event<T>>, GenerateError> {
        let Some(cache) = self.cache.as_mut() else {
            return Ok(Vec::new());
        };
        if self.rows.is_empty() {
            return Ok(Vec::new());
        }
        let next: Vec<i64> = self
            .rows
            .iter()
            .map(|r| r.sequence.generated().last().map_or(0, |&t| i64::from(t)))
            .collect();
        let b = next.len();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(next, [b]), &model.device())
            .reshape([b, 1]);
        let logits = rows_of(model.forward_last(ids, &vec![vec![false]; b], cache)?)?;
        self.choose(0, logits, tokenizer)
    }

    /// Removes the sequences whose tag `gone` picks (their clients went away) and returns
    /// their tags.
    pub fn cancel(&mut self, gone: impl Fn(&T) -> bool) -> Result<Vec<T>, GenerateError> {
        self.drop_rows(|row| gone(&row.tag))
    }

    /// Chooses the next token of rows `first..` from `logits` (one row each, in order), then
    /// drops the rows that ended.
    fn choose(
        &mut self,
        first: usize,
        mut logits: Vec<Vec<f32>>,
        tokenizer: &dyn TextTokenizer,
    ) -> Result<Vec<Event<T>>, GenerateError> {
        let mut events = Vec::with_capacity(logits.len());
        for (row, scores) in self.rows[first..].iter_mut().zip(logits.iter_mut()) {
            let token = row.sequence.push_logits(scores, &mut row.rng, tokenizer)?;
            let mut text = token.text;
            if row.sequence.finish().is_some() {
                text.push_str(&row.sequence.flush(tokenizer)?);
            }
            events.push(Event {
                tag: row.tag.clone(),
                token: token.id,
                text,
                finish: row.sequence.finish(),
                generated: row.sequence.generated().len(),
            });
        }
        self.drop_rows(|row| row.sequence.finish().is_some())?;
        Ok(events)
    }

    /// Takes the rows that `leaves` picks out of the batch and its cache (trimming the padding
    /// they leave in front of everyone) and returns their tags.
    fn drop_rows(&mut self, leaves: impl Fn(&Row<T>) -> bool) -> Result<Vec<T>, GenerateError> {
        // Asked once per row: `leaves` may look at something that changes (a client's
        // connection), and the rows and the cache must lose the same ones.
        let leaving: Vec<bool> = self.rows.iter().map(&leaves).collect();
        if !leaving.contains(&true) {
            return Ok(Vec::new());
        }
        let keep: Vec<usize> = (0..leaving.len()).filter(|&i| !leaving[i]).collect();
        let (kept, left): (Vec<_>, Vec<_>) = std::mem::take(&mut self.rows)
            .into_iter()
            .zip(&leaving)
            .partition(|(_, leaves)| !**leaves);
        self.rows = kept.into_iter().map(|(row, _)| row).collect();
        if let Some(cache) = self.cache.as_mut() {
            cache.retain(&keep).map_err(GenerateError::Cache)?;
            cache.trim_front();
        }
        Ok(left.into_iter().map(|(row, _)| row.tag).collect())
    }
}
