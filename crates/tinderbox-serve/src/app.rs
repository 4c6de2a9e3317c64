//! The server: its state, the router with its limits and metrics middleware, and graceful
//! shutdown (on the signal, new requests get 503 while those in flight finish; then the model
//! threads drain their queues and end).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tinderbox_nn::decoder::CausalLm;

use crate::api::{Served, classify, completions, embeddings, service, unix_now};
use crate::batching::{BatchQueue, TextModel};
use crate::config::ServeConfig;
use crate::error::{ApiError, ServeError};
use crate::generation::{ChatModel, Generator, GeneratorLimits};
use crate::metrics::{EndpointLabels, Metrics, RequestLabels};

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The limits.
    pub config: ServeConfig,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The embedding model's queue.
    pub embeddings: Option<Served<BatchQueue>>,
    /// The classifier's queue and its labels.
    pub classifier: Option<(Served<BatchQueue>, Vec<String>)>,
    /// The decoder's queue.
    pub generator: Option<Served<Generator>>,
    /// Set by the shutdown signal: new requests get 503.
    pub draining: AtomicBool,
    /// When the server started (Unix seconds).
    pub started: u64,
}

impl AppState {
    /// Every served model's id and kind.
    pub fn model_ids(&self) -> Vec<(String, &'static str)> {
        let mut ids = Vec::new();
        if let Some(s) = &self.embeddings {
            ids.push((s.id.clone(), "embeddings"));
        }
        if let Some((s, _)) = &self.classifier {
            ids.push((s.id.clone(), "classifier"));
        }
        if let Some(s) = &self.generator {
            ids.push((s.id.clone(), "generator"));
        }
        ids
    }
}

/// Puts a server together: its limits, then each model (each starts its worker thread).
#[derive(Debug)]
pub struct ServerBuilder {
    config: ServeConfig,
    metrics: Arc<Metrics>,
    embeddings: Option<Served<BatchQueue>>,
    classifier: Option<(Served<BatchQueue>, Vec<String>)>,
    generator: Option<Served<Generator>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl ServerBuilder {
    /// A server with these limits and no model yet.
    pub fn new(config: ServeConfig) -> Result<Self, ServeError> {
        config.validate()?;
        Ok(Self {
            config,
            metrics: Arc::new(Metrics::default()),
            embeddings: None,
            classifier: None,
            generator: None,
            workers: Vec::new(),
        })
    }

    fn queue(
        &mut self,
        name: &'static str,
        model: Box<dyn TextModel>,
    ) -> Result<BatchQueue, ServeError> {
        let (queue, handle) = BatchQueue::start(
            name,
            model,
            self.config.max_queue,
            self.config.max_batch_tokens,
            self.config.retry_after_seconds,
            self.metrics.clone(),
        )?;
        self.workers.push(handle);
        Ok(queue)
    }

    /// Serves `model` at `/v1/embeddings` as `id`.
    pub fn embeddings(
        mut self,
        id: impl Into<String>,
        model: impl TextModel,
    ) -> Result<Self, ServeError> {
        let inner = self.queue("embeddings", Box::new(model))?;
        self.embeddings = Some(Served {
            id: id.into(),
            inner,
        });
        Ok(self)
    }

    /// Serves `model` (class probabilities in the order of `labels`) at `/v1/classify` as `id`.
    pub fn classifier(
        mut self,
        id: impl Into<String>,
        labels: Vec<String>,
        model: impl TextModel,
    ) -> Result<Self, ServeError> {
        let inner = self.queue("classify", Box::new(model))?;
        self.classifier = Some((
            Served {
                id: id.into(),
                inner,
            },
            labels,
        ));
        Ok(self)
    }

    /// Serves `chat` at `/v1/completions` and `/v1/chat/completions` as `id`, with continuous
    /// batching.
    pub fn generator<M: CausalLm + Send + 'static>(
        mut self,
        id: impl Into<String>,
        chat: ChatModel<M>,
    ) -> Result<Self, ServeError> {
        let limits = GeneratorLimits {
            max_sequences: self.config.max_sequences,
            max_context: self.config.max_context,
            max_queue: self.config.max_queue,
            retry_after: self.config.retry_after_seconds,
        };
        let (inner, handle) = Generator::start(chat, limits, self.metrics.clone())?;
        self.workers.push(handle);
        self.generator = Some(Served {
            id: id.into(),
            inner,
        });
        Ok(self)
    }

    /// The server.
    pub fn build(self) -> Server {
        Server {
            state: Arc::new(AppState {
                config: self.config,
                metrics: self.metrics,
                embeddings: self.embeddings,
                classifier: self.classifier,
                generator: self.generator,
                draining: AtomicBool::new(false),
                started: unix_now(),
            }),
            workers: self.workers,
        }
    }
}

/// A server ready to run.
#[derive(Debug)]
pub struct Server {
    state: Arc<AppState>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// The shared state (for tests and embedding in a bigger router).
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// The routes, with the body limit and the metrics middleware.
    pub fn router(&self) -> Router {
        let state = self.state.clone();
        Router::new()
            .route("/", get(service::page))
            .route("/health", get(service::health))
            .route("/metrics", get(service::metrics))
            .route("/v1/models", get(service::models))
            .route("/v1/embeddings", post(embeddings::embeddings))
            .route("/v1/classify", post(classify::classify))
            .route("/v1/completions", post(completions::completions))
            .route("/v1/chat/completions", post(completions::chat_completions))
            .fallback(service::not_found)
            // JsonBody enforces max_body_bytes itself, with a JSON 413.
            .layer(DefaultBodyLimit::disable())
            .layer(middleware::from_fn_with_state(state.clone(), track))
            .with_state(state)
    }

    /// Serves on `listener` until `shutdown` completes; then new requests get 503, requests in
    /// flight (streams included) finish, and the model threads end once their queues drain.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let router = self.router();
        let state = self.state.clone();
        let signal = async move {
            shutdown.await;
            state.draining.store(true, Ordering::SeqCst);
        };
        axum::serve(listener, router)
            .with_graceful_shutdown(signal)
            .await?;
        // The queues close when the last handle (in the state) goes; then the workers end.
        let Server { state, workers } = self;
        drop(state);
        tokio::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        })
        .await
        .map_err(|e| ServeError::Io(std::io::Error::other(e.to_string())))?;
        Ok(())
    }
}

/// Counts every request by endpoint and status, times it, and answers 503 once draining.
async fn track(
    State(state): State<Arc<AppState>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = Instant::now();
    let response = if state.draining.load(Ordering::Relaxed) && endpoint != "/health" {
        ApiError::shutting_down().into_response()
    } else {
        next.run(request).await
    };
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            endpoint: endpoint.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&EndpointLabels { endpoint })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Binds `address` and serves until Ctrl-C or SIGTERM, on a runtime of its own (two
/// threads: the handlers only parse and route, the models have their own threads). Calls
/// `on_listen` with the bound address (port 0 picks a free one).
pub fn run(
    server: Server,
    address: &str,
    on_listen: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| ServeError::Bind {
                address: address.to_string(),
                source,
            })?;
        on_listen(listener.local_addr()?);
        server.serve(listener, shutdown_signal()).await
    })
}
