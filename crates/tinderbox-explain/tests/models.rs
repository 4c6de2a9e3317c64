//! The methods on real burn models: a bag-of-embeddings classifier, an LSTM classifier and the
//! MNIST CNN, against finite differences, direct probabilities and completeness.

use burn::module::Module;
use burn::prelude::*;
use tinderbox_explain::image::{Image, explain_image};
use tinderbox_explain::text::{TokenizedText, explain_text, text_scores};
use tinderbox_explain::{ExplainConfig, Method, Rule};
use tinderbox_heads::{
    ClassificationHead, ClassificationHeadConfig, ImageClassifier, Pooling, SequenceClassifier,
};
use tinderbox_nn::SequenceEncoder;
use tinderbox_nn::cnn::MnistCnnConfig;
use tinderbox_nn::text::{BagEncoder, BagEncoderConfig, LstmEncoder, LstmEncoderConfig};

fn text() -> TokenizedText {
    // Two padding positions first (as the seed LSTM pads), then five tokens.
    TokenizedText {
        ids: vec![0, 0, 7, 12, 3, 25, 9],
        mask_pad: vec![true, true, false, false, false, false, false],
        features: vec![2, 3, 4, 5, 6],
        baseline_id: 0,
    }
}

fn lstm(device: &Device) -> SequenceClassifier<LstmEncoder, ClassificationHead> {
    let encoder = LstmEncoderConfig::new(30)
        .with_embed_dim(8)
        .with_hidden(8)
        .init(device);
    let head = ClassificationHeadConfig::new(8, 3)
        .with_pooling(Pooling::Last)
        .init(device);
    SequenceClassifier::new(encoder, head)
}

fn bag(device: &Device) -> SequenceClassifier<BagEncoder, ClassificationHead> {
    let encoder = BagEncoderConfig::new(30).with_embed_dim(6).init(device);
    let head = ClassificationHeadConfig::new(6, 2)
        .with_pooling(Pooling::Mean)
        .init(device);
    SequenceClassifier::new(encoder, head)
}

#[test]
fn integrated_gradients_is_complete_on_an_lstm() {
    let device = Device::default().autodiff();
    let model = lstm(&device).freeze();
    let mut config = ExplainConfig::new(Method::IntegratedGradients);
    config.steps = 64;
    let a = explain_text(&model, &text(), 1, &config).unwrap();
    assert_eq!(a.values.len(), 5);
    let direct = text_scores(&model, &text(), &[text().ids, vec![0; 7]], 1).unwrap();
    assert!((a.score - direct[0]).abs() < 1e-6 && (a.baseline_score - direct[1]).abs() < 1e-6);
    assert!(
        a.completeness_gap().abs() < 1e-4 * a.score.max(1e-3),
        "gap {}",
        a.completeness_gap()
    );
    // Fewer points in smaller batches integrate the same path.
    config.batch_size = 5;
    config.rule = Rule::RiemannTrapezoid;
    let coarse = explain_text(&model, &text(), 1, &config).unwrap();
    for (x, y) in a.values.iter().zip(&coarse.values) {
        assert!(
            (x - y).abs() < 2e-3 * a.score,
            "{:?} vs {:?}",
            a.values,
            coarse.values
        );
    }
}

#[test]
fn gradient_x_input_equals_a_finite_difference_of_the_probability() {
    let device = Device::default().autodiff();
    let model = bag(&device).freeze();
    let t = text();
    let a = explain_text(&model, &t, 0, &ExplainConfig::new(Method::GradientXInput)).unwrap();
    // Σ_e x_e ∂p/∂x_e for token i is d/dε p(x + ε x_i) at 0: central differences in f64 terms.
    let plain = model.valid();
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(t.ids.iter().map(|&i| i as i64).collect(), [1, 7]),
        &Device::default(),
    );
    let mask = Tensor::<2, Bool>::from_data(
        TensorData::new(t.mask_pad.clone(), [1, 7]),
        &Device::default(),
    );
    let x = plain.encoder.embed_tokens(ids);
    let prob = |scale_at: usize, eps: f32| {
        let mut factor = vec![1.0f32; 7];
        factor[scale_at] += eps;
        let f = Tensor::<1>::from_floats(factor.as_slice(), &Device::default()).reshape([1, 7, 1]);
        let p = burn::tensor::activation::softmax(
            plain.logits_embedded(x.clone() * f, mask.clone()),
            1,
        );
        p.into_data().try_to_vec::<f32>().unwrap()[0] as f64
    };
    for (k, &pos) in t.features.iter().enumerate() {
        let eps = 1e-2;
        let fd = (prob(pos, eps) - prob(pos, -eps)) / (2.0 * eps as f64);
        assert!(
            (a.values[k] as f64 - fd).abs() < 1e-4,
            "token {k}: {} vs {fd}",
            a.values[k]
        );
    }
    let s = explain_text(&model, &t, 0, &ExplainConfig::new(Method::Saliency)).unwrap();
    assert!(s.values.iter().all(|v| *v >= 0.0) && s.values.iter().any(|v| *v > 0.0));
}

