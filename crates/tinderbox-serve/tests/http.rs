//! The server over real HTTP on localhost, as clients use it: OpenAI's shapes, errors with their
//! statuses, dynamic batching routing each result to its request, continuous batching giving
//! each request what it would get alone, streaming, cancellation, overload, metrics and
//! graceful shutdown. Models: a character-count "embedding" model (exact values to check
//! routing against) and a tiny random Llama with a byte-level tokenizer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use burn::prelude::*;
use serde_json::{Value, json};
use tinderbox_generate::{GenerationConfig, generate};
use tinderbox_nn::decoder::{Llama, LlamaConfig};
use tinderbox_serve::{ChatModel, ServeConfig, ServerBuilder, TextModel};
use tinderbox_tokenize::{ChatTemplate, TextTokenizer, Tokenizer, TrainOptions};

/// Each text's length in characters and its count of `a`s, so every vector says which text it
/// belongs to. Records the size of every batch; `delay` makes it slow.
#[derive(Clone, Default)]
struct Counts {
    batches: Arc<Mutex<Vec<usize>>>,
    delay: Duration,
}

impl TextModel for Counts {
    fn count_tokens(&self, texts: &[&str]) -> Result<Vec<usize>, String> {
        Ok(texts
            .iter()
            .map(|t| t.split_whitespace().count() + 2)
            .collect())
    }

    fn max_tokens(&self) -> usize {
        12
    }

    fn run(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        self.batches.lock().unwrap().push(texts.len());
        std::thread::sleep(self.delay);
        Ok(texts
            .iter()
            .map(|t| vec![t.chars().count() as f32, t.matches('a').count() as f32])
            .collect())
    }
}

fn tokenizer() -> Tokenizer {
    let text = [
        "the whale swam and the ship sailed across the sea",
        "a man is eating food and a dog is eating bread",
        "what is the capital of france? paris is the capital",
    ];
    let mut options = TrainOptions::new(300);
    options.lowercase = false;
    options.show_progress = false;
    Tokenizer::train_causal_bpe(text.iter(), &options).unwrap()
}

fn tiny_llama(vocab: usize) -> Llama {
    LlamaConfig {
        max_position_embeddings: 128,
        rms_norm_eps: 1e-5,
        ..LlamaConfig::new(vocab, 32, 64, 2, 4, 2)
    }
    .init(&Device::default())
    .unwrap()
}

const TEMPLATE: &str = "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}\
                        {% if add_generation_prompt %}<assistant>{% endif %}";

/// The tiny chat model; pass the weights of another to compare with it.
fn chat_model(weights: Option<&Llama>) -> ChatModel<Llama> {
    let tokenizer = tokenizer();
    ChatModel {
        model: weights
            .cloned()
            .unwrap_or_else(|| tiny_llama(tokenizer.vocab_size())),
        tokenizer,
        chat_template: Some(ChatTemplate::new(TEMPLATE).unwrap()),
        eos_token_ids: Vec::new(),
        pad_id: 1,
    }
}

