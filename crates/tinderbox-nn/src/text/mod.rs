//! Text encoders.

mod bag_encoder;
mod lstm_encoder;

pub use bag_encoder::{BagEncoder, BagEncoderConfig};
pub use lstm_encoder::{LstmEncoder, LstmEncoderConfig};
