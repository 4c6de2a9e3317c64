//! Explanations of saved text runs end to end: a bag-of-embeddings classifier trained on
//! generated reviews whose label rests on a few sentiment words, explained by every method.

use tinderbox::explain::{ExplainConfig, Method};
use tinderbox::recipes::text_classification::{
    TextExplainer, explain, faithfulness, save_explanations,
};

#[path = "support/sentiment_run.rs"]
mod sentiment_run;
use sentiment_run::trained;

#[test]
fn every_method_puts_the_sentiment_words_first_and_ig_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let text = "the film was superb and the cast joyful".to_string();
    let explainer = TextExplainer::open(&run).unwrap();
    for method in Method::ALL.into_iter().filter(|m| *m != Method::Rollout) {
        let mut config = ExplainConfig::new(method);
        config.samples = Some(400);
        let e = explainer.explain(&text, &config).unwrap();
        assert_eq!(e.label, "pos");
        assert_eq!(e.tokens.len(), 8, "{:?}", e.tokens);
        assert_eq!(e.attributions.len(), 8);
        assert!(!e.truncated);
        if method == Method::Saliency {
            // The bag's mean pooling gives every position the same gradient: saliency, which
            // ignores the embeddings themselves, cannot tell the words apart.
            let first = e.attributions[0];
            assert!(
                e.attributions.iter().all(|a| (a - first).abs() < 1e-6),
                "{e:?}"
            );
            continue;
        }
        let mut order: Vec<usize> = (0..8).collect();
        order.sort_by(|&a, &b| e.attributions[b].total_cmp(&e.attributions[a]));
        let top: Vec<&str> = order[..2].iter().map(|&i| e.tokens[i].as_str()).collect();
        assert!(
            top.contains(&"superb") && top.contains(&"joyful"),
            "{method}: {:?} {:?}",
            e.tokens,
            e.attributions
        );
        if matches!(method, Method::IntegratedGradients | Method::KernelShap) {
            let gap = e.completeness_gap.unwrap();
            assert!(gap.abs() < 1e-3, "{method}: {gap}");
        }
        assert!(e.completeness_gap.is_some());
        assert_eq!(e.positions.len(), 8);
    }
    // The page and the summary are written, and a text longer than the run reads is flagged.
    let long = format!("{} superb", "the film was fine and ".repeat(5));
    let found = explain(&run, &[text, long], &ExplainConfig::new(Method::Occlusion)).unwrap();
    assert!(found[1].truncated && found[1].tokens.len() <= 12);
    let page = save_explanations(&dir.path().join("explained"), &found).unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains(">superb</span>") && !html.contains("<script"));
    assert!(dir.path().join("explained/summary.json").is_file());
}

#[test]
fn attributions_beat_a_random_order_at_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let mut base = ExplainConfig::new(Method::IntegratedGradients);
    base.samples = Some(200);
    let rows = faithfulness(
        &run,
        6,
        &[Method::IntegratedGradients, Method::Occlusion],
        &base,
        4,
    )
    .unwrap();
    for r in &rows {
        assert!(r.aopc > r.random_aopc, "{r:?}");
        assert_eq!(r.mean_curve.len(), 5);
    }
}

#[test]
fn bad_requests_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let explainer = TextExplainer::open(&run).unwrap();
    let ig = ExplainConfig::new(Method::IntegratedGradients);
    let err = explainer.explain("", &ig).unwrap_err().to_string();
    assert!(err.contains("nothing to explain"), "{err}");
    // Words the tokenizer never saw are its out-of-vocabulary token, and explained as such.
    let unknown = explainer.explain("qwerty zxcv", &ig).unwrap();
    assert_eq!(unknown.tokens, vec!["<OOV>", "<OOV>"]);
    let mut zero = ig.clone();
    zero.steps = 0;
    let err = explainer.explain("superb", &zero).unwrap_err().to_string();
    assert!(err.contains("--steps must be at least 1"), "{err}");
    for method in [Method::Lime, Method::KernelShap] {
        let mut one = ExplainConfig::new(method);
        one.samples = Some(1);
        let err = explainer
            .explain("the film was superb", &one)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("samples") && err.contains("got 1"),
            "{method}: {err}"
        );
    }
    let err = explainer
        .explain("the film was superb", &ExplainConfig::new(Method::Rollout))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("rollout needs an encoder with attention"),
        "{err}"
    );
    // A run directory of another task.
    let other = dir.path().join("mnist-like");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("config.json"),
        r#"{"model": {"in_channels": 1}}"#,
    )
    .unwrap();
    let err = TextExplainer::open(&other).err().unwrap().to_string();
    assert!(
        err.contains("is not a text_classification run directory"),
        "{err}"
    );
}
