//! The facade's error: whatever a recipe's crates report.

/// An error from one of the crates a recipe uses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Fetching, reading or batching data failed.
    #[error(transparent)]
    Data(#[from] tinderbox_data::DataError),
    /// Training, checkpointing or evaluation failed.
    #[error(transparent)]
    Train(#[from] tinderbox_train::TrainError),
    /// Building or loading a model failed.
    #[error(transparent)]
    Model(#[from] tinderbox_nn::ModelError),
    /// Tokenizing failed.
    #[error(transparent)]
    Tokenize(#[from] tinderbox_tokenize::TokenizeError),
    /// A fill-mask request could not be answered.
    #[error(transparent)]
    FillMask(#[from] tinderbox_heads::FillMaskError),
    /// Writing a file failed.
    #[error(transparent)]
    Write(#[from] tinderbox_io::WriteError),
    /// Generation could not run.
    #[error(transparent)]
    Generate(#[from] tinderbox_generate::GenerateError),
    /// An explanation could not be made.
    #[error(transparent)]
    Explain(#[from] tinderbox_explain::ExplainError),
    /// The server could not start or stopped with an error.
    #[error(transparent)]
    Serve(#[from] tinderbox_serve::ServeError),
    /// An argument or saved setting is unusable.
    #[error("{0}")]
    Invalid(String),
}
