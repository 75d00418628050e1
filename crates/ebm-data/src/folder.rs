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

use std::path::{Path, PathBuf};

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

/// Reads every image of a folder (see the module docs for the layouts) into an [`ImageSet`].
///
/// Errors: the folder is missing, holds no image, holds both class sub-folders and loose
/// images, has more than 256 classes, a file cannot be decoded (named), or the images differ in
/// size while `options.size` is `None` (the first image and the first that differs are named).
pub fn read_image_folder(
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<ImageSet, DataError> {
    let path = path.as_ref();
    options.check()?;
    check_dir(path)?;
    let (dirs, loose) = list(path)?;
    // (file, label) pairs in reading order.
    let mut files: Vec<(PathBuf, Option<u8>)> = Vec::new();
    if dirs.is_empty() {
        files.extend(loose.into_iter().map(|f| (f, None)));
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
        if dirs.len() > 256 {
            return Err(DataError::Malformed {
                path: path.to_path_buf(),
                reason: format!(
                    "{} class sub-folders; at most 256 are supported",
                    dirs.len()
                ),
            });
        }
        for (label, dir) in dirs.iter().enumerate() {
            let (_, images) = list(dir)?;
            let label = u8::try_from(label).ok();
            files.extend(images.into_iter().map(|f| (f, label)));
        }
    }
    if files.is_empty() {
        return Err(DataError::EmptyFolder {
            path: path.to_path_buf(),
            idx: false,
        });
    }

    let mut pixels = Vec::new();
    let mut labels = Vec::with_capacity(files.len());
    let mut first: Option<(PathBuf, (u32, u32))> = None;
    for (file, label) in &files {
        let img = image::open(file).map_err(|e| match e {
            image::ImageError::IoError(io) => DataError::io(file, io),
            other => DataError::Decode {
                path: file.clone(),
                message: other.to_string(),
            },
        })?;
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
        labels.push(label.unwrap_or(0));
    }
    let (width, height) = match (options.size, &first) {
        (Some(size), _) => size,
        (None, Some((_, size))) => *size,
        (None, None) => (0, 0),
    };
    let labels = (!dirs.is_empty()).then_some(labels);
    ImageSet::from_u8(
        &pixels,
        labels,
        files.len(),
        options.color.channels(),
        height as usize,
        width as usize,
    )
}
