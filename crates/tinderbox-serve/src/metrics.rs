//! Prometheus metrics (`GET /metrics`, text format), through the official `prometheus-client`
//! crate: requests by endpoint and status, latency histograms, batch sizes, queue depths, tokens
//! in and out, and the decoding speed of the last step.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A request's endpoint and answer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route (`/v1/embeddings`...).
    pub endpoint: String,
    /// The HTTP status.
    pub status: u16,
}

/// An endpoint.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// The route.
    pub endpoint: String,
}

/// A model's queue: `embeddings`, `classify` or `generate`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// The queue.
    pub queue: String,
}

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by endpoint and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Seconds from a request's arrival to its response's headers (a stream's first byte).
    pub latency: Family<EndpointLabels, Histogram>,
    /// Texts per embeddings/classification batch, sequences per decoding step.
    pub batch_size: Family<QueueLabels, Histogram>,
    /// Requests waiting per queue.
    pub queue_depth: Family<QueueLabels, Gauge>,
    /// Input tokens read, per queue.
    pub prompt_tokens: Family<QueueLabels, Counter>,
    /// Tokens generated.
    pub generated_tokens: Counter,
    /// Tokens per second of the last decoding step (all running sequences together).
    pub decode_tokens_per_second: Gauge<f64, AtomicU64>,
    /// Sequences in the running decoding batch.
    pub running_sequences: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tinderbox");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        let batch_size = Family::<QueueLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1.0, 2.0, 12))
        });
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        let prompt_tokens = Family::<QueueLabels, Counter>::default();
        let generated_tokens = Counter::default();
        let decode_tokens_per_second = Gauge::<f64, AtomicU64>::default();
        let running_sequences = Gauge::default();
        registry.register("requests", "Requests answered", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Seconds to a response's headers",
            latency.clone(),
        );
        registry.register(
            "batch_size",
            "Texts per batch, or sequences per decoding step",
            batch_size.clone(),
        );
        registry.register("queue_depth", "Requests waiting", queue_depth.clone());
        registry.register("prompt_tokens", "Input tokens read", prompt_tokens.clone());
        registry.register(
            "generated_tokens",
            "Tokens generated",
            generated_tokens.clone(),
        );
        registry.register(
            "decode_tokens_per_second",
            "Tokens per second of the last decoding step",
            decode_tokens_per_second.clone(),
        );
        registry.register(
            "running_sequences",
            "Sequences in the decoding batch",
            running_sequences.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            batch_size,
            queue_depth,
            prompt_tokens,
            generated_tokens,
            decode_tokens_per_second,
            running_sequences,
        }
    }
}

impl Metrics {
    /// The queue label.
    pub fn queue(name: &str) -> QueueLabels {
        QueueLabels {
            queue: name.to_string(),
        }
    }

    /// Everything in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
