//! NumPy `.npy` arrays and `.npz` archives, read as `f64` with their shape.
//!
//! `.npy` (format versions 1, 2, 3): the magic `\x93NUMPY`, a version, a header length, a
//! Python-literal header `{'descr': '<f8', 'fortran_order': False, 'shape': (n, d), }`, then the
//! data in C order. Numeric dtypes are read: `f8 f4 i1 i2 i4 i8 u1 u2 u4 u8` (and `b1`), little-
//! or big-endian (`<`, `>`, `|` or `=` for one-byte types), every value converted to `f64`
//! (64-bit integers beyond `2^53` round), and Fortran-ordered data (as ADBench's `X` is stored)
//! rearranged into C order. Object, string and complex dtypes are typed errors.
//!
//! `.npz` (what `np.savez` and `np.savez_compressed` write): a zip archive of `NAME.npy` members,
//! stored or deflated, read through the central directory (zip64 size fields included); each
//! member becomes a named [`NpyArray`] in an [`NpzArchive`].
//!
//! Every error names the file (and the member), and nothing is allocated beyond what the file
//! justifies: a member inflates to at most the smaller of its declared size and 1032 times its
//! compressed size (deflate's largest ratio), and the data of an array is the header's element
//! count times the item size, checked against the bytes present before anything is allocated.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::DataError;

/// One array: its shape and its values in C order, as `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The values, row-major; `shape.iter().product()` of them.
    pub data: Vec<f64>,
}

/// The arrays of an `.npz` file, by name (the member name without `.npy`), in archive order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpzArchive {
    /// The file read.
    pub path: PathBuf,
    /// `(name, array)` in the order of the archive.
    pub arrays: Vec<(String, NpyArray)>,
}

