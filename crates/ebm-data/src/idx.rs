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
    let (bytes, decompressed) = read_maybe_gzip(path)?;
    parse_idx_images(&bytes, path).map_err(|e| mark_decompressed(e, decompressed))
}

/// Reads an IDX labels file (raw or gzipped).
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>, DataError> {
    let path = path.as_ref();
    let (bytes, decompressed) = read_maybe_gzip(path)?;
    parse_idx_labels(&bytes, path).map_err(|e| mark_decompressed(e, decompressed))
}

/// Parses the content of an IDX images file already in memory (raw or gzipped), for instance
/// one embedded with `include_bytes!`; `origin` names it in errors.
pub fn parse_idx_images(bytes: &[u8], origin: &Path) -> Result<IdxImages, DataError> {
    if is_gzip(bytes) {
        let (raw, _) = gunzip(bytes, origin)?;
        return parse_idx_images(&raw, origin).map_err(|e| mark_decompressed(e, true));
    }
    let (dims, data) = parse_header(bytes, origin, IMAGES_MAGIC, "images")?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
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
        pixels: data.to_vec(),
    })
}

/// Parses the content of an IDX labels file already in memory (raw or gzipped); `origin` names
/// it in errors.
pub fn parse_idx_labels(bytes: &[u8], origin: &Path) -> Result<Vec<u8>, DataError> {
    if is_gzip(bytes) {
        let (raw, _) = gunzip(bytes, origin)?;
        return parse_idx_labels(&raw, origin).map_err(|e| mark_decompressed(e, true));
    }
    let (_, data) = parse_header(bytes, origin, LABELS_MAGIC, "labels")?;
    Ok(data.to_vec())
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

/// Checks the header against `magic` and returns the dimensions and the data bytes.
fn parse_header<'a>(
    bytes: &'a [u8],
    path: &Path,
    magic: u32,
    kind: &'static str,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let truncated = |expected: u64| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        found: bytes.len() as u64,
        decompressed: false,
    };
    let Some(head) = bytes.first_chunk::<4>() else {
        return Err(truncated(4));
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
    let ndims = usize::from(ndims);
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(truncated(header_len as u64));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let data_len = dims.iter().try_fold(1usize, |acc, d| acc.checked_mul(*d));
    let total = data_len.and_then(|d| d.checked_add(header_len));
    let Some(total) = total else {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: format!("IDX dimensions {dims:?} are too large"),
        });
    };
    if bytes.len() < total {
        return Err(truncated(total as u64));
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

/// Reads a whole file, gunzipping it when it starts with the gzip magic bytes; the flag says
/// whether it was gzipped.
fn read_maybe_gzip(path: &Path) -> Result<(Vec<u8>, bool), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if is_gzip(&bytes) {
        gunzip(&bytes, path)
    } else {
        Ok((bytes, false))
    }
}

/// Gunzips `bytes`. A stream cut short keeps what it decoded, so that the IDX parser can say
/// how much is missing; one whose content is whole but whose trailer is missing is an error.
fn gunzip(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, bool), DataError> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    match MultiGzDecoder::new(bytes).read_to_end(&mut out) {
        Ok(_) => Ok((out, true)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            // Let the IDX header say how much is missing; if the content happens to be whole,
            // report the cut stream itself.
            let magic = if out.starts_with(&LABELS_MAGIC.to_be_bytes()) {
                (LABELS_MAGIC, "labels")
            } else {
                (IMAGES_MAGIC, "images")
            };
            match parse_header(&out, path, magic.0, magic.1) {
                Ok(_) => Err(DataError::Malformed {
                    path: path.to_path_buf(),
                    reason: "gzip stream is truncated (its end and checksum are missing)"
                        .to_string(),
                }),
                Err(err) => Err(mark_decompressed(err, true)),
            }
        }
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
