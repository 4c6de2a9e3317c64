//! Packed pre-training sequences on disk: fixed-size records that are read one at a time, so a
//! run's memory does not grow with its corpus and any sequence can be fetched by number (what a
//! shuffled, exactly resumable stream needs).
//!
//! Layout (little-endian): the magic `TBXSEQ01`, the record capacity `max_len: u32`, 4 zero
//! bytes, the record count `u64`; then per record its length `u32` and `max_len` ids `u32`,
//! zero-filled past the length.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::DataError;

const MAGIC: &[u8; 8] = b"TBXSEQ01";
const HEADER: u64 = 24;

/// Writes a [`SequenceFile`] beside its final path and renames it into place on
/// [`finish`](Self::finish), so that a reader never sees half a file.
pub struct SequenceFileWriter {
    path: PathBuf,
    file: BufWriter<tempfile::NamedTempFile>,
    max_len: usize,
    count: u64,
    tokens: u64,
}

impl SequenceFileWriter {
    /// Starts a file of sequences of at most `max_len` ids.
    pub fn create(path: impl Into<PathBuf>, max_len: usize) -> Result<Self, DataError> {
        let path = path.into();
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let max_len_u32 = u32::try_from(max_len).map_err(|_| DataError::Mlm {
            reason: format!("a sequence length of {max_len} does not fit the file format"),
        })?;
        let tmp = tempfile::Builder::new()
            .prefix(".sequences-")
            .tempfile_in(dir)
            .map_err(|e| DataError::io("creating a temporary file in", dir, e))?;
        let mut file = BufWriter::new(tmp);
        let mut header = Vec::with_capacity(HEADER as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&max_len_u32.to_le_bytes());
        header.extend_from_slice(&[0; 12]);
        file.write_all(&header)
            .map_err(|e| DataError::io("writing", &path, e))?;
        Ok(Self {
            path,
            file,
            max_len,
            count: 0,
            tokens: 0,
        })
    }

    /// Appends one sequence. Errors when it is empty or longer than `max_len`.
    pub fn push(&mut self, ids: &[u32]) -> Result<(), DataError> {
        if ids.is_empty() || ids.len() > self.max_len {
            return Err(DataError::Mlm {
                reason: format!(
                    "a sequence of {} ids does not fit records of 1 to {}",
                    ids.len(),
                    self.max_len
                ),
            });
        }
        let mut record = Vec::with_capacity(4 * (self.max_len + 1));
        record.extend_from_slice(&(ids.len() as u32).to_le_bytes());
        for id in ids {
            record.extend_from_slice(&id.to_le_bytes());
        }
        record.resize(4 * (self.max_len + 1), 0);
        self.file
            .write_all(&record)
            .map_err(|e| DataError::io("writing", &self.path, e))?;
        self.count += 1;
        self.tokens += ids.len() as u64;
        Ok(())
    }

    /// Sequences written so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Ids written so far.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Writes the count into the header and renames the file into place.
    pub fn finish(self) -> Result<SequenceFile, DataError> {
        let path = self.path;
        let io = |e| DataError::io("writing", &path, e);
        let mut tmp = self.file.into_inner().map_err(|e| io(e.into_error()))?;
        tmp.seek(SeekFrom::Start(16)).map_err(io)?;
        tmp.write_all(&self.count.to_le_bytes()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&path)
            .map_err(|e| DataError::io("renaming into", &path, e.error))?;
        SequenceFile::open(&path)
    }
}

/// A file of packed sequences, read by number.
///
/// ```
/// use tinderbox_data::mlm::{SequenceFile, SequenceFileWriter};
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut writer = SequenceFileWriter::create(dir.path().join("train.seq"), 4).unwrap();
/// writer.push(&[2, 10, 11, 3]).unwrap();
/// writer.push(&[2, 12, 3]).unwrap();
/// let file = writer.finish().unwrap();
/// assert_eq!(file.len(), 2);
/// assert_eq!(file.get(1).unwrap(), vec![2, 12, 3]);
/// assert_eq!(SequenceFile::open(dir.path().join("train.seq")).unwrap().get(0).unwrap(), [2, 10, 11, 3]);
/// ```
#[derive(Clone, Debug)]
pub struct SequenceFile {
    path: PathBuf,
    file: Arc<File>,
    max_len: usize,
    count: usize,
}

