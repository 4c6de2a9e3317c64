//! SmolLM2-135M-Instruct (the GGUF Q4_1 file `generate` fetches) against Hugging Face
//! `transformers`' own GGUF loader, which dequantizes to float32
//! (`benches/compare/smollm2_reference.py` wrote the fixture): the same prompt ids, last-position
//! logits within 1e-3, greedy continuations token for token, and the chat template rendered the
//! same. A KV-cache decode equals recomputing the whole sequence, and a left-padded batch equals
//! its prompts one by one.

use burn::prelude::*;
use serde_json::Value;
use tinderbox::data::fetch::Cache;
use tinderbox::data::model_packages::ModelPackage;
use tinderbox::generate::{GenerationConfig, generate};
use tinderbox::nn::decoder::{CausalLm, Llama};
use tinderbox::nn::gguf::GgufFile;
use tinderbox::tokenize::{ChatMessage, ChatTemplate, EncodeOptions, TextTokenizer, Tokenizer};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

struct Smol {
    model: Llama,
    tokenizer: Tokenizer,
    file: GgufFile,
}

fn smol() -> Smol {
    let path = ModelPackage::SmolLm2_135mInstruct
        .model_path(&Cache::from_env().unwrap())
        .unwrap();
    let file = GgufFile::open(&path).unwrap();
    let model = file.load_llama(&Device::default()).unwrap();
    let tokenizer = Tokenizer::from_gguf_vocab(&file.vocab().unwrap()).unwrap();
    Smol {
        model,
        tokenizer,
        file,
    }
}

fn reference() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/smollm2_reference.json")).unwrap(),
    )
    .unwrap()
}

fn ids(tokenizer: &Tokenizer, text: &str) -> Vec<u32> {
    let options = EncodeOptions {
        add_special_tokens: false,
        ..EncodeOptions::default()
    };
    tokenizer
        .encode_batch(&[text], &options)
        .unwrap()
        .ids
        .remove(0)
}

fn last_logits(model: &Llama, prompt: &[u32]) -> Vec<f32> {
    let device = Device::default();
    let mut cache = model.new_cache(1, prompt.len());
    let input = Tensor::<1, Int>::from_data(
        TensorData::new(
            prompt.iter().map(|&i| i as i64).collect::<Vec<_>>(),
            [prompt.len()],
        ),
        &device,
    )
    .reshape([1, prompt.len()]);
    model
        .forward_last(input, &[vec![false; prompt.len()]], &mut cache)
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap()
}

#[test]
fn smollm2_matches_transformers() {
    let smol = smol();
    let reference = reference();
    let bytes = std::fs::read(format!("{FIXTURES}/smollm2_reference.safetensors")).unwrap();
    let logits = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    let eos = smol.file.llama_config().unwrap().eos_token_ids;
    for (i, case) in cases.iter().enumerate() {
        let text = case["text"].as_str().unwrap();
        let expected: Vec<u32> = serde_json::from_value(case["prompt_ids"].clone()).unwrap();
        let prompt = ids(&smol.tokenizer, text);
        assert_eq!(prompt, expected, "prompt ids of {text:?}");
        if let Ok(theirs) = logits.tensor(&format!("logits.{i}")) {
            let theirs: Vec<f32> = theirs
                .data()
                .chunks(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            let ours = last_logits(&smol.model, &prompt);
            let worst = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-3, "logits of {text:?} differ by {worst}");
        }
        let greedy: Vec<u32> = serde_json::from_value(case["greedy_ids"].clone()).unwrap();
        let config = GenerationConfig {
            eos_token_ids: eos.clone(),
            ..GenerationConfig::greedy(32)
        };
        let out = generate(&smol.model, &smol.tokenizer, &[prompt], &config, 2, None).unwrap();
        assert_eq!(
            out.sequences[0].ids, greedy,
            "greedy continuation of {text:?}"
        );
        assert_eq!(
            out.sequences[0].text,
            case["greedy_text"]
                .as_str()
                .unwrap()
                .replace("<|im_end|>", "")
        );
    }
}

#[test]
fn the_chat_template_renders_as_transformers_does() {
    let path = ModelPackage::SmolLm2_135mInstruct
        .model_path(&Cache::from_env().unwrap())
        .unwrap();
    let file = GgufFile::open(path).unwrap();
    let template = ChatTemplate::new(file.chat_template().unwrap()).unwrap();
    for chat in reference()["chat"].as_array().unwrap() {
        let messages: Vec<ChatMessage> = serde_json::from_value(chat["messages"].clone()).unwrap();
        assert_eq!(
            template.render(&messages, true).unwrap(),
            chat["rendered"].as_str().unwrap()
        );
    }
}

