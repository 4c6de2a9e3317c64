//! The seed review classifier and its stronger siblings: Keras' word-level tokenizer (10,000
//! words), sequences padded and truncated to 100 tokens at the start, `Embedding(10000, 32)`,
//! `LSTM(32, dropout=0.2, recurrent_dropout=0.2)`, `Dense(1, sigmoid)`, Adam 1e-3, batch 32,
//! 10 epochs, on a seeded, stratified 80/10/10 split; the best validation epoch is tested. Also
//! a bag of embeddings, MiniLM fine-tuning, a small transformer and BERT-mini
//! ([`TextModel`]).
//!
//! - [`config`]: the run's settings and each model's presets;
//! - [`encoder`]: the one module type over every encoder;
//! - `train_and_test`, `evaluate_run` and `predict`: a run, its scores on other data, and new
//!   texts classified;
//! - `prune_sweep`: a fine-tuned BERT run with its least important heads and feed-forward
//!   neurons removed, at several levels, each saved as a run and timed;
//! - `explain` and `faithfulness`: why a saved run predicts what it does, and how faithful
//!   each explanation method is on the run's test texts.

pub mod config;
mod distill;
pub mod encoder;
mod evaluate;
mod explain;
mod predict;
mod prune;
mod tokens;
mod train;

pub use config::{BertEncoderConfig, TeacherConfig, TextEncoderConfig, TextModel, TextRunConfig};
pub use distill::{TEACHER_LOGITS_FILE, teacher_logits};
pub use encoder::{TextClassifier, TextEncoder, classifier, quantize_classifier};
pub use evaluate::{DatasetScores, evaluate_run, evaluate_test_split};
pub use explain::{
    FaithfulnessRow, TextExplainer, TextExplanation, explain, export_weights, faithfulness,
    faithfulness_table, save_explanations, test_texts,
};
pub use predict::{SavedClassifier, TextPrediction, predict};
pub use prune::{PRUNING_FILE, PruneReport, PrunedModel, prune_sweep};
pub use train::{TextRunSummary, load_run_config, train_and_test};

const SPLIT_FILE: &str = "split.json";
const TOKENIZER_FILE: &str = "tokenizer.json";