impl SequenceFile {
    /// Opens a file written by [`SequenceFileWriter`]. Errors on another format and on a size
    /// that disagrees with the header (a truncated or padded file).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, DataError> {
        let path = path.into();
        let mut file = File::open(&path).map_err(|e| DataError::io("opening", &path, e))?;
        let corrupt = |reason: String| DataError::Mlm {
            reason: format!("{}: {reason}", path.display()),
        };
        let mut header = [0u8; HEADER as usize];
        file.read_exact(&mut header)
            .map_err(|_| corrupt("shorter than the header: not a sequence file".into()))?;
        if &header[..8] != MAGIC {
            return Err(corrupt(
                "not a tinderbox sequence file (wrong magic)".into(),
            ));
        }
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let max_len = word(8) as usize;
        let count = u64::from(word(16)) | u64::from(word(20)) << 32;
        let record = 4 * (max_len as u64 + 1);
        let size = file
            .metadata()
            .map_err(|e| DataError::io("reading the size of", &path, e))?
            .len();
        // A corrupt header can promise more bytes than a u64 counts (found by fuzzing).
        let expected = count
            .checked_mul(record)
            .and_then(|bytes| bytes.checked_add(HEADER));
        if max_len == 0 || expected != Some(size) || usize::try_from(count).is_err() {
            let promised = expected.map_or("more than 2^64".into(), |b| b.to_string());
            return Err(corrupt(format!(
                "{size} bytes where the header promises {count} records of {max_len} ids ({promised} bytes): truncated or corrupt"
            )));
        }
        Ok(Self {
            path,
            file: Arc::new(file),
            max_len,
            count: count as usize,
        })
    }

    /// The number of sequences.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the file holds no sequence.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The longest a sequence may be.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sequence `index`. Errors past the end and on a corrupt record.
    pub fn get(&self, index: usize) -> Result<Vec<u32>, DataError> {
        if index >= self.count {
            return Err(DataError::Mlm {
                reason: format!(
                    "sequence {index} is past the end of {} ({} sequences)",
                    self.path.display(),
                    self.count
                ),
            });
        }
        let record = 4 * (self.max_len + 1);
        let mut bytes = vec![0u8; record];
        // In u64: `open` checked that every record's offset fits.
        read_at(
            &self.file,
            &mut bytes,
            HEADER + index as u64 * record as u64,
        )
        .map_err(|e| DataError::io("reading", &self.path, e))?;
        let mut words = bytes
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        let len = words.next().unwrap_or(0) as usize;
        if len == 0 || len > self.max_len {
            return Err(DataError::Mlm {
                reason: format!(
                    "{}: record {index} claims {len} ids (1 to {} allowed): corrupt",
                    self.path.display(),
                    self.max_len
                ),
            });
        }
        Ok(words.take(len).collect())
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, sequences: &[&[u32]]) -> SequenceFile {
        let mut w = SequenceFileWriter::create(dir.join("s.seq"), 5).unwrap();
        for s in sequences {
            w.push(s).unwrap();
        }
        assert_eq!(w.len(), sequences.len() as u64);
        w.finish().unwrap()
    }

    #[test]
    fn round_trip_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let seqs: [&[u32]; 3] = [&[1, 2, 3, 4, 5], &[7], &[u32::MAX, 0, 9]];
        let file = write(dir.path(), &seqs);
        assert_eq!(file.len(), 3);
        assert_eq!(file.max_len(), 5);
        for (i, s) in seqs.iter().enumerate().rev() {
            assert_eq!(file.get(i).unwrap(), *s);
        }
        let err = file.get(3).unwrap_err().to_string();
        assert!(err.contains("past the end"), "{err}");
        // Only the finished file is left: no temporary.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_sequences_and_corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SequenceFileWriter::create(dir.path().join("s.seq"), 2).unwrap();
        assert!(w.push(&[]).is_err());
        assert!(w.push(&[1, 2, 3]).is_err());
        drop(w);
        assert!(
            !dir.path().join("s.seq").exists(),
            "an unfinished writer leaves nothing"
        );

        let file = write(dir.path(), &[&[1, 2], &[3]]);
        let path = file.path().to_path_buf();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = SequenceFile::open(&path).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        std::fs::write(&path, b"PK\x03\x04 something else entirely").unwrap();
        let err = SequenceFile::open(&path).unwrap_err().to_string();
        assert!(err.contains("wrong magic"), "{err}");
        std::fs::write(&path, b"TBX").unwrap();
        assert!(SequenceFile::open(&path).is_err());
        let mut corrupt = bytes.clone();
        corrupt[HEADER as usize] = 9; // record 0 claims 9 ids
        std::fs::write(&path, &corrupt).unwrap();
        let err = SequenceFile::open(&path)
            .unwrap()
            .get(0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("corrupt"), "{err}");
    }

    /// Regression (cargo fuzz, target `sequence_file`): a header whose record count times record
    /// size overflows u64 panicked on the multiplication.
    #[test]
    fn a_header_promising_more_than_2_64_bytes_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.seq");
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&u32::MAX.to_le_bytes()); // max_len
        header.extend_from_slice(&[0; 4]);
        header.extend_from_slice(&u64::MAX.to_le_bytes()); // count
        std::fs::write(&path, &header).unwrap();
        let err = SequenceFile::open(&path).unwrap_err().to_string();
        assert!(err.contains("more than 2^64 bytes"), "{err}");
        assert!(err.contains("corrupt"), "{err}");
    }
}