impl NpzArchive {
    /// The array `name`, or [`DataError::MissingArray`] naming the file and the arrays present.
    pub fn get(&self, name: &str) -> Result<&NpyArray, DataError> {
        self.arrays
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
            .ok_or_else(|| DataError::MissingArray {
                path: self.path.clone(),
                name: name.to_string(),
                available: self
                    .arrays
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Reads an `.npz` archive.
pub fn read_npz(path: impl AsRef<Path>) -> Result<NpzArchive, DataError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_npz(&bytes, path)
}

/// Reads one `.npy` file.
pub fn read_npy(path: impl AsRef<Path>) -> Result<NpyArray, DataError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_npy(&bytes, path)
}

fn bad_header(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::BadHeader {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A little-endian integer of `n <= 8` bytes at `at`, or `None` past the end.
fn le(bytes: &[u8], at: usize, n: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(n)?)?;
    Some(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
}

/// The parsed `.npy` header: dtype, shape, order and where the data starts.
struct Header {
    dtype: Dtype,
    shape: Vec<usize>,
    fortran: bool,
    data_start: usize,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

#[derive(Debug, Clone, Copy)]
struct Dtype {
    kind: Kind,
    size: usize,
    big_endian: bool,
}

impl Dtype {
    fn parse(descr: &str, path: &Path) -> Result<Self, DataError> {
        let unsupported = || DataError::UnsupportedDtype {
            path: path.to_path_buf(),
            descr: descr.to_string(),
        };
        let mut chars = descr.chars();
        let order = chars.next().ok_or_else(unsupported)?;
        let big_endian = match order {
            '<' | '|' | '=' => false,
            '>' => true,
            _ => return Err(unsupported()),
        };
        let rest = chars.as_str();
        let (kind, size) = rest.split_at(rest.len().min(1));
        let kind = match kind {
            "f" => Kind::Float,
            "i" => Kind::Int,
            "u" => Kind::Uint,
            "b" => Kind::Bool,
            _ => return Err(unsupported()),
        };
        let size: usize = size.parse().map_err(|_| unsupported())?;
        let ok = match kind {
            Kind::Float => matches!(size, 4 | 8),
            Kind::Int | Kind::Uint => matches!(size, 1 | 2 | 4 | 8),
            Kind::Bool => size == 1,
        };
        if !ok {
            return Err(unsupported());
        }
        Ok(Dtype {
            kind,
            size,
            big_endian,
        })
    }

    /// One value from its `size` bytes.
    fn value(&self, b: &[u8]) -> f64 {
        let mut raw = [0u8; 8];
        if self.big_endian {
            for (i, x) in b.iter().rev().enumerate() {
                raw[i] = *x;
            }
        } else {
            raw[..b.len()].copy_from_slice(b);
        }
        let u = u64::from_le_bytes(raw);
        let bits = 8 * self.size as u32;
        match self.kind {
            Kind::Float if self.size == 4 => f32::from_bits(u as u32) as f64,
            Kind::Float => f64::from_bits(u),
            Kind::Uint | Kind::Bool => u as f64,
            // Sign-extend from `bits`.
            Kind::Int => (((u << (64 - bits)) as i64) >> (64 - bits)) as f64,
        }
    }
}

/// The value of `'key':` in a header dictionary, up to the next top-level comma or brace.
fn field<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let at = dict
        .find(&format!("'{key}'"))
        .or_else(|| dict.find(&format!("\"{key}\"")))?;
    let rest = dict[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.checked_sub(1)?,
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

fn parse_header(bytes: &[u8], path: &Path) -> Result<Header, DataError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad_header(path, "not an .npy file (no \\x93NUMPY magic)"));
    }
    let (len, start) = match bytes[6] {
        1 => (le(bytes, 8, 2), 10usize),
        2 | 3 => (le(bytes, 8, 4), 12),
        v => return Err(bad_header(path, format!("unknown .npy format version {v}"))),
    };
    let len = len.ok_or_else(|| bad_header(path, "the header length is cut off"))? as usize;
    let end = start
        .checked_add(len)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(|| bad_header(path, format!("the header of {len} bytes is cut off")))?;
    let dict = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| bad_header(path, "the header is not text"))?;
    let get = |key: &str| {
        field(dict, key).ok_or_else(|| bad_header(path, format!("no `{key}` in the header")))
    };
    let descr = get("descr")?.trim_matches(|c| c == '\'' || c == '"');
    let dtype = Dtype::parse(descr, path)?;
    let fortran = match get("fortran_order")? {
        "False" => false,
        "True" => true,
        other => return Err(bad_header(path, format!("bad fortran_order `{other}`"))),
    };
    let shape_text = get("shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| bad_header(path, format!("bad shape `{shape_text}`")))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad_header(path, format!("bad shape `{shape_text}`")))?;
    Ok(Header {
        dtype,
        shape,
        fortran,
        data_start: end,
    })
}

/// Parses the bytes of one `.npy` file; `path` names it in errors.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<NpyArray, DataError> {
    let header = parse_header(bytes, path)?;
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(|| bad_header(path, format!("shape {:?} overflows", header.shape)))?;
    let data = &bytes[header.data_start..];
    let needed = count.checked_mul(header.dtype.size);
    if needed.is_none_or(|n| n > data.len()) {
        return Err(DataError::ArrayTruncated {
            path: path.to_path_buf(),
            expected: needed.map_or(u64::MAX, |n| n as u64),
            found: data.len() as u64,
        });
    }
    let size = header.dtype.size;
    let values: Vec<f64> = data[..count * size]
        .chunks_exact(size)
        .map(|b| header.dtype.value(b))
        .collect();
    let data = if header.fortran && header.shape.len() > 1 {
        to_c_order(&values, &header.shape)
    } else {
        values
    };
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// Values stored in Fortran order (first index fastest) rearranged into C order.
fn to_c_order(values: &[f64], shape: &[usize]) -> Vec<f64> {
    let mut strides = vec![1usize; shape.len()];
    for j in 1..shape.len() {
        strides[j] = strides[j - 1] * shape[j - 1];
    }
    let mut index = vec![0usize; shape.len()];
    let mut out = Vec::with_capacity(values.len());
    for _ in 0..values.len() {
        let at: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out.push(values[at]);
        for j in (0..shape.len()).rev() {
            index[j] += 1;
            if index[j] < shape[j] {
                break;
            }
            index[j] = 0;
        }
    }
    out
}

/// One member of a zip archive, from the central directory.
struct Member {
    name: String,
    method: u64,
    flags: u64,
    compressed: u64,
    size: u64,
    offset: u64,
}

fn bad_zip(path: &Path, reason: impl Into<String>) -> DataError {
    bad_header(
        path,
        format!("not a valid .npz (zip) archive: {}", reason.into()),
    )
}

/// The central directory's members.
fn members(bytes: &[u8], path: &Path) -> Result<Vec<Member>, DataError> {
    let lowest = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| le(bytes, i, 4) == Some(0x0605_4b50))
        .ok_or_else(|| bad_zip(path, "no end-of-central-directory record"))?;
    let cd_size = le(bytes, eocd + 12, 4).unwrap_or(0) as usize;
    let cd_start = le(bytes, eocd + 16, 4).unwrap_or(u64::MAX) as usize;
    let cd = cd_start
        .checked_add(cd_size)
        .and_then(|end| bytes.get(cd_start..end))
        .ok_or_else(|| bad_zip(path, "the central directory lies outside the file"))?;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < cd.len() {
        let (m, next) = member(cd, at).ok_or_else(|| bad_zip(path, "a broken directory entry"))?;
        out.push(m);
        at = next;
    }
    Ok(out)
}

/// The directory entry at `at` and where the next one starts.
fn member(cd: &[u8], at: usize) -> Option<(Member, usize)> {
    if le(cd, at, 4)? != 0x0201_4b50 {
        return None;
    }
    let name_len = le(cd, at + 28, 2)? as usize;
    let extra_len = le(cd, at + 30, 2)? as usize;
    let comment_len = le(cd, at + 32, 2)? as usize;
    let name_start = at + 46;
    let name = cd.get(name_start..name_start + name_len)?;
    let extra = cd.get(name_start + name_len..name_start + name_len + extra_len)?;
    let mut m = Member {
        name: String::from_utf8_lossy(name).into_owned(),
        flags: le(cd, at + 8, 2)?,
        method: le(cd, at + 10, 2)?,
        compressed: le(cd, at + 20, 4)?,
        size: le(cd, at + 24, 4)?,
        offset: le(cd, at + 42, 4)?,
    };
    zip64(&mut m, extra);
    Some((m, name_start + name_len + extra_len + comment_len))
}

/// Replaces `0xFFFFFFFF` sizes and offset by the zip64 extra field's values, in its order.
fn zip64(m: &mut Member, extra: &[u8]) {
    let mut at = 0usize;
    while let (Some(id), Some(len)) = (le(extra, at, 2), le(extra, at + 2, 2)) {
        let body = at + 4;
        if id == 1 {
            let mut k = body;
            for v in [&mut m.size, &mut m.compressed, &mut m.offset] {
                if *v == 0xFFFF_FFFF
                    && let Some(x) = le(extra, k, 8)
                {
                    *v = x;
                    k += 8;
                }
            }
        }
        at = body + len as usize;
    }
}

/// The uncompressed bytes of `m`.
fn member_bytes(bytes: &[u8], m: &Member, path: &Path) -> Result<Vec<u8>, DataError> {
    let bad = |reason: &str| bad_zip(path, format!("member `{}`: {reason}", m.name));
    if m.flags & 1 != 0 {
        return Err(bad("encrypted members are not supported"));
    }
    let at = usize::try_from(m.offset).map_err(|_| bad("offset out of range"))?;
    if le(bytes, at, 4) != Some(0x0403_4b50) {
        return Err(bad("no local header at its offset"));
    }
    let name_len = le(bytes, at + 26, 2).ok_or_else(|| bad("cut-off local header"))? as usize;
    let extra_len = le(bytes, at + 28, 2).ok_or_else(|| bad("cut-off local header"))? as usize;
    let start = at + 30 + name_len + extra_len;
    let data = usize::try_from(m.compressed)
        .ok()
        .and_then(|c| bytes.get(start..start.checked_add(c)?))
        .ok_or_else(|| bad("its data runs past the end of the file"))?;
    match m.method {
        0 if m.size == m.compressed => Ok(data.to_vec()),
        0 => Err(bad("stored with different sizes")),
        8 => {
            let cap = m.size.min(1032 * m.compressed + 1024);
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(data)
                .take(cap)
                .read_to_end(&mut out)
                .map_err(|e| bad(&format!("cannot inflate: {e}")))?;
            if out.len() as u64 != m.size {
                return Err(bad(&format!(
                    "inflates to {} bytes, not {}",
                    out.len(),
                    m.size
                )));
            }
            Ok(out)
        }
        other => Err(bad(&format!("compression method {other} is not supported"))),
    }
}

/// Parses the bytes of an `.npz` archive; `path` names it in errors (with the member,
/// `file.npz:X.npy`, for an error inside an array).
pub fn parse_npz(bytes: &[u8], path: &Path) -> Result<NpzArchive, DataError> {
    let mut arrays = Vec::new();
    for m in members(bytes, path)? {
        let content = member_bytes(bytes, &m, path)?;
        let inner = PathBuf::from(format!("{}:{}", path.display(), m.name));
        let array = parse_npy(&content, &inner)?;
        let name = m.name.strip_suffix(".npy").unwrap_or(&m.name).to_string();
        arrays.push((name, array));
    }
    Ok(NpzArchive {
        path: path.to_path_buf(),
        arrays,
    })
}