#[test]
fn occlusion_is_the_drop_in_probability_when_a_token_is_padded() {
    let model = lstm(&Device::default());
    let t = text();
    let a = explain_text(&model, &t, 2, &ExplainConfig::new(Method::Occlusion)).unwrap();
    let mut rows = vec![t.ids.clone()];
    for &pos in &t.features {
        let mut ids = t.ids.clone();
        ids[pos] = 0;
        rows.push(ids);
    }
    let p = text_scores(&model, &t, &rows, 2).unwrap();
    for (k, v) in a.values.iter().enumerate() {
        assert!((v - (p[0] - p[k + 1])).abs() < 1e-6);
    }
}

#[test]
fn kernel_shap_and_lime_explain_the_same_probabilities() {
    let model = lstm(&Device::default());
    let t = text();
    let mut config = ExplainConfig::new(Method::KernelShap);
    let shap = explain_text(&model, &t, 0, &config).unwrap();
    // Five tokens: every coalition is enumerated, so the values are exact and efficient.
    assert!(
        shap.completeness_gap().abs() < 1e-5,
        "{}",
        shap.completeness_gap()
    );
    config.method = Method::Lime;
    config.samples = Some(500);
    let lime = explain_text(&model, &t, 0, &config).unwrap();
    assert_eq!(
        (lime.score, lime.baseline_score),
        (shap.score, shap.baseline_score)
    );
    assert_eq!(lime.values.len(), 5);
}

#[test]
fn bad_requests_are_errors_not_panics() {
    let plain = lstm(&Device::default());
    let err = explain_text(
        &plain,
        &text(),
        0,
        &ExplainConfig::new(Method::IntegratedGradients),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("autodiff"), "{err}");
    let err = explain_text(&plain, &text(), 3, &ExplainConfig::new(Method::Occlusion))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("class 3 does not exist") && err.contains("3 classes"),
        "{err}"
    );
    let mut empty = text();
    empty.features.clear();
    let err = explain_text(&plain, &empty, 0, &ExplainConfig::new(Method::Occlusion))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing to explain"), "{err}");
    let mut misplaced = text();
    misplaced.features.push(7);
    let err = explain_text(
        &plain,
        &misplaced,
        0,
        &ExplainConfig::new(Method::Occlusion),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("feature position 7 is past the 7 ids"),
        "{err}"
    );
    let err = text_scores(&plain, &text(), &[vec![1, 2]], 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("a row of 2 ids for a text of 7"), "{err}");
    let autodiff = lstm(&Device::default().autodiff()).freeze();
    let mut config = ExplainConfig::new(Method::IntegratedGradients);
    config.steps = 0;
    assert!(
        explain_text(&autodiff, &text(), 0, &config)
            .unwrap_err()
            .to_string()
            .contains("--steps")
    );
    let mut config = ExplainConfig::new(Method::Lime);
    config.samples = Some(1);
    assert!(
        explain_text(&plain, &text(), 0, &config)
            .unwrap_err()
            .to_string()
            .contains("at least 2 samples")
    );
}

#[test]
fn images_get_complete_pixel_gradients_and_patch_occlusion() {
    let device = Device::default().autodiff();
    let config = MnistCnnConfig::new()
        .with_image_size([12, 12])
        .with_conv_channels(4)
        .with_hidden(8);
    let model = ImageClassifier::new(config.init(&device)).freeze();
    let pixels: Vec<f32> = (0..144).map(|i| ((i * 37) % 100) as f32 / 100.0).collect();
    let image = Image {
        pixels,
        shape: [1, 12, 12],
    };
    let mut ig = ExplainConfig::new(Method::IntegratedGradients);
    ig.steps = 64;
    let a = explain_image(&model, &image, 4, &ig, 4).unwrap();
    assert_eq!((a.heat.len(), a.patch), (144, 1));
    assert!(a.attribution.completeness_gap().abs() < 1e-3 * a.attribution.score.max(1e-2));
    let o = explain_image(
        &model.valid(),
        &image,
        4,
        &ExplainConfig::new(Method::Occlusion),
        5,
    )
    .unwrap();
    // 12 / 5: three patches a side, the last two pixels wide.
    assert_eq!((o.attribution.values.len(), o.patch), (9, 5));
    assert_eq!(o.heat[11], o.attribution.values[2]);
    assert_eq!(o.heat[143], o.attribution.values[8]);
    let err = explain_image(
        &model,
        &Image {
            pixels: vec![0.0; 10],
            shape: [1, 12, 12],
        },
        0,
        &ig,
        4,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("10 pixels"), "{err}");
}
