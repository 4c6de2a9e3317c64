//! The generation worker: one thread owns the decoder and a
//! [`ContinuousBatch`]. Between decoding steps it admits
//! waiting requests (as many as the batch's sequence limit and cache allow), drops sequences
//! whose client went away, and routes every sequence's text to its request as it grows.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tinderbox_generate::{ContinuousBatch, Event, FinishReason, GenerationConfig, Request};
use tinderbox_nn::decoder::CausalLm;
use tinderbox_tokenize::{ChatTemplate, Tokenizer};
use tokio::sync::mpsc;

use crate::error::{ApiError, ServeError};
use crate::metrics::Metrics;

/// A decoder with what it needs to read and write text.
#[derive(Debug)]
pub struct ChatModel<M> {
    /// The decoder.
    pub model: M,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// Its chat template (chat completions need one).
    pub chat_template: Option<ChatTemplate>,
    /// The tokens that end a sequence.
    pub eos_token_ids: Vec<u32>,
    /// The id that left-pads prompts admitted together.
    pub pad_id: u32,
}

/// What a request hears about one of its sequences.
#[derive(Debug, Clone, PartialEq)]
pub enum GenEvent {
    /// New text of choice `index`.
    Text {
        /// The choice.
        index: usize,
        /// Whole characters.
        text: String,
    },
    /// Choice `index` ended, after `tokens` new tokens.
    Done {
        /// The choice.
        index: usize,
        /// Why.
        finish: FinishReason,
        /// Tokens generated.
        tokens: usize,
    },
    /// The request failed.
    Failed(ApiError),
}

struct Job {
    id: u64,
    prompt: Vec<u32>,
    configs: Vec<GenerationConfig>,
    events: mpsc::UnboundedSender<GenEvent>,
}

/// The handlers' side of the generation worker: the tokenizer and template to build prompts,
/// and the queue.
#[derive(Debug, Clone)]
pub struct Generator {
    tx: mpsc::Sender<Job>,
    /// Its tokenizer.
    pub tokenizer: Arc<Tokenizer>,
    /// Its chat template.
    pub chat_template: Option<Arc<ChatTemplate>>,
    /// Positions a sequence may use (the model's context and the server's limit).
    pub context: usize,
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// The tokens that end a sequence.
    pub eos_token_ids: Vec<u32>,
    retry_after: u64,
    next_id: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
}

/// Limits of the worker.
#[derive(Debug, Clone, Copy)]
pub struct GeneratorLimits {
    /// Sequences decoded together.
    pub max_sequences: usize,
    /// Positions per sequence (and of the running batch's cache).
    pub max_context: usize,
    /// Requests waiting.
    pub max_queue: usize,
    /// Seconds to tell an overloaded client to wait.
    pub retry_after: u64,
}

impl Generator {
    /// Starts the worker thread that owns `chat.model`.
    pub fn start<M: CausalLm + Send + 'static>(
        chat: ChatModel<M>,
        limits: GeneratorLimits,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, std::thread::JoinHandle<()>), ServeError> {
        let context = limits.max_context.min(chat.model.max_positions());
        let vocab_size = chat.model.vocab_size();
        let tokenizer = Arc::new(chat.tokenizer);
        let (tx, rx) = mpsc::channel(limits.max_queue);
        let worker_tokenizer = tokenizer.clone();
        let worker_metrics = metrics.clone();
        let (model, pad_id, max_sequences) = (chat.model, chat.pad_id, limits.max_sequences);
        let handle = std::thread::Builder::new()
            .name("tinderbox-generate".into())
            .spawn(move || {
                let mut worker = Worker {
                    batch: ContinuousBatch::new(context, pad_id),
                    model,
                    tokenizer: worker_tokenizer,
                    pad_id,
                    context,
                    max_sequences,
                    jobs: HashMap::new(),
                    pending: VecDeque::new(),
                    metrics: worker_metrics,
                };
                worker.run(rx);
            })
            .map_err(|e| ServeError::Worker("generate", e))?;
        Ok((
            Self {
                tx,
                tokenizer,
                chat_template: chat.chat_template.map(Arc::new),
                context,
                vocab_size,
                eos_token_ids: chat.eos_token_ids,
                retry_after: limits.retry_after,
                next_id: Arc::new(AtomicU64::new(0)),
                metrics,
            },
            handle,
        ))
    }

    /// Queues `prompt` with one configuration per choice; events arrive on the returned
    /// receiver, which closes after the last choice's `Done`. Dropping it cancels the
    /// request's sequences.
    pub fn submit(
        &self,
        prompt: Vec<u32>,
        configs: Vec<GenerationConfig>,
    ) -> Result<mpsc::UnboundedReceiver<GenEvent>, ApiError> {
        let (events, rx) = mpsc::unbounded_channel();
        let job = Job {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            prompt,
            configs,
            events,
        };
        match self.tx.try_send(job) {
            Ok(()) => {
                self.metrics
                    .queue_depth
                    .get_or_create(&Metrics::queue("generate"))
                    .set((self.tx.max_capacity() - self.tx.capacity()) as i64);
                Ok(rx)
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(ApiError::overloaded(
                "generate",
                self.tx.max_capacity(),
                self.retry_after,
            )),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(ApiError::shutting_down()),
        }
    }
}

/// A request's sender and the choices still running.
struct Running {
    events: mpsc::UnboundedSender<GenEvent>,
    open: usize,
}

struct Worker<M> {
    batch: ContinuousBatch<(u64, usize)>,
    model: M,
    tokenizer: Arc<Tokenizer>,
    pad_id: u32,
    context: usize,
    max_sequences: usize,
    jobs: HashMap<u64, Running>,
    pending: VecDeque<Job>,
    metrics: Arc<Metrics>,
}

