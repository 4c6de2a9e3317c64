//! The programs behind the examples, callable from code and tests: each takes a serialisable
//! config, writes a run directory and returns the figures of its `summary.json`.

mod batch_export;
pub mod causal_lm;
pub mod generation;
pub mod image_classification;
pub mod learning_curve;
pub mod masked_lm;
pub mod packed_corpus;
pub mod sentence_embeddings;
pub mod serving;
pub mod text_classification;
