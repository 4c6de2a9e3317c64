//! Dynamic batching for models that read whole texts (embeddings, classification), as
//! text-embeddings-inference does it: one worker thread owns the model; requests wait in a
//! bounded queue (full: the caller is told to retry later); each time the model is free, the
//! worker takes every waiting request up to a token budget, sorts their texts by length (less
//! padding), runs them and routes each result back. A request whose client went away is skipped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::error::{ApiError, ServeError};
use crate::metrics::{Metrics, QueueLabels};

/// A model that reads whole texts: an embedding model (one vector per text) or a classifier
/// (one probability per class). It lives on one thread, so it need not be `Sync`.
pub trait TextModel: Send + 'static {
    /// Tokens of each text as the model would read it without truncation (special tokens
    /// included).
    fn count_tokens(&self, texts: &[&str]) -> Result<Vec<usize>, String>;

    /// The most tokens the model reads of one text.
    fn max_tokens(&self) -> usize;

    /// One vector per text (texts longer than [`max_tokens`](Self::max_tokens) cut to it).
    fn run(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String>;
}

/// What a request gets back: one vector per text and the tokens read.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutput {
    /// One vector per text, in request order.
    pub vectors: Vec<Vec<f32>>,
    /// Tokens read (after truncation).
    pub tokens: usize,
}

struct Job {
    texts: Vec<String>,
    truncate: bool,
    reply: oneshot::Sender<Result<BatchOutput, ApiError>>,
}

/// The sending end of a model's queue.
#[derive(Debug, Clone)]
pub struct BatchQueue {
    tx: mpsc::Sender<Job>,
    name: &'static str,
    retry_after: u64,
    metrics: Arc<Metrics>,
}

impl BatchQueue {
    /// Starts the worker thread that owns `model`, with a queue of `capacity` requests and
    /// batches of up to `max_batch_tokens` tokens. The thread ends when every queue handle is
    /// dropped and the queue is empty.
    pub fn start(
        name: &'static str,
        model: Box<dyn TextModel>,
        capacity: usize,
        max_batch_tokens: usize,
        retry_after: u64,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, std::thread::JoinHandle<()>), ServeError> {
        let (tx, rx) = mpsc::channel(capacity);
        let worker_metrics = metrics.clone();
        let handle = std::thread::Builder::new()
            .name(format!("tinderbox-{name}"))
            .spawn(move || worker(name, model, rx, max_batch_tokens, &worker_metrics))
            .map_err(|e| ServeError::Worker(name, e))?;
        Ok((
            Self {
                tx,
                name,
                retry_after,
                metrics,
            },
            handle,
        ))
    }

    /// Queues `texts` and waits for their vectors. A text over the model's token limit is a 422
    /// unless `truncate`; a full queue is a 503 with `Retry-After`.
    pub async fn submit(
        &self,
        texts: Vec<String>,
        truncate: bool,
    ) -> Result<BatchOutput, ApiError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            texts,
            truncate,
            reply,
        };
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(ApiError::overloaded(
                    self.name,
                    self.tx.max_capacity(),
                    self.retry_after,
                ));
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(ApiError::shutting_down()),
        }
        self.metrics
            .queue_depth
            .get_or_create(&Metrics::queue(self.name))
            .set((self.tx.max_capacity() - self.tx.capacity()) as i64);
        answer.await.unwrap_or_else(|_| {
            Err(ApiError::internal(format!(
                "the {} worker stopped",
                self.name
            )))
        })
    }
}

/// A job with its texts' token counts, checked against the limit.
struct Ready {
    job: Job,
    tokens: Vec<usize>,
}

fn prepare(model: &dyn TextModel, job: Job) -> Option<Ready> {
    if job.reply.is_closed() {
        return None;
    }
    let texts: Vec<&str> = job.texts.iter().map(String::as_str).collect();
    let counted = catch_unwind(AssertUnwindSafe(|| model.count_tokens(&texts)))
        .unwrap_or_else(|_| Err("the tokenizer panicked".into()));
    let mut tokens = match counted {
        Ok(tokens) => tokens,
        Err(message) => {
            let _ = job.reply.send(Err(ApiError::internal(message)));
            return None;
        }
    };
    let limit = model.max_tokens();
    if !job.truncate
        && let Some(index) = tokens.iter().position(|&t| t > limit)
    {
        let message = format!(
            "input {index} has {} tokens, more than the model's limit of {limit}; shorten it \
             or send \"truncate\": true",
            tokens[index]
        );
        let _ = job.reply.send(Err(ApiError::too_long("input", message)));
        return None;
    }
    tokens.iter_mut().for_each(|t| *t = (*t).min(limit));
    Some(Ready { job, tokens })
}