struct Running {
    base: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(builder: ServerBuilder) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = builder.build();
    let done = tokio::spawn(async move {
        server
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        base,
        client: reqwest::Client::new(),
        stop: Some(stop),
        done,
    }
}

impl Running {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn raw(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.done.await.unwrap();
    }
}

fn message(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_answer_in_openai_shapes_and_bad_input_gets_its_status() {
    let config = ServeConfig {
        max_body_bytes: 4096,
        max_inputs: 4,
        ..ServeConfig::default()
    };
    let server = start(
        ServerBuilder::new(config)
            .unwrap()
            .embeddings("counts", Counts::default())
            .unwrap(),
    )
    .await;
    let (status, body) = server
        .post(
            "/v1/embeddings",
            json!({"input": ["banana", "kiwi"], "model": "counts"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
    assert_eq!(body["model"], "counts");
    assert_eq!(body["data"][0]["embedding"], json!([6.0, 3.0]));
    assert_eq!(body["data"][1]["embedding"], json!([4.0, 0.0]));
    assert_eq!(body["data"][1]["index"], 1);
    assert_eq!(body["usage"]["prompt_tokens"], 6);
    // base64 is little-endian f32, what the openai Python client asks for by default.
    let (status, body) = server
        .post(
            "/v1/embeddings",
            json!({"input": "aa", "encoding_format": "base64"}),
        )
        .await;
    assert_eq!(status, 200);
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let floats: Vec<f32> = bytes
        .chunks(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(floats, [2.0, 2.0]);

    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"input": []}), 400, "empty list"),
        (json!({"input": 5}), 400, "input is a number"),
        (json!({"input": ["a", 7]}), 400, "input[1] is a number"),
        (json!({}), 400, "input is missing"),
        (
            json!({"input": "a", "model": "gpt-9"}),
            404,
            "`gpt-9` is not served",
        ),
        (json!({"input": vec!["a"; 5]}), 422, "the limit is 4"),
        (
            json!({"input": "one two three four five six seven eight nine ten eleven"}),
            422,
            "limit of 12",
        ),
        (
            json!({"input": "a", "encoding_format": "hex"}),
            400,
            "encoding_format",
        ),
        (json!({"input": "a", "dimensions": 3}), 400, "2 dimensions"),
    ];
    for (request, expected, needle) in cases {
        let (status, body) = server.post("/v1/embeddings", request.clone()).await;
        assert_eq!(status, expected, "{request}: {body}");
        assert!(message(&body).contains(needle), "{request}: {body}");
    }
    // A long text is cut when asked to be.
    let (status, body) = server
        .post(
            "/v1/embeddings",
            json!({"input": "one two three four five six seven eight nine ten eleven", "truncate": true}),
        )
        .await;
    assert_eq!(
        (status, body["usage"]["prompt_tokens"].clone()),
        (200, json!(12))
    );
    // Malformed JSON, a wrong type, invalid UTF-8, an empty body, an oversized body.
    let (status, body) = server.raw("/v1/embeddings", b"{\"input\": ".to_vec()).await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("invalid JSON"), "{body}");
    let (status, body) = server
        .raw(
            "/v1/embeddings",
            b"{\"input\": \"a\", \"truncate\": \"yes\"}".to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("invalid type"), "{body}");
    let (status, body) = server
        .raw("/v1/embeddings", b"{\"input\": \"\xff\xfe\"}".to_vec())
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = server.raw("/v1/embeddings", Vec::new()).await;
    assert_eq!(status, 400);
    let big = format!("{{\"input\": \"{}\"}}", "a".repeat(10 << 20));
    let (status, body) = server.raw("/v1/embeddings", big.into_bytes()).await;
    assert_eq!(status, 413, "{body}");
    assert!(message(&body).contains("4096 bytes"), "{body}");
    // Endpoints without a model, unknown paths.
    let (status, body) = server.post("/v1/classify", json!({"input": "a"})).await;
    assert_eq!(status, 404);
    assert!(message(&body).contains("--classifier"), "{body}");
    let (status, _) = server
        .post("/v1/chat/completions", json!({"messages": []}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = server.get("/v2/nothing").await;
    assert_eq!(status, 404);

    let (status, health) = server.get("/health").await;
    assert_eq!((status, health.as_str()), (200, r#"{"status":"ok"}"#));
    let (_, models) = server.get("/v1/models").await;
    assert!(models.contains(r#""id":"counts""#), "{models}");
    let (status, page) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("tinderbox serve") && page.contains("/v1/chat/completions"));
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains(r#"tinderbox_requests_total{endpoint="/v1/embeddings",status="200"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"tinderbox_requests_total{endpoint="/v1/embeddings",status="413"} 1"#)
    );
    assert!(metrics.contains("tinderbox_request_duration_seconds_bucket"));
    assert!(metrics.contains(r#"tinderbox_batch_size_count{queue="embeddings"}"#));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_together_are_batched_and_each_gets_its_own_result() {
    let model = Counts {
        delay: Duration::from_millis(150),
        ..Counts::default()
    };
    let batches = model.batches.clone();
    let server = Arc::new(
        start(
            ServerBuilder::new(ServeConfig::default())
                .unwrap()
                .embeddings("counts", model)
                .unwrap(),
        )
        .await,
    );
    let mut tasks = Vec::new();
    for i in 0..12usize {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let text = "a".repeat(i + 1);
            let (status, body) = server.post("/v1/embeddings", json!({"input": text})).await;
            (i, status, body)
        }));
        if i == 0 {
            // The first request occupies the model; the others queue behind it.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for task in tasks {
        let (i, status, body) = task.await.unwrap();
        assert_eq!(status, 200);
        let n = (i + 1) as f32;
        assert_eq!(body["data"][0]["embedding"], json!([n, n]), "request {i}");
    }
    let sizes = batches.lock().unwrap().clone();
    assert!(
        sizes.iter().any(|&s| s > 1) && sizes.len() < 12,
        "batch sizes {sizes:?}"
    );
    // 100,000 inputs (under the default 2 MiB body limit) against the default 2,048.
    let (status, body) = server
        .post("/v1/embeddings", json!({"input": vec!["a"; 100_000]}))
        .await;
    assert_eq!(status, 422);
    assert!(message(&body).contains("input has 100000 items; the limit is 2048"));
    Arc::into_inner(server).unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after() {
    let model = Counts {
        delay: Duration::from_millis(300),
        ..Counts::default()
    };
    let config = ServeConfig {
        max_queue: 1,
        max_batch_tokens: 3,
        ..ServeConfig::default()
    };
    let server = start(
        ServerBuilder::new(config)
            .unwrap()
            .embeddings("counts", model)
            .unwrap(),
    )
    .await;
    let client = server.client.clone();
    let url = format!("{}/v1/embeddings", server.base);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&json!({"input": "a"}))
                .send()
                .await
                .unwrap();
            let retry = response.headers().get("retry-after").cloned();
            (response.status().as_u16(), retry)
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        let (status, retry) = task.await.unwrap();
        if status == 503 {
            assert_eq!(retry.unwrap(), "1");
        }
        statuses.push(status);
    }
    assert!(
        statuses.contains(&503) && statuses.contains(&200),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "{statuses:?}"
    );
    server.shutdown().await;
}

/// Greedy continuations of `prompt` by the tiny model alone, through `generate`.
fn alone(chat: &ChatModel<Llama>, prompt: &str, max: usize) -> String {
    let ids = chat.tokenizer.encode(prompt, true).unwrap();
    let out = generate(
        &chat.model,
        &chat.tokenizer,
        &[ids],
        &GenerationConfig::greedy(max),
        chat.pad_id,
        None,
    )
    .unwrap();
    out.sequences[0].text.clone()
}

/// The concatenated text of a streamed completion, and its chunks.
async fn streamed(server: &Running, path: &str, body: Value) -> (String, Vec<Value>) {
    let response = server
        .client
        .post(format!("{}{path}", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = response.text().await.unwrap();
    let mut chunks = Vec::new();
    let mut content = String::new();
    let mut done = false;
    for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if line == "[DONE]" {
            done = true;
            continue;
        }
        let chunk: Value = serde_json::from_str(line).unwrap();
        if let Some(choice) = chunk["choices"].get(0) {
            content.push_str(
                choice["delta"]["content"]
                    .as_str()
                    .or(choice["text"].as_str())
                    .unwrap_or_default(),
            );
        }
        chunks.push(chunk);
    }
    assert!(done, "no [DONE] in {text}");
    (content, chunks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_completions_each_equal_their_continuation_alone() {
    let reference = chat_model(None);
    let prompts = [
        "the whale",
        "a man is eating",
        "what is the capital of france?",
        "paris",
        "the ship sailed across the sea and",
        "a dog",
    ];
    // The first is long, so that the others join the batch while it decodes.
    let lengths = [100usize, 5, 20, 9, 14, 3];
    let expected: Vec<String> = prompts
        .iter()
        .zip(lengths)
        .map(|(p, n)| alone(&reference, p, n))
        .collect();
    let config = ServeConfig {
        max_sequences: 4,
        ..ServeConfig::default()
    };
    let server = Arc::new(
        start(
            ServerBuilder::new(config)
                .unwrap()
                .generator("tiny", chat_model(Some(&reference.model)))
                .unwrap(),
        )
        .await,
    );
    let mut tasks = Vec::new();
    for (i, (prompt, n)) in prompts.iter().zip(lengths).enumerate() {
        let server = server.clone();
        let prompt = prompt.to_string();
        tasks.push(tokio::spawn(async move {
            // Staggered, so that sequences join a batch already decoding.
            tokio::time::sleep(Duration::from_millis(if i == 0 {
                0
            } else {
                20 + 3 * i as u64
            }))
            .await;
            let body = json!({"prompt": prompt, "max_tokens": n, "temperature": 0});
            server.post("/v1/completions", body).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["object"], "text_completion");
        assert_eq!(body["choices"][0]["text"], expected[i], "prompt {i}");
        assert_eq!(body["choices"][0]["finish_reason"], "length");
        assert_eq!(body["usage"]["completion_tokens"], lengths[i]);
    }
    // Some steps decoded several sequences at once (the batch size's sum passes its count).
    let (_, metrics) = server.get("/metrics").await;
    let figure = |name: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(name)).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let steps = figure(r#"tinderbox_batch_size_count{queue="generate"}"#);
    let rows = figure(r#"tinderbox_batch_size_sum{queue="generate"}"#);
    assert!(rows > steps, "{rows} rows in {steps} steps");
    // Streamed, the pieces add up to the same text.
    let (text, chunks) = streamed(
        &server,
        "/v1/completions",
        json!({"prompt": prompts[2], "max_tokens": 20, "temperature": 0, "stream": true,
               "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(text, expected[2]);
    // At least the finish chunk and the usage chunk (a text of held-back bytes comes whole).
    assert!(chunks.len() >= 2);
    let last = chunks.last().unwrap();
    assert_eq!(last["usage"]["completion_tokens"], 20);
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "length"
    );
    // A stop string ends the text before it. (The random model may emit bytes that are not
    // UTF-8, which the whole text shows as U+FFFD and the stream holds back: no stop string
    // is taken from those.)
    let cut: String = expected[2].chars().skip(4).take(3).collect();
    if !cut.trim().is_empty() && !cut.contains('\u{FFFD}') {
        let (status, body) = server
            .post(
                "/v1/completions",
                json!({"prompt": prompts[2], "max_tokens": 20, "temperature": 0, "stop": cut}),
            )
            .await;
        assert_eq!(status, 200);
        let text = body["choices"][0]["text"].as_str().unwrap();
        assert!(
            expected[2].starts_with(text) && !text.contains(&cut),
            "{text:?} / {cut:?}"
        );
        assert_eq!(
            body["choices"][0]["finish_reason"], "stop",
            "{text:?} / {cut:?} / {:?}",
            expected[2]
        );
    }
    Arc::into_inner(server).unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streams_samples_by_seed_and_refuses_what_it_cannot_do() {
    let config = ServeConfig {
        max_tokens: 40,
        max_context: 64,
        ..ServeConfig::default()
    };
    let server = start(
        ServerBuilder::new(config)
            .unwrap()
            .generator("tiny", chat_model(None))
            .unwrap(),
    )
    .await;
    let messages = json!([{"role": "system", "content": "be brief"},
                          {"role": "user", "content": [{"type": "text", "text": "the whale"}]}]);
    let (status, whole) = server
        .post(
            "/v1/chat/completions",
            json!({"model": "tiny", "messages": messages, "max_tokens": 10, "temperature": 0}),
        )
        .await;
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["object"], "chat.completion");
    assert_eq!(whole["choices"][0]["message"]["role"], "assistant");
    let (text, chunks) = streamed(
        &server,
        "/v1/chat/completions",
        json!({"messages": messages, "max_tokens": 10, "temperature": 0, "stream": true}),
    )
    .await;
    assert_eq!(
        text,
        whole["choices"][0]["message"]["content"].as_str().unwrap()
    );
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    // Sampling: a seed repeats itself; n choices each sample on their own.
    let sampled = json!({"messages": messages, "max_tokens": 12, "temperature": 1.5,
                         "seed": 7, "n": 3});
    let (_, a) = server.post("/v1/chat/completions", sampled.clone()).await;
    let (_, b) = server.post("/v1/chat/completions", sampled).await;
    assert_eq!(a["choices"], b["choices"]);
    let texts: Vec<&str> = (0..3)
        .map(|i| a["choices"][i]["message"]["content"].as_str().unwrap())
        .collect();
    assert!(texts[0] != texts[1] || texts[1] != texts[2], "{texts:?}");

    let long = "whale ".repeat(80);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/v1/chat/completions",
            json!({"messages": []}),
            400,
            "empty list",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": [{"role": "robot", "content": "x"}]}),
            400,
            "role",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": messages, "model": "gpt-4o"}),
            404,
            "gpt-4o",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": messages, "max_tokens": 41}),
            422,
            "limit of 40",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": messages, "temperature": 3}),
            400,
            "temperature",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": messages, "top_p": 0}),
            400,
            "top_p",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": messages, "n": 9}),
            400,
            "n = 9",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": messages, "frequency_penalty": 1}),
            400,
            "repetition_penalty",
        ),
        (
            "/v1/chat/completions",
            json!({"messages": messages, "stop": ["a", "b", "c", "d", "e"]}),
            400,
            "at most 4",
        ),
        (
            "/v1/completions",
            json!({"prompt": long, "max_tokens": 5}),
            422,
            "context is 64",
        ),
        ("/v1/completions", json!({"prompt": ""}), 400, "empty"),
        (
            "/v1/completions",
            json!({"prompt": [1, 99999]}),
            400,
            "past the vocabulary",
        ),
        (
            "/v1/completions",
            json!({"prompt": ["a", "b"]}),
            400,
            "one prompt",
        ),
        (
            "/v1/completions",
            json!({"prompt": "a", "echo": true}),
            400,
            "echo",
        ),
    ];
    for (path, request, expected, needle) in cases {
        let (status, body) = server.post(path, request.clone()).await;
        assert_eq!(status, expected, "{request}: {body}");
        assert!(message(&body).contains(needle), "{request}: {body}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_stream_frees_its_slot_and_shutdown_lets_requests_finish() {
    let config = ServeConfig {
        max_sequences: 1,
        ..ServeConfig::default()
    };
    let server = start(
        ServerBuilder::new(config)
            .unwrap()
            .generator("tiny", chat_model(None))
            .unwrap(),
    )
    .await;
    let mut response = server
        .client
        .post(format!("{}/v1/completions", server.base))
        .json(&json!({"prompt": "the whale", "max_tokens": 120, "stream": true}))
        .send()
        .await
        .unwrap();
    assert!(response.chunk().await.unwrap().is_some());
    drop(response);
    // The only slot is free again: a new request runs to its end.
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(60),
        server.post(
            "/v1/completions",
            json!({"prompt": "a dog", "max_tokens": 4}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("tinderbox_running_sequences 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tinderbox_generated_tokens_total"),
        "{metrics}"
    );

    // Shutdown while a request runs: it finishes; afterwards nothing is served.
    let client = server.client.clone();
    let url = format!("{}/v1/completions", server.base);
    let in_flight = tokio::spawn(async move {
        let response = client
            .post(url)
            .json(&json!({"prompt": "the ship", "max_tokens": 60}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let base = server.base.clone();
    server.shutdown().await;
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["usage"]["completion_tokens"], 60);
    assert!(reqwest::get(format!("{base}/health")).await.is_err());
}
