//! Pruning: weights taken out of a model to make it smaller or faster.
//!
//! - [`MagnitudePruning`]: gradual unstructured pruning while training (masks of single
//!   weights; the matrices stay dense, so the model is as large and as fast, but sparse).
//! - [`PrunePlan`] and [`StructuredImportance`]: whole attention heads and feed-forward neurons
//!   of a BERT encoder removed by importance, leaving smaller matrices (`BertModel::prune`).

mod magnitude;
mod structured;

pub use magnitude::{MagnitudePruning, MagnitudePruningConfig, linear_sparsity};
pub use structured::{PrunePlan, StructuredImportance, check_prune_ratio};
