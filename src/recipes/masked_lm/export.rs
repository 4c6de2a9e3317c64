//! The exact batches a pre-training run trains and is scored on, written out so that another
//! implementation (Hugging Face `transformers`, in `benches/compare/mlm_accuracy_torch.py`) can
//! train on the same data with the same masks and be compared step for step.

use std::collections::HashMap;
use std::path::Path;

use tinderbox_data::mlm::MlmBatch;
use tinderbox_ops::IGNORE_INDEX;
use tinderbox_tokenize::TextTokenizer;

use super::{load_run_config, run_batches};
use crate::Error;
use crate::backend::default_device;
use crate::recipes::batch_export::{self, Int64, read};

/// Writes the first `steps` training batches of the run in `dir` (one per optimizer step, no
/// accumulation) and its held-out batches to `file` as safetensors: `{train,heldout}_input_ids`,
/// `_attention_mask` (1 at real tokens) and `_labels` (the original id where masked, -100
/// elsewhere), all int64 `[sequences, max_len]`. The metadata holds the run's configuration as
/// JSON (`config`), its padding id, vocabulary size and `planned_steps`, the steps its learning
/// rate schedule spans.
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
    // The schedule spans the steps the run planned (its time budget's estimate), not `steps`.
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
        (
            "vocab_size".to_string(),
            data.tokenizer.vocab_size().to_string(),
        ),
    ]);
    batch_export::write(file, tensors, metadata)
}

/// The batches as dense input ids, attention mask and labels, each padded to `max_len`.
fn dense(batches: &[MlmBatch], max_len: usize, pad_id: u32) -> Result<[Int64; 3], Error> {
    let (mut ids, mut attention, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0;
    for batch in batches {
        let [b, l] = batch.input_ids.dims();
        let batch_ids: Vec<i64> = read(batch.input_ids.clone().into_data())?;
        let pad = batch.mask_pad.clone().into_data().try_to_vec::<bool>();
        let pad = pad.map_err(|e| Error::Invalid(format!("reading a batch: {e:?}")))?;
        let mut batch_labels = vec![IGNORE_INDEX; b * l];
        let positions: Vec<i64> = read(batch.masked_positions.clone().into_data())?;
        let originals: Vec<i64> = read(batch.masked_labels.clone().into_data())?;
        for (p, label) in positions.iter().zip(originals) {
            batch_labels[*p as usize] = label;
        }
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
                labels.push(if col < l {
                    batch_labels[at]
                } else {
                    IGNORE_INDEX
                });
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