impl<M: CausalLm> Worker<M> {
    fn run(&mut self, mut rx: mpsc::Receiver<Job>) {
        let queue = Metrics::queue("generate");
        loop {
            if self.batch.is_empty() && self.pending.is_empty() {
                match rx.blocking_recv() {
                    Some(job) => self.pending.push_back(job),
                    None => return,
                }
            }
            // Take from the channel only what could soon run, so that the channel's bound is
            // the backpressure.
            while self.pending.len() < self.max_sequences {
                match rx.try_recv() {
                    Ok(job) => self.pending.push_back(job),
                    Err(_) => break,
                }
            }
            self.metrics
                .queue_depth
                .get_or_create(&queue)
                .set((self.pending.len() + rx.max_capacity() - rx.capacity()) as i64);
            let outcome = catch_unwind(AssertUnwindSafe(|| self.turn()));
            if !matches!(outcome, Ok(Ok(()))) {
                let message = match outcome {
                    Ok(Err(e)) => e,
                    _ => "the model panicked".to_string(),
                };
                self.fail_running(&message);
            }
            self.metrics.running_sequences.set(self.batch.len() as i64);
        }
    }

    /// Cancels, admits and steps once.
    fn turn(&mut self) -> Result<(), String> {
        let jobs = &self.jobs;
        let gone = self
            .batch
            .cancel(|(id, _)| jobs.get(id).is_none_or(|r| r.events.is_closed()))
            .map_err(|e| e.to_string())?;
        for (id, _) in gone {
            self.jobs.remove(&id);
        }
        self.admit()?;
        if !self.batch.is_empty() {
            let started = Instant::now();
            let running = self.batch.len();
            let events = self
                .batch
                .step(&self.model, self.tokenizer.as_ref())
                .map_err(|e| e.to_string())?;
            let seconds = started.elapsed().as_secs_f64();
            self.metrics
                .batch_size
                .get_or_create(&Metrics::queue("generate"))
                .observe(running as f64);
            self.metrics
                .decode_tokens_per_second
                .set(running as f64 / seconds.max(1e-9));
            // Before the answers go out: a client that reads /metrics after its answer sees
            // its sequence gone.
            self.metrics.running_sequences.set(self.batch.len() as i64);
            self.route(events);
        }
        Ok(())
    }

    /// Admits waiting requests while the batch has room for all of a request's choices.
    fn admit(&mut self) -> Result<(), String> {
        let mut requests: Vec<Request<(u64, usize)>> = Vec::new();
        // (prompt length, max_new_tokens) of the requests taken so far, and of the next one.
        let mut shapes: Vec<(usize, usize)> = Vec::new();
        while let Some(job) = self.pending.front() {
            if job.events.is_closed() {
                self.pending.pop_front();
                continue;
            }
            let taken = shapes.len();
            shapes.extend(
                job.configs
                    .iter()
                    .map(|c| (job.prompt.len(), c.max_new_tokens)),
            );
            // The first request into an empty batch always goes (check bounds it alone).
            let first = taken == 0 && self.batch.is_empty();
            if !first
                && (self.batch.len() + shapes.len() > self.max_sequences
                    || !self.batch.fits(&shapes))
            {
                shapes.truncate(taken);
                break;
            }
            let Some(job) = self.pending.pop_front() else {
                break;
            };
            let checked = job
                .configs
                .iter()
                .try_for_each(|c| self.batch.check(&self.model, &job.prompt, c));
            if let Err(e) = checked {
                shapes.truncate(taken);
                let _ = job.events.send(GenEvent::Failed(ApiError::too_long(
                    "prompt",
                    format!("{e} (the server's context is {} positions)", self.context),
                )));
                continue;
            }
            let n = job.configs.len();
            for (index, config) in job.configs.into_iter().enumerate() {
                requests.push(Request {
                    tag: (job.id, index),
                    prompt: job.prompt.clone(),
                    config,
                });
            }
            self.metrics
                .prompt_tokens
                .get_or_create(&Metrics::queue("generate"))
                .inc_by((job.prompt.len() * n) as u64);
            self.jobs.insert(
                job.id,
                Running {
                    events: job.events,
                    open: n,
                },
            );
        }
        if requests.is_empty() {
            return Ok(());
        }
        let events = self
            .batch
            .admit(&self.model, self.tokenizer.as_ref(), requests)
            .map_err(|e| e.to_string())?;
        self.route(events);
        Ok(())
    }

    fn route(&mut self, events: Vec<Event<(u64, usize)>>) {
        self.metrics.generated_tokens.inc_by(events.len() as u64);
        for event in events {
            let (id, index) = event.tag;
            let Some(running) = self.jobs.get_mut(&id) else {
                continue;
            };
            if !event.text.is_empty() {
                let _ = running.events.send(GenEvent::Text {
                    index,
                    text: event.text,
                });
            }
            if let Some(finish) = event.finish {
                let _ = running.events.send(GenEvent::Done {
                    index,
                    finish,
                    tokens: event.generated,
                });
                running.open -= 1;
                if running.open == 0 {
                    self.jobs.remove(&id);
                }
            }
        }
    }

    /// After a model failure: every running request is told, and the batch starts empty.
    fn fail_running(&mut self, message: &str) {
        for (_, running) in self.jobs.drain() {
            let _ = running
                .events
                .send(GenEvent::Failed(ApiError::internal(format!(
                    "generation failed: {message}"
                ))));
        }
        self.batch = ContinuousBatch::new(self.context, self.pad_id);
    }
}