fn worker(
    name: &'static str,
    model: Box<dyn TextModel>,
    mut rx: mpsc::Receiver<Job>,
    max_batch_tokens: usize,
    metrics: &Metrics,
) {
    let queue: QueueLabels = Metrics::queue(name);
    let mut carried: Option<Ready> = None;
    loop {
        let first = match carried.take() {
            Some(ready) => ready,
            None => match rx.blocking_recv() {
                Some(job) => match prepare(model.as_ref(), job) {
                    Some(ready) => ready,
                    None => continue,
                },
                None => return,
            },
        };
        let mut budget: usize = first.tokens.iter().sum();
        let mut batch = vec![first];
        while budget < max_batch_tokens {
            let Ok(job) = rx.try_recv() else { break };
            let Some(ready) = prepare(model.as_ref(), job) else {
                continue;
            };
            let tokens: usize = ready.tokens.iter().sum();
            if budget + tokens > max_batch_tokens {
                carried = Some(ready);
                break;
            }
            budget += tokens;
            batch.push(ready);
        }
        metrics
            .queue_depth
            .get_or_create(&queue)
            .set((rx.max_capacity() - rx.capacity()) as i64);
        run_batch(model.as_ref(), batch, metrics, &queue);
    }
}

/// Padded tokens per model call: texts sorted by length are run in chunks of about this many
/// positions, each padded only to its own longest, so that a few long texts do not make every
/// short one pay for their length.
const CHUNK_TOKENS: usize = 512;

/// Runs `texts` (sorted by their `lengths`) in chunks of at most [`CHUNK_TOKENS`] padded
/// positions (at least one text each).
fn run_in_chunks(
    model: &dyn TextModel,
    texts: &[&str],
    lengths: &[usize],
) -> Result<Vec<Vec<f32>>, String> {
    let mut out = Vec::with_capacity(texts.len());
    let mut start = 0;
    while start < texts.len() {
        let mut end = start + 1;
        while end < texts.len() && (end + 1 - start) * lengths[end].max(1) <= CHUNK_TOKENS {
            end += 1;
        }
        out.extend(model.run(&texts[start..end])?);
        start = end;
    }
    Ok(out)
}

fn run_batch(model: &dyn TextModel, batch: Vec<Ready>, metrics: &Metrics, queue: &QueueLabels) {
    // (job, text) pairs sorted by length, so that the model's own batches pad little.
    let mut order: Vec<(usize, usize)> = batch
        .iter()
        .enumerate()
        .flat_map(|(j, ready)| (0..ready.job.texts.len()).map(move |t| (j, t)))
        .collect();
    order.sort_by_key(|&(j, t)| batch[j].tokens[t]);
    let texts: Vec<&str> = order
        .iter()
        .map(|&(j, t)| batch[j].job.texts[t].as_str())
        .collect();
    metrics
        .batch_size
        .get_or_create(queue)
        .observe(texts.len() as f64);
    let lengths: Vec<usize> = order.iter().map(|&(j, t)| batch[j].tokens[t]).collect();
    let result = catch_unwind(AssertUnwindSafe(|| run_in_chunks(model, &texts, &lengths)))
        .unwrap_or_else(|_| Err("the model panicked".into()));
    let result = result.and_then(|vectors| {
        if vectors.len() == texts.len() {
            Ok(vectors)
        } else {
            Err(format!(
                "the model returned {} vectors for {} texts",
                vectors.len(),
                texts.len()
            ))
        }
    });
    let vectors = match result {
        Ok(vectors) => vectors,
        Err(message) => {
            for ready in batch {
                let _ = ready
                    .job
                    .reply
                    .send(Err(ApiError::internal(message.clone())));
            }
            return;
        }
    };
    let mut outputs: Vec<Vec<Vec<f32>>> = batch
        .iter()
        .map(|r| vec![Vec::new(); r.job.texts.len()])
        .collect();
    for (&(j, t), vector) in order.iter().zip(vectors) {
        outputs[j][t] = vector;
    }
    let mut read = 0;
    for (ready, vectors) in batch.into_iter().zip(outputs) {
        let tokens = ready.tokens.iter().sum();
        read += tokens;
        let _ = ready.job.reply.send(Ok(BatchOutput { vectors, tokens }));
    }
    metrics
        .prompt_tokens
        .get_or_create(queue)
        .inc_by(read as u64);
}
