//! Structured pruning of BERT: taking out a head or neuron that contributes nothing leaves the
//! outputs as they were; the pruned model saves and loads at its smaller shapes; importance is
//! the gate gradient (checked by finite differences); bad ratios and plans are errors.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use tinderbox_nn::huggingface::{BERT_KEYS, load_bert, read_tensor_shapes, save_bert};
use tinderbox_nn::pruning::{PrunePlan, StructuredImportance};
use tinderbox_nn::transformer::{BertConfig, BertModel};

/// Two layers of width 16: 4 heads of width 4, feed-forward 32.
fn tiny(device: &Device) -> BertModel {
    let mut config = BertConfig::new(40, 16, 2, 4, 32);
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    config.init(device).unwrap()
}

fn hidden(model: &BertModel) -> Tensor<3> {
    let device = model.embeddings.word_embeddings.weight.device();
    let ids = Tensor::<2, Int>::from_ints([[2, 7, 9, 0], [5, 3, 1, 8]], &device);
    model
        .forward(ids.clone(), ids.equal_elem(0), None)
        .last_hidden_state
}

fn max_diff(a: Tensor<3>, b: Tensor<3>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

/// Zeroes the input rows `rows` of a `[in, out]` weight.
fn zero_rows(weight: &mut Param<Tensor<2>>, rows: std::ops::Range<usize>) {
    let w = weight.val();
    let [_, out] = w.dims();
    let zeros = Tensor::<2>::zeros([rows.len(), out], &w.device());
    *weight = Param::from_tensor(w.slice_assign([rows, 0..out], zeros));
}

fn plan(heads: [Vec<usize>; 2], neurons: [Vec<usize>; 2]) -> PrunePlan {
    PrunePlan {
        heads: heads.to_vec(),
        neurons: neurons.to_vec(),
    }
}

#[test]
fn pruning_silent_heads_and_neurons_keeps_the_outputs() {
    let device = Device::default();
    let mut model = tiny(&device);
    // Head 1 of layer 0 and head 3 of layer 1 write nothing; neither do neurons 2 and 5 of
    // layer 0's feed-forward.
    zero_rows(
        &mut model.encoder.layer[0].attention.output.dense.weight,
        4..8,
    );
    zero_rows(
        &mut model.encoder.layer[1].attention.output.dense.weight,
        12..16,
    );
    zero_rows(&mut model.encoder.layer[0].output.dense.weight, 2..3);
    zero_rows(&mut model.encoder.layer[0].output.dense.weight, 5..6);
    let keep: Vec<usize> = (0..32).filter(|k| *k != 2 && *k != 5).collect();
    let pruned = model
        .prune(&plan([vec![1], vec![3]], [keep, (0..32).collect()]))
        .unwrap();
    assert!(max_diff(hidden(&model), hidden(&pruned)) < 1e-5);
    let layer = &pruned.encoder.layer[0];
    assert_eq!(layer.attention.self_attn.query.weight.dims(), [16, 12]);
    assert_eq!(layer.attention.output.dense.weight.dims(), [12, 16]);
    assert_eq!(layer.intermediate.dense.weight.dims(), [16, 30]);
    assert_eq!(layer.output.dense.weight.dims(), [30, 16]);
    let config = pruned.config();
    assert_eq!(config.pruned_heads[&0], vec![1]);
    assert_eq!(config.pruned_heads[&1], vec![3]);
    assert_eq!(config.intermediate_sizes, Some(vec![30, 32]));

    // Pruning again counts heads among those left, and records the original indices.
    let again = pruned
        .prune(&plan(
            [vec![1], vec![]],
            [(0..30).collect(), (0..32).collect()],
        ))
        .unwrap();
    assert_eq!(again.config().pruned_heads[&0], vec![1, 2]);
    assert_eq!(again.config().kept_heads(0), vec![0, 3]);
}

#[test]
fn a_pruned_model_saves_and_loads_at_its_smaller_shapes() {
    let device = Device::default();
    let model = tiny(&device);
    let pruned = model
        .prune(&plan(
            [vec![0, 2], vec![1]],
            [(0..20).collect(), (4..32).collect()],
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    save_bert(&pruned, dir.path()).unwrap();
    let loaded = load_bert(dir.path(), &device).unwrap();
    assert!(max_diff(hidden(&pruned), hidden(&loaded)) < 1e-6);
    let shapes = read_tensor_shapes(dir.path().join("model.safetensors"), &BERT_KEYS).unwrap();
    // PyTorch's [out, in]: two heads of four left in layer 0, 20 neurons.
    assert_eq!(
        shapes["encoder.layer.0.attention.self.query.weight"],
        vec![8, 16]
    );
    assert_eq!(
        shapes["encoder.layer.0.attention.output.dense.weight"],
        vec![16, 8]
    );
    assert_eq!(shapes["encoder.layer.1.output.dense.weight"], vec![16, 28]);
    // Hugging Face's `pruned_heads`, keys as strings.
    let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["pruned_heads"]["0"], serde_json::json!([0, 2]));
    assert_eq!(json["intermediate_sizes"], serde_json::json!([20, 28]));
}

/// The loss of the importance test: a fixed projection of the hidden states.
fn loss(model: &BertModel, target: &Tensor<3>) -> Tensor<1> {
    (hidden(model) * target.clone()).sum()
}

#[test]
fn importance_is_the_gradient_of_a_gate_on_each_head_and_neuron() {
    let device = Device::default();
    device.seed(11);
    let model = tiny(&device);
    let target = Tensor::<3>::random([2, 4, 16], Distribution::Normal(0.0, 1.0), &device);
    let train = model.clone().fork(&device.clone().autodiff()).train();
    let grads = loss(&train, &target.clone().fork(&device.clone().autodiff())).backward();
    let mut importance = StructuredImportance::zeros(&model);
    importance.accumulate(&train, &grads).unwrap();
    assert_eq!(importance.batches, 1);

    // A gate ξ on head h of layer 1 scales its rows of the output projection; d L / d ξ at 1
    // by central differences (in f64 over f32 losses, so a loose bound).
    let gated = |layer: usize, rows: std::ops::Range<usize>, down: bool, xi: f32| {
        let mut m = model.clone();
        let dense = if down {
            &mut m.encoder.layer[layer].output.dense
        } else {
            &mut m.encoder.layer[layer].attention.output.dense
        };
        let w = dense.weight.val();
        let [_, out] = w.dims();
        let part = w.clone().slice([rows.clone(), 0..out]) * xi;
        dense.weight = Param::from_tensor(w.slice_assign([rows, 0..out], part));
        loss(&m, &target).into_scalar::<f32>() as f64
    };
    let eps = 1e-2;
    for (layer, h) in [(0, 0), (1, 2)] {
        let fd = (gated(layer, h * 4..h * 4 + 4, false, 1.0 + eps)
            - gated(layer, h * 4..h * 4 + 4, false, 1.0 - eps))
            / (2.0 * eps as f64);
        let ours = importance.heads[layer][h];
        assert!(
            (ours - fd.abs()).abs() < 2e-2 * fd.abs() + 1e-4,
            "head {h} of layer {layer}: {ours} vs {fd}"
        );
    }
    // The neuron that matters most: a nearly silent one's derivative is below f32's resolution
    // of the loss differences.
    let k = (0..32)
        .max_by(|&a, &b| importance.neurons[0][a].total_cmp(&importance.neurons[0][b]))
        .unwrap();
    let fd = (gated(0, k..k + 1, true, 1.0 + eps) - gated(0, k..k + 1, true, 1.0 - eps))
        / (2.0 * eps as f64);
    let ours = importance.neurons[0][k];
    assert!(
        (ours - fd.abs()).abs() < 2e-2 * fd.abs() + 1e-4,
        "{ours} vs {fd}"
    );
}

#[test]
fn a_plan_removes_the_least_important_and_keeps_one_of_each_per_layer() {
    let importance = StructuredImportance {
        heads: vec![vec![0.1, 0.9, 0.2, 0.3], vec![5.0, 1.0, 6.0, 7.0]],
        neurons: vec![vec![1.0, 2.0, 3.0], vec![0.0, 0.0, 0.0]],
        batches: 1,
    };
    // Per layer after normalising: layer 1's head 1 (0.09) is below layer 0's head 2 (0.2).
    let plan = PrunePlan::from_importance(&importance, 0.25, 0.0).unwrap();
    assert_eq!(plan.heads, vec![vec![0], vec![1]]);
    assert_eq!(plan.neurons, vec![vec![0, 1, 2], vec![0, 1, 2]]);
    // Nearly everything: every layer keeps its best head and one neuron.
    let plan = PrunePlan::from_importance(&importance, 0.99, 0.99).unwrap();
    assert_eq!(plan.heads, vec![vec![0, 2, 3], vec![0, 1, 2]]);
    assert_eq!(plan.neurons, vec![vec![2], vec![2]]);
    for bad in [1.0, -0.1, f64::NAN] {
        let e = PrunePlan::from_importance(&importance, bad, 0.0).unwrap_err();
        assert!(e.to_string().contains("outside [0, 1)"), "{e}");
        let e = PrunePlan::from_importance(&importance, 0.0, bad).unwrap_err();
        assert!(e.to_string().contains("ffn"), "{e}");
    }
}

#[test]
fn bad_plans_and_configs_are_errors_that_say_why() {
    let device = Device::default();
    let model = tiny(&device);
    let all = || (0..32).collect::<Vec<_>>();
    let cases = [
        (
            plan([vec![0, 1, 2, 3], vec![]], [all(), all()]),
            "keep no heads",
        ),
        (
            plan([vec![4], vec![]], [all(), all()]),
            "head 4 does not exist",
        ),
        (plan([vec![2, 1], vec![]], [all(), all()]), "ascending"),
        (plan([vec![], vec![]], [vec![], all()]), "no neurons"),
        (
            PrunePlan {
                heads: vec![vec![]],
                neurons: vec![all()],
            },
            "for 2 layers",
        ),
    ];
    for (plan, expected) in cases {
        let e = model.prune(&plan).unwrap_err().to_string();
        assert!(e.contains(expected), "{e}");
    }
    let int8 = model.quantize_int8().unwrap();
    let e = int8
        .prune(&plan([vec![], vec![]], [all(), all()]))
        .unwrap_err();
    assert!(e.to_string().contains("int8"), "{e}");

    let mut config = BertConfig::new(40, 16, 2, 4, 32);
    config.pruned_heads.insert(1, vec![0, 1, 2, 3]);
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("all 4 heads")
    );
    config.pruned_heads.clear();
    config.pruned_heads.insert(2, vec![0]);
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("layer 2 does not exist")
    );
    config.pruned_heads.clear();
    config.intermediate_sizes = Some(vec![8]);
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("1 sizes for 2 layers")
    );
}
