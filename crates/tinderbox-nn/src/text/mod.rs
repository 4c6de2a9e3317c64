//! Text encoders.

mod lstm_encoder;

pub use lstm_encoder::{LstmEncoder, LstmEncoderConfig};
