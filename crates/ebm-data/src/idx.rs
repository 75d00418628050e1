//! The IDX format of MNIST and Fashion-MNIST, raw or gzipped.
//!
//! An IDX file is a big-endian header, then the data: the magic number `0x0000TTDD` (two zero
//! bytes, the element type `TT`, the number of dimensions `DD`), one u32 per dimension, then the
//! elements row-major. Images files have magic 2051 (`0x00000803`: bytes, 3 dimensions: count,
//! rows, columns); labels files 2049 (`0x00000801`: bytes, 1 dimension: count). A file is
//! gunzipped when it starts with the gzip magic bytes `1f 8b`, whatever its name.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::{DataError, ImageSet};

/// Magic number of an IDX images file (unsigned bytes, 3 dimensions).
pub const IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX labels file (unsigned bytes, 1 dimension).
pub const LABELS_MAGIC: u32 = 2049;

/// The raw content of an IDX images file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub n: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `n * rows * cols` grey levels, row-major.
    pub pixels: Vec<u8>,
}

/// Whether `bytes` start with the gzip magic bytes `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads an IDX images file (raw or gzipped).
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages, DataError> {
    let path = path.as_ref();
    parse_idx_images(&read_file(path)?, path)
}

/// Reads an IDX labels file (raw or gzipped).
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    parse_idx_labels(&read_file(path)?, path)
}

/// Parses the content of an IDX images file already in memory (raw or gzipped), for instance
/// one embedded with `include_bytes!`; `origin` names it in errors.
pub fn parse_idx_images(bytes: &[u8], origin: &Path) -> Result<IdxImages, DataError> {
    let (dims, data) = parse_idx(bytes, origin, IMAGES_MAGIC, "images")?;
    // The magic number checked says 3 dimensions; the pattern keeps this free of indexing.
    let &[n, rows, cols] = dims.as_slice() else {
        return Err(DataError::Malformed {
            path: origin.to_path_buf(),
            reason: format!("an IDX images file has 3 dimensions, not {}", dims.len()),
        });
    };
    if n == 0 || rows == 0 || cols == 0 {
        return Err(DataError::Malformed {
            path: origin.to_path_buf(),
            reason: format!("empty IDX images file: {n} images of {rows}x{cols}"),
        });
    }
    Ok(IdxImages {
        n,
        rows,
        cols,
        pixels: data,
    })
}

/// Parses the content of an IDX labels file already in memory (raw or gzipped); `origin` names
/// it in errors.
pub fn parse_idx_labels(bytes: &[u8], origin: &Path) -> Result<Vec<u8>, DataError> {
    Ok(parse_idx(bytes, origin, LABELS_MAGIC, "labels")?.1)
}

/// The dimensions and data of an IDX file in memory, gunzipped first when it is gzipped.
fn parse_idx(
    bytes: &[u8],
    origin: &Path,
    magic: u32,
    kind: &'static str,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    if is_gzip(bytes) {
        let raw = gunzip_idx(bytes, origin, magic, kind)?;
        let (dims, _) =
            parse_header(&raw, origin, magic, kind).map_err(|e| mark_decompressed(e, true))?;
        let header_len = 4 + 4 * dims.len();
        let mut data = raw;
        data.drain(..header_len);
        return Ok((dims, data));
    }
    let (dims, data) = parse_header(bytes, origin, magic, kind)?;
    Ok((dims, data.to_vec()))
}

/// Reads an IDX images file and, when given, its labels file, checking that the counts agree.
pub fn read_idx_dataset(
    images_path: impl AsRef<Path>,
    labels_path: Option<&Path>,
) -> Result<(IdxImages, Option<Vec<u8>>), DataError> {
    let images_path = images_path.as_ref();
    let images = read_idx_images(images_path)?;
    let labels = match labels_path {
        None => None,
        Some(lp) => {
            let labels = read_idx_labels(lp)?;
            if labels.len() != images.n {
                return Err(DataError::CountMismatch {
                    images_path: images_path.to_path_buf(),
                    images: images.n,
                    labels_path: lp.to_path_buf(),
                    labels: labels.len(),
                });
            }
            Some(labels)
        }
    };
    Ok((images, labels))
}

impl IdxImages {
    /// These images (and `labels`) as a one-channel [`ImageSet`] scaled to `[-1, 1]`.
    pub fn into_image_set(self, labels: Option<Vec<u8>>) -> Result<ImageSet, DataError> {
        ImageSet::from_u8(&self.pixels, labels, self.n, 1, self.rows, self.cols)
    }
}

/// The name of an IDX element type code, and whether it is one.
fn type_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "16-bit integer",
        0x0C => "32-bit integer",
        0x0D => "32-bit float",
        0x0E => "64-bit float",
        _ => return None,
    })
}

/// Checks the header against `magic` and returns the dimensions and the data bytes, which must
/// be exactly as long as the dimensions announce.
fn parse_header<'a>(
    bytes: &'a [u8],
    path: &Path,
    magic: u32,
    kind: &'static str,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let header_len = check_magic(bytes, path, magic, kind)?;
    let (dims, total) = declared_len(bytes, path, header_len)?;
    if bytes.len() < total {
        return Err(truncated(path, total, bytes.len()));
    }
    if bytes.len() > total {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: format!(
                "{} bytes after the {total} that the IDX header (dimensions {dims:?}) announces",
                bytes.len() - total
            ),
        });
    }
    Ok((dims, &bytes[header_len..]))
}

