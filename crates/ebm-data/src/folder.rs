//! A folder of PNG and JPEG images, optionally one sub-folder per class.
//!
//! Layouts:
//! - `folder/*.png|jpg|jpeg`: unlabelled images.
//! - `folder/<class>/*.png|jpg|jpeg`: labelled images; the sorted sub-folder names are the
//!   classes, and label `k` is the `k`-th name (see [`class_names`]).
//!
//! Files are read in name order, and names starting with `.` are skipped, as are files of other
//! extensions (a README, say). Images are converted to the requested [`crate::ColorMode`] and
//! either resized to the requested size or required to share one size.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use crate::{DataError, ImageSet, LoadOptions};

/// The file extensions read as images (compared without case).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Whether `path` has one of the [`IMAGE_EXTENSIONS`] and is not hidden.
pub fn is_image_file(path: &Path) -> bool {
    !is_hidden(path)
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// The sorted, non-hidden entries of `dir`, split into (sub-folders, image files).
fn list(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if is_hidden(&path) {
            continue;
        }
        if path.is_dir() {
            dirs.push(path);
        } else if is_image_file(&path) {
            files.push(path);
        }
    }
    dirs.sort();
    files.sort();
    Ok((dirs, files))
}

/// The class names of a folder with one sub-folder per class, sorted: label `k` is the `k`-th.
///
/// `None` when the folder has no sub-folder (its images are unlabelled).
pub fn class_names(path: impl AsRef<Path>) -> Result<Option<Vec<String>>, DataError> {
    let path = path.as_ref();
    check_dir(path)?;
    let (dirs, _) = list(path)?;
    if dirs.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        dirs.iter()
            .map(|d| {
                d.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
    ))
}

fn check_dir(path: &Path) -> Result<(), DataError> {
    if !path.exists() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if !path.is_dir() {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: "not a folder".to_string(),
        });
    }
    Ok(())
}

/// The most bytes the image decoder may allocate for one file (the `image` crate's default,
/// set explicitly): a header announcing a huge image is an error before anything that size is
/// allocated.
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

/// The most decoded bytes a JPEG may have per byte of file.
///
/// Every 8x8 block of every component costs at least one bit (its DC code), and the densest
/// layout, 4x4 luma subsampling, spends 18 blocks on 1024 pixels of 3 output bytes: at most
/// `3072 / 18 * 8 ~ 1365` decoded bytes per file byte; grey is 512. The decoder fills what a
/// cut file lacks with grey, so without this bound a 600-byte JPEG announcing 60000x3000
/// pixels decodes to 500 MB of filler (seconds of work); with it, that is an error.
pub const JPEG_MAX_RATIO: u64 = 2048;

/// Reads every image of a folder (see the module docs for the layouts) into an [`ImageSet`].
///
/// Errors: the folder is missing, holds no image, holds both class sub-folders and loose
/// images, has more than 256 classes, a file cannot be decoded (named; this includes an image
/// that would need more than [`MAX_DECODE_BYTES`]), or the images differ in size while
/// `options.size` is `None` (the first image and the first that differs are named).
pub fn read_image_folder(
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<ImageSet, DataError> {
    let path = path.as_ref();
    options.check()?;
    check_dir(path)?;
    let (files, labelled) = image_files(path)?;
    let mut pixels = Vec::new();
    let mut labels = Vec::with_capacity(files.len());
    let mut first: Option<(PathBuf, (u32, u32))> = None;
    for (file, label) in &files {
        let img = decode(file)?;
        let size = (img.width(), img.height());
        match &first {
            None => first = Some((file.clone(), size)),
            Some((first_path, first_size)) => {
                if options.size.is_none() && size != *first_size {
                    return Err(DataError::MixedSizes {
                        first_path: first_path.clone(),
                        first_size: *first_size,
                        path: file.clone(),
                        size,
                    });
                }
            }
        }
        let (_, _, planar) = options.apply(img);
        pixels.extend_from_slice(&planar);
        labels.push(*label);
    }
    let (width, height) = match (options.size, &first) {
        (Some(size), _) => size,
        (None, Some((_, size))) => *size,
        (None, None) => (0, 0),
    };
    ImageSet::from_u8(
        &pixels,
        labelled.then_some(labels),
        files.len(),
        options.color.channels(),
        height as usize,
        width as usize,
    )
}

/// The image files of a folder in reading order with their labels (0 when unlabelled), and
/// whether the folder is labelled (has class sub-folders); errors as [`read_image_folder`].
fn image_files(path: &Path) -> Result<(Vec<(PathBuf, u8)>, bool), DataError> {
    let (dirs, loose) = list(path)?;
    let mut files: Vec<(PathBuf, u8)> = Vec::new();
    if dirs.is_empty() {
        files.extend(loose.into_iter().map(|f| (f, 0)));
    } else {
        if let Some(first) = loose.first() {
            return Err(DataError::Malformed {
                path: path.to_path_buf(),
                reason: format!(
                    "holds both class sub-folders and loose images (such as {}); \
                     move the images into a class folder",
                    first.display()
                ),
            });
        }
        for (label, dir) in dirs.iter().enumerate() {
            let label = u8::try_from(label).map_err(|_| DataError::Malformed {
                path: path.to_path_buf(),
                reason: format!(
                    "{} class sub-folders; at most 256 are supported",
                    dirs.len()
                ),
            })?;
            let (_, images) = list(dir)?;
            files.extend(images.into_iter().map(|f| (f, label)));
        }
    }
    if files.is_empty() {
        return Err(DataError::EmptyFolder {
            path: path.to_path_buf(),
            idx: false,
        });
    }
    Ok((files, !dirs.is_empty()))
}

/// Decodes one image file (format from its extension), allocating at most
/// [`MAX_DECODE_BYTES`], and for a JPEG at most [`JPEG_MAX_RATIO`] times its size, and
/// rejecting a JPEG cut before its end marker.
fn decode(file: &Path) -> Result<DynamicImage, DataError> {
    let decode_error = |e: image::ImageError| match e {
        image::ImageError::IoError(io) => DataError::io(file, io),
        other => DataError::Decode {
            path: file.to_path_buf(),
            message: other.to_string(),
        },
    };
    let format = ImageFormat::from_path(file).map_err(decode_error)?;
    let bytes = std::fs::read(file).map_err(|e| DataError::io(file, e))?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    if format == ImageFormat::Jpeg {
        if !jpeg_has_end(&bytes) {
            return Err(DataError::Decode {
                path: file.to_path_buf(),
                message: "JPEG data is cut short (no end-of-image marker after its last scan)"
                    .to_string(),
            });
        }
        let budget = (bytes.len() as u64).saturating_mul(JPEG_MAX_RATIO);
        limits.max_alloc = Some(budget.clamp(1 << 20, MAX_DECODE_BYTES));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    reader.decode().map_err(decode_error)
}

/// Whether a JPEG has an end-of-image marker (`ff d9`) after the start of its last scan
/// (`ff da`). Inside entropy-coded data a `ff` byte is always followed by `00` or a restart
/// marker, so `ff d9` there can only be the end; a file without any scan is left to the decoder.
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let Some(last_scan) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else {
        return true;
    };
    bytes[last_scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}
