//! The one error type of this crate.
//!
//! Every variant that comes from a file names that file, so that a message read on its own
//! says where to look and what is wrong.

use std::path::PathBuf;

/// Everything that can go wrong while reading or preparing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The path does not exist.
    #[error("{}: no such file or directory", .path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },

    /// The operating system refused a read (permissions, a broken disk, a corrupt gzip stream...).
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The first four bytes of an IDX file are not the expected magic number.
    #[error(
        "{}: wrong magic number {found:#010x} ({found}); expected {expected:#010x} ({expected}) for an IDX {kind} file",
        .path.display()
    )]
    BadMagic {
        /// The IDX file.
        path: PathBuf,
        /// The magic number found (big-endian u32).
        found: u32,
        /// The magic number expected.
        expected: u32,
        /// What the file was expected to hold ("images" or "labels").
        kind: &'static str,
    },

    /// An IDX file holds elements of a type other than unsigned bytes.
    #[error(
        "{}: unsupported IDX element type {type_name} (code {code:#04x}); only unsigned bytes (0x08) are read",
        .path.display()
    )]
    UnsupportedElementType {
        /// The IDX file.
        path: PathBuf,
        /// The type code of the third header byte.
        code: u8,
        /// A readable name of that type code.
        type_name: &'static str,
    },

    /// A file ends before the data that its header announces.
    #[error(
        "{}: truncated: the IDX header announces {expected} bytes but the file holds {found}{}",
        .path.display(),
        once_decompressed(.decompressed)
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces (header included), or the header's own length when the
        /// file ends inside it.
        expected: u64,
        /// Bytes actually present (after decompression when `decompressed`).
        found: u64,
        /// Whether the sizes are those of the gunzipped content.
        decompressed: bool,
    },

    /// The images file and the labels file disagree on the number of items.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        .images_path.display(),
        .labels_path.display()
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Number of images it holds.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Number of labels it holds.
        labels: usize,
    },

    /// A file or folder is readable but its content or layout is not what was expected.
    #[error("{}: {reason}", .path.display())]
    Malformed {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A folder holds no image to read.
    #[error("{}: no images found (looked for *.png, *.jpg, *.jpeg{})", .path.display(), and_idx(.idx))]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
        /// Whether IDX files were looked for too.
        idx: bool,
    },

    /// An image file cannot be decoded.
    #[error("{}: cannot decode image: {message}", .path.display())]
    Decode {
        /// The image file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },

    /// Images of different sizes were found and no common size was requested.
    #[error(
        "{} is {}x{} but {} is {}x{} (width x height); request a size to resize all images",
        .path.display(), .size.0, .size.1, .first_path.display(), .first_size.0, .first_size.1
    )]
    MixedSizes {
        /// The first image read, which sets the size.
        first_path: PathBuf,
        /// Its (width, height).
        first_size: (u32, u32),
        /// The first image whose size differs.
        path: PathBuf,
        /// Its (width, height).
        size: (u32, u32),
    },

    /// An `.npz` archive lacks the array asked for.
    #[error("{}: no array `{name}` (the archive holds: {available})", .path.display())]
    MissingArray {
        /// The archive.
        path: PathBuf,
        /// The array asked for.
        name: String,
        /// The arrays present, comma-separated.
        available: String,
    },

    /// An `.npy` header (or the zip structure of an `.npz`) cannot be read.
    #[error("{}: bad header: {reason}", .path.display())]
    BadHeader {
        /// The file (`archive.npz:member.npy` for a member).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// An `.npy` dtype other than the numeric ones read.
    #[error(
        "{}: unsupported dtype `{descr}`; readable are f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, either byte order",
        .path.display()
    )]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The dtype as the header gives it.
        descr: String,
    },

    /// An `.npy` file holds fewer data bytes than its header's shape and dtype announce.
    #[error("{}: truncated: the header announces {expected} data bytes but {found} are present", .path.display())]
    ArrayTruncated {
        /// The file.
        path: PathBuf,
        /// Data bytes announced (`u64::MAX` when the count overflows).
        expected: u64,
        /// Data bytes present.
        found: u64,
    },

    /// A CSV row with another number of cells than the header.
    #[error("{}: line {line}: {found} cells, but the header names {expected} columns", .path.display())]
    Ragged {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// Cells in the header.
        expected: usize,
        /// Cells in this row.
        found: usize,
    },

    /// A CSV cell that is not a number.
    #[error("{}: line {line}, column `{column}`: {cell:?} is not a number", .path.display())]
    NotNumeric {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// The column's name.
        column: String,
        /// The cell (its first 40 characters).
        cell: String,
    },

    /// A NaN or infinite value: tables must be complete and finite (no silent imputation).
    #[error(
        "{}: row {row}, column `{column}`: {value} is not finite; remove or impute such values first",
        .path.display()
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The row (1-based; for CSV, the line in the file).
        row: usize,
        /// The column's name.
        column: String,
        /// The value.
        value: f64,
    },

    /// An argument is outside the range the function accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A toy-dataset name that is not one of the known ones.
    #[error("unknown toy dataset {name:?}; valid names are: {valid}")]
    UnknownToyDataset {
        /// The name given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
}

impl DataError {
    /// An [`DataError::Io`] for `path`, or [`DataError::NotFound`] when the OS says the path is missing.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::NotFound { path }
        } else {
            DataError::Io { path, source }
        }
    }
}

fn once_decompressed(decompressed: &bool) -> &'static str {
    if *decompressed {
        " once decompressed"
    } else {
        ""
    }
}

fn and_idx(idx: &bool) -> &'static str {
    if *idx { " and IDX files" } else { "" }
}
