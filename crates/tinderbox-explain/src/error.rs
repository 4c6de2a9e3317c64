//! What can go wrong while explaining a prediction.

/// An explanation that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// Nothing to explain: the input has no feature (an empty text, or only special tokens).
    #[error("nothing to explain: {0}")]
    NoFeatures(String),
    /// Integrated gradients needs at least one step.
    #[error(
        "--steps must be at least 1 (integrated gradients averages the gradient over that many points); got 0"
    )]
    ZeroSteps,
    /// A sampling method was given too few samples to fit its linear model.
    #[error(
        "{method} needs at least {min} samples to fit one weight per feature ({features} features); got {samples}"
    )]
    TooFewSamples {
        /// The method.
        method: &'static str,
        /// Samples asked for.
        samples: usize,
        /// The fewest that work.
        min: usize,
        /// Features of the input.
        features: usize,
    },
    /// The class to explain does not exist.
    #[error("class {target} does not exist: the model has {classes} classes")]
    NoSuchClass {
        /// The class asked for.
        target: usize,
        /// Classes of the model.
        classes: usize,
    },
    /// An unknown method name.
    #[error(
        "unknown explanation method {0:?}: use ig, gradxinput, saliency, occlusion, lime, kernelshap or rollout"
    )]
    UnknownMethod(String),
    /// A scoring function returned the wrong number of scores.
    #[error("the model scored {got} perturbed inputs, {expected} were asked for")]
    ScoreCount {
        /// Inputs sent.
        expected: usize,
        /// Scores returned.
        got: usize,
    },
    /// The gradient did not reach the input (the model detaches it, or the device has no autodiff).
    #[error(
        "no gradient reached the input: load the model on an autodiff device (`device.autodiff()`) and `freeze()` it"
    )]
    NoGradient,
    /// Inputs that do not fit together (shapes, positions, orders).
    #[error("invalid input: {0}")]
    Input(String),
    /// The method needs something the model does not have.
    #[error("{method} needs {needs}")]
    Unsupported {
        /// The method.
        method: &'static str,
        /// What it needs.
        needs: &'static str,
    },
    /// A tensor could not be read back.
    #[error("reading a tensor: {0}")]
    Read(String),
    /// The least-squares system of LIME or KernelSHAP is singular.
    #[error("the {0} fit is singular: too few distinct samples for the number of features")]
    Singular(&'static str),
    /// Image dimensions that the method cannot cover.
    #[error("invalid image settings: {0}")]
    Image(String),
    /// Writing a file failed.
    #[error(transparent)]
    Write(#[from] tinderbox_io::WriteError),
    /// Encoding a PNG failed.
    #[error("encoding a PNG: {0}")]
    Png(String),
}

/// Results of this crate.
pub type Result<T, E = ExplainError> = std::result::Result<T, E>;
