//! The exact batches and starting weights of a causal-LM run, written out so that Hugging Face
//! `transformers` (`benches/compare/causal_lm_torch.py`) can train the same GPT-2 from the same
//! start on the same data and be compared step for step.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tinderbox_data::causal_lm::CausalLmBatch;
use tinderbox_nn::huggingface::save_gpt2;
use tinderbox_ops::IGNORE_INDEX;
use tinderbox_tokenize::TextTokenizer;

use super::{initial_model, load_run_config, run_batches};
use crate::Error;
use crate::backend::default_device;
use crate::recipes::batch_export::{self, Int64, read};

/// The folder beside `file` that [`export_batches`] writes the starting weights to.
pub fn initial_weights_folder(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".initial");
    PathBuf::from(name)
}

/// Writes the first `steps` training batches of the run in `dir` (one per optimizer step, no
/// accumulation) and its held-out batches to `file` as safetensors:
/// `{train,heldout}_input_ids`, `_attention_mask` (1 at real tokens) and `_labels` (the ids, -100
/// at padding: `GPT2LMHeadModel` shifts them itself), all int64 `[sequences, max_len]`. The
/// metadata holds the run's configuration as JSON (`config`), its padding id and
/// `planned_steps`. The run's starting weights go to the Hugging Face folder
/// `FILE.initial/`.
pub fn export_batches(dir: &Path, steps: usize, file: &Path) -> Result<(), Error> {
    let config = load_run_config(dir)?;
    let (run, data) = batch_export::prepared_run(dir, &config.train)?;
    let device = default_device();
    let (mut stream, heldout) = run_batches(&config, &data, &device)?;
    let train = (0..steps)
        .map(|n| stream.batch(n, &device))
        .collect::<Result<Vec<_>, _>>()?;
    let pad = data
        .tokenizer
        .special_tokens()
        .pad
        .map_or(0, |token| token.id);
    let planned = batch_export::planned_steps(&run, steps)?;
    let mut tensors = Vec::new();
    for (name, batches) in [("train", &train), ("heldout", &heldout)] {
        let [ids, attention, labels] = dense(batches, config.max_len, pad)?;
        tensors.push((format!("{name}_input_ids"), ids));
        tensors.push((format!("{name}_attention_mask"), attention));
        tensors.push((format!("{name}_labels"), labels));
    }
    let metadata = HashMap::from([
        (
            "config".to_string(),
            serde_json::to_string(&config).map_err(|e| Error::Invalid(e.to_string()))?,
        ),
        ("pad_token_id".to_string(), pad.to_string()),
        ("planned_steps".to_string(), planned.to_string()),
    ]);
    save_gpt2(
        &initial_model(&config, &device)?.transformer,
        initial_weights_folder(file),
    )?;
    batch_export::write(file, tensors, metadata)
}

/// The batches as dense input ids, attention mask and labels, each padded to `max_len`.
fn dense(batches: &[CausalLmBatch], max_len: usize, pad_id: u32) -> Result<[Int64; 3], Error> {
    let (mut ids, mut attention, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0;
    for batch in batches {
        let [b, l] = batch.input_ids.dims();
        let batch_ids: Vec<i64> = read(batch.input_ids.clone().into_data())?;
        let pad = batch.mask_pad.clone().into_data().try_to_vec::<bool>();
        let pad = pad.map_err(|e| Error::Invalid(format!("reading a batch: {e:?}")))?;
        for row in 0..b {
            for col in 0..max_len {
                let at = row * l + col;
                let real = col < l && !pad[at];
                ids.push(if col < l {
                    batch_ids[at]
                } else {
                    i64::from(pad_id)
                });
                attention.push(i64::from(real));
                labels.push(if real { batch_ids[at] } else { IGNORE_INDEX });
            }
        }
        rows += b;
    }
    let tensor = |data| Int64 {
        data,
        shape: [rows, max_len],
    };
    Ok([tensor(ids), tensor(attention), tensor(labels)])
}