/// A [`DataError::Truncated`] of raw (not decompressed) sizes.
fn truncated(path: &Path, expected: usize, found: usize) -> DataError {
    DataError::Truncated {
        path: path.to_path_buf(),
        expected: expected as u64,
        found: found as u64,
        decompressed: false,
    }
}

/// Checks the magic number at the start of `bytes` against `magic`; returns the header length
/// (`4 + 4 * dimensions`).
fn check_magic(
    bytes: &[u8],
    path: &Path,
    magic: u32,
    kind: &'static str,
) -> Result<usize, DataError> {
    let Some(head) = bytes.first_chunk::<4>() else {
        return Err(truncated(path, 4, bytes.len()));
    };
    let found = u32::from_be_bytes(*head);
    let bad_magic = || DataError::BadMagic {
        path: path.to_path_buf(),
        found,
        expected: magic,
        kind,
    };
    let [z0, z1, code, ndims] = *head;
    if z0 != 0 || z1 != 0 {
        return Err(bad_magic());
    }
    match type_name(code) {
        None => return Err(bad_magic()),
        Some(name) if code != 0x08 => {
            return Err(DataError::UnsupportedElementType {
                path: path.to_path_buf(),
                code,
                type_name: name,
            });
        }
        Some(_) => {}
    }
    if found != magic {
        return Err(bad_magic());
    }
    Ok(4 + 4 * usize::from(ndims))
}

/// The dimensions in the header of `bytes` (of `header_len` bytes, magic checked) and the total
/// length they announce, header included; an overflowing product is an error, not a wrap.
fn declared_len(
    bytes: &[u8],
    path: &Path,
    header_len: usize,
) -> Result<(Vec<usize>, usize), DataError> {
    let Some(dim_bytes) = bytes.get(4..header_len) else {
        return Err(truncated(path, header_len, bytes.len()));
    };
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let data_len = dims.iter().try_fold(1usize, |acc, d| acc.checked_mul(*d));
    match data_len.and_then(|d| d.checked_add(header_len)) {
        Some(total) => Ok((dims, total)),
        None => Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: format!("IDX dimensions {dims:?} are too large"),
        }),
    }
}

/// Reads a whole file.
fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}

/// Gunzips an IDX file without reading more than its header announces.
///
/// The header is decompressed first; the rest is read with `take(total + 1)`, `total` being the
/// length the header announces, so a stream longer than announced (a gzip bomb behind a small
/// header) costs at most one byte more than the header promised, and a header announcing more
/// than the stream holds allocates only what the stream holds. Errors: a stream that ends short
/// ([`DataError::Truncated`], sizes once decompressed), longer than announced, corrupt, or whose
/// content is whole but whose end and checksum are missing ([`DataError::Malformed`]).
fn gunzip_idx(
    bytes: &[u8],
    path: &Path,
    magic: u32,
    kind: &'static str,
) -> Result<Vec<u8>, DataError> {
    let mut decoder = MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let mark = |e| mark_decompressed(e, true);
    let mut cut = fill(&mut decoder, &mut out, 4, path)?;
    let header_len = check_magic(&out, path, magic, kind).map_err(mark)?;
    if !cut {
        cut = fill(&mut decoder, &mut out, header_len, path)?;
    }
    let (_, total) = declared_len(&out, path, header_len).map_err(mark)?;
    if !cut {
        cut = fill(&mut decoder, &mut out, total.saturating_add(1), path)?;
    }
    if out.len() > total {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: format!(
                "decompresses to more than the {total} bytes that its IDX header announces"
            ),
        });
    }
    if out.len() < total {
        return Err(mark(truncated(path, total, out.len())));
    }
    if cut {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: "gzip stream is truncated (its end and checksum are missing)".to_string(),
        });
    }
    Ok(out)
}

/// Decompresses into `out` until it holds `upto` bytes or the stream ends; `true` when the
/// stream was cut short (an unexpected end of file), an error when it is corrupt.
fn fill(
    decoder: &mut impl Read,
    out: &mut Vec<u8>,
    upto: usize,
    path: &Path,
) -> Result<bool, DataError> {
    let want = upto.saturating_sub(out.len()) as u64;
    match decoder.take(want).read_to_end(out) {
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(true),
        Err(e) => Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: format!("corrupt gzip stream: {e}"),
        }),
    }
}

/// Records in a [`DataError::Truncated`] that the sizes are those of the decompressed content.
fn mark_decompressed(err: DataError, decompressed: bool) -> DataError {
    match err {
        DataError::Truncated {
            path,
            expected,
            found,
            ..
        } => DataError::Truncated {
            path,
            expected,
            found,
            decompressed,
        },
        other => other,
    }
}

/// The path of the labels file that goes with an images file, if one exists beside it:
/// `images` becomes `labels` and `idx3` becomes `idx1` in the name, with or without `.gz`.
pub fn labels_path_for(images_path: &Path) -> Option<PathBuf> {
    let name = images_path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let pos = lower.find("images")?;
    let mut label_name = format!("{}labels{}", &name[..pos], &name[pos + "images".len()..]);
    if let Some(p) = label_name.to_ascii_lowercase().find("idx3") {
        label_name.replace_range(p..p + 4, "idx1");
    }
    let stem = label_name
        .strip_suffix(".gz")
        .unwrap_or(&label_name)
        .to_string();
    [label_name.clone(), format!("{stem}.gz"), stem]
        .into_iter()
        .map(|n| images_path.with_file_name(n))
        .find(|p| p.is_file())
}