#[test]
fn a_cached_decode_equals_recomputing_and_a_padded_batch_equals_one_by_one() {
    let smol = smol();
    let device = Device::default();
    let a = ids(&smol.tokenizer, "The capital of France is");
    let b = ids(&smol.tokenizer, "Hello");
    // Prompt, then one more token through the cache, against the whole sequence at once.
    let mut cache = smol.model.new_cache(1, 16);
    let tensor = |ids: &[u32]| {
        Tensor::<1, Int>::from_data(
            TensorData::new(
                ids.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                [ids.len()],
            ),
            &device,
        )
        .reshape([1, ids.len()])
    };
    smol.model
        .forward_last(tensor(&a), &[vec![false; a.len()]], &mut cache)
        .unwrap();
    let stepped: Vec<f32> = smol
        .model
        .forward_last(tensor(&[7]), &[vec![false]], &mut cache)
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap();
    let mut whole = a.clone();
    whole.push(7);
    let recomputed = last_logits(&smol.model, &whole);
    let worst = stepped
        .iter()
        .zip(&recomputed)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    // One row against a matrix of rows sums in a different order: f32 rounding, relative to the logits' scale.
    let scale = recomputed.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    assert!(
        worst < 1e-5 * scale,
        "cached and recomputed logits differ by {worst} (scale {scale})"
    );
    // Greedy continuations of a batch with left padding equal each prompt alone.
    let config = GenerationConfig::greedy(8);
    let batch = generate(
        &smol.model,
        &smol.tokenizer,
        &[a.clone(), b.clone()],
        &config,
        2,
        None,
    )
    .unwrap();
    for (i, prompt) in [a, b].into_iter().enumerate() {
        let alone = generate(&smol.model, &smol.tokenizer, &[prompt], &config, 2, None).unwrap();
        assert_eq!(
            batch.sequences[i].ids, alone.sequences[0].ids,
            "prompt {i} in a batch"
        );
    }
}

#[test]
fn beam_search_matches_transformers() {
    let smol = smol();
    let beam = &reference()["beam_search"];
    let prompt = ids(&smol.tokenizer, beam["text"].as_str().unwrap());
    let eos = smol.file.llama_config().unwrap().eos_token_ids;
    let config = GenerationConfig {
        num_beams: 3,
        num_return_sequences: 2,
        eos_token_ids: eos.clone(),
        ..GenerationConfig::greedy(12)
    };
    let out = generate(&smol.model, &smol.tokenizer, &[prompt], &config, 2, None).unwrap();
    let expected: Vec<Vec<u32>> = serde_json::from_value(beam["sequences"].clone()).unwrap();
    let scores: Vec<f32> = serde_json::from_value(beam["scores"].clone()).unwrap();
    assert_eq!(out.sequences.len(), 2);
    for ((ours, theirs), score) in out.sequences.iter().zip(expected).zip(scores) {
        // transformers pads shorter beams after their end token (with the same id, here).
        let end = theirs
            .iter()
            .position(|t| eos.contains(t))
            .map_or(theirs.len(), |i| i + 1);
        assert_eq!(ours.ids, theirs[..end].to_vec());
        let ours_score = ours.score.unwrap();
        assert!(
            (ours_score - score).abs() < 1e-3,
            "score {ours_score} vs {score}"
        );
    }
}

/// The file's Q4_1/Q8_0 matrices kept quantized continue as llama.cpp does on the same file
/// (`benches/compare/smollm2_llama_cpp_reference.py` wrote its tokens), and stay close to the
/// dequantized model's logits.
#[test]
fn quantized_weights_continue_as_llama_cpp_does() {
    let smol = smol();
    let device = Device::default();
    let quantized = smol.file.load_llama_quantized(&device).unwrap();
    assert_eq!(
        quantized.quantized_types(),
        [
            tinderbox::ops::quant::GgmlType::Q4_1,
            tinderbox::ops::quant::GgmlType::Q8_0
        ]
    );
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/smollm2_llama_cpp.json")).unwrap(),
    )
    .unwrap();
    let config = GenerationConfig::greedy(16);
    for case in fixture["cases"].as_array().unwrap() {
        let text = case["prompt"].as_str().unwrap();
        let prompt = ids(&smol.tokenizer, text);
        let expected: Vec<u32> = serde_json::from_value(case["prompt_ids"].clone()).unwrap();
        assert_eq!(prompt, expected, "llama.cpp's tokens of {text:?}");
        let theirs: Vec<u32> = serde_json::from_value(case["greedy_ids"].clone()).unwrap();
        let out = generate(
            &quantized,
            &smol.tokenizer,
            std::slice::from_ref(&prompt),
            &config,
            2,
            None,
        )
        .unwrap();
        assert_eq!(
            out.sequences[0].ids, theirs,
            "greedy continuation of {text:?}"
        );
        // Against the dequantized model (the same 4-bit weights, f32 activations), only the
        // 8-bit activations differ: the same best token, logits close on average (0.29 on the
        // first prompt; thirty layers of rounded activations, as llama.cpp rounds them).
        let ours = last_logits(&quantized, &prompt);
        let dense = last_logits(&smol.model, &prompt);
        let mean = ours
            .iter()
            .zip(&dense)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / ours.len() as f32;
        let best = |v: &[f32]| (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j]));
        assert_eq!(best(&ours), best(&dense), "{text:?}");
        assert!(mean < 0.5, "{text:?}: logits differ by {mean} on average");
    }
}
