//! Recurrent layers.

mod lstm;

pub use lstm::{Lstm, LstmConfig};
