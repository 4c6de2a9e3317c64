//! The server with the real models, over HTTP on localhost: MiniLM's embeddings as the
//! encoder gives them, a saved run's classifications as `predict` gives them, and SmolLM2's
//! greedy chat answers, asked concurrently (continuous batching), as `generate` gives each alone.

use std::sync::Arc;

use burn::prelude::*;
use serde_json::{Value, json};
use tinderbox::generate::GenerationConfig;
use tinderbox::recipes::generation::{self as generation, LanguageModel, ModelChoice, Weights};
use tinderbox::recipes::sentence_embeddings::{cosine, minilm};
use tinderbox::recipes::serving::{EmbeddingsChoice, ServeModels, build_server};
use tinderbox::recipes::text_classification::predict;
use tinderbox::serve::ServeConfig;

#[path = "support/sentiment_run.rs"]
mod sentiment_run;

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    let response = client.post(url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_models_answer_over_http_as_they_do_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let run = sentiment_run::trained(dir.path());
    let models = ServeModels {
        embeddings: Some(EmbeddingsChoice::MiniLm),
        classifier: Some(run.clone()),
        generator: Some(ModelChoice::SmolLm2),
        generator_weights: Weights::Quantized,
    };
    let device = Device::default();
    let (server, summary) = build_server(&models, ServeConfig::default(), &device).unwrap();
    assert_eq!(summary.models.len(), 3);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    let sentences = ["A man is eating food.", "A man is eating a piece of bread."];
    let body = post(
        &client,
        format!("{base}/v1/embeddings"),
        json!({"input": sentences, "model": "all-MiniLM-L6-v2"}),
    )
    .await;
    let served: Vec<Vec<f32>> = (0..2)
        .map(|i| serde_json::from_value(body["data"][i]["embedding"].clone()).unwrap())
        .collect();
    let direct = minilm(&device).unwrap().embed(&sentences).unwrap();
    for (a, b) in served.iter().zip(&direct.embeddings) {
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(
            worst < 1e-6,
            "served and direct embeddings differ by {worst}"
        );
    }
    assert!((cosine(&served[0], &served[1]) - 0.7553).abs() < 1e-4);
    assert_eq!(
        body["usage"]["prompt_tokens"],
        direct.input_ids.iter().map(Vec::len).sum::<usize>()
    );

    let texts = [
        "the film was superb and the cast joyful",
        "the film was awful",
    ];
    let body = post(
        &client,
        format!("{base}/v1/classify"),
        json!({"input": texts}),
    )
    .await;
    let expected = predict(&run, &texts.map(String::from), false).unwrap();
    for (i, p) in expected.iter().enumerate() {
        assert_eq!(body["data"][i]["label"], p.label.as_str());
        let score = body["data"][i]["score"].as_f64().unwrap() as f32;
        let best = p.probabilities.iter().map(|(_, q)| *q).fold(0.0, f32::max);
        assert!((score - best).abs() < 1e-6);
    }

    // Three questions at once, greedy: each answer is what the model gives it alone.
    let lm = LanguageModel::load(&ModelChoice::SmolLm2, Weights::Quantized, &device).unwrap();
    let questions = [
        "What is the capital of France?",
        "Name a colour.",
        "Say hello.",
    ];
    let client = Arc::new(client);
    let mut tasks = Vec::new();
    for question in questions {
        let (client, url) = (client.clone(), format!("{base}/v1/chat/completions"));
        tasks.push(tokio::spawn(async move {
            let body = json!({"messages": [{"role": "user", "content": question}],
                              "max_tokens": 8, "temperature": 0});
            post(&client, url, body).await
        }));
    }
    for (question, task) in questions.iter().zip(tasks) {
        let body = task.await.unwrap();
        let ids = lm.encode(question, true).unwrap();
        let alone = generation::run(
            &lm,
            std::slice::from_ref(&ids),
            &GenerationConfig::greedy(8),
            None,
        )
        .unwrap();
        assert_eq!(
            body["choices"][0]["message"]["content"],
            alone.sequences[0].text.as_str(),
            "{question}"
        );
        assert_eq!(body["usage"]["prompt_tokens"], ids.len());
    }
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
