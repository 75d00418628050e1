//! One entry point for image data: IDX files or an image folder, whichever a path holds.

use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage};

use crate::idx::{labels_path_for, read_idx_dataset};
use crate::{ColorMode, DataError, ImageSet, LoadOptions, read_image_folder};

/// Loads images from `path`, which may be:
///
/// - an IDX images file (raw or gzipped, such as `train-images-idx3-ubyte.gz`); its labels are
///   read from the file beside it whose name has `labels`/`idx1` for `images`/`idx3`, if any;
/// - a folder holding an IDX images file (a name containing `images` and `idx3`), such as
///   `datasets/mnist-4k` or a full MNIST folder (where the `train` file is preferred over
///   `t10k`), with its labels file as above;
/// - otherwise an image folder, read by [`read_image_folder`].
///
/// IDX images are grey; `options` can make them RGB (grey repeated) or resize them.
pub fn load_images(path: impl AsRef<Path>, options: &LoadOptions) -> Result<ImageSet, DataError> {
    let path = path.as_ref();
    options.check()?;
    if !path.exists() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
        });
    }
    if path.is_file() {
        return load_idx(path, options);
    }
    match find_idx_images(path)? {
        Some(images) => load_idx(&images, options),
        None => read_image_folder(path, options).map_err(|e| match e {
            DataError::EmptyFolder { path, .. } => DataError::EmptyFolder { path, idx: true },
            other => other,
        }),
    }
}

/// The path of the `datasets/mnist-4k` folder of this repository (4,000 MNIST digits, IDX).
pub fn mnist_4k_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // crates/ebm-data -> the workspace root.
    let root = crate_dir.ancestors().nth(2).unwrap_or(crate_dir);
    root.join("datasets").join("mnist-4k")
}

/// The IDX images file of a folder, if it has one.
fn find_idx_images(dir: &Path) -> Result<Option<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if path.is_file()
            && !name.starts_with('.')
            && name.contains("images")
            && name.contains("idx3")
        {
            found.push(path);
        }
    }
    found.sort();
    if found.len() > 1 {
        let train: Vec<PathBuf> = found
            .iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("train"))
            })
            .cloned()
            .collect();
        if !train.is_empty() {
            found = train;
        }
    }
    // The same file raw and gzipped: take the first (the raw one sorts first).
    let stem = |p: &PathBuf| p.to_string_lossy().trim_end_matches(".gz").to_string();
    if found.len() > 1 && found.iter().all(|p| stem(p) == stem(&found[0])) {
        found.truncate(1);
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(DataError::Malformed {
            path: dir.to_path_buf(),
            reason: format!(
                "several IDX images files ({}); pass the one to read",
                found
                    .iter()
                    .map(|p| p
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Reads an IDX images file and its labels (if beside it), applying `options`.
fn load_idx(images_path: &Path, options: &LoadOptions) -> Result<ImageSet, DataError> {
    let labels_path = labels_path_for(images_path);
    let (images, labels) = read_idx_dataset(images_path, labels_path.as_deref())?;
    let native = (images.cols as u32, images.rows as u32);
    let needs_resize = options.size.is_some_and(|s| s != native);
    if !needs_resize && options.color == ColorMode::Grey {
        return images.into_image_set(labels);
    }
    let (width, height) = options.size.unwrap_or(native);
    let per_image = images.rows * images.cols;
    let too_big = || {
        DataError::InvalidArgument(format!(
            "{} images of {} channel(s) resized to {width}x{height} do not fit in memory",
            images.n,
            options.color.channels()
        ))
    };
    let capacity = [
        images.n,
        options.color.channels(),
        width as usize,
        height as usize,
    ]
    .iter()
    .try_fold(1usize, |acc, d| acc.checked_mul(*d))
    .ok_or_else(too_big)?;
    let mut pixels = Vec::new();
    pixels.try_reserve_exact(capacity).map_err(|_| too_big())?;
    for chunk in images.pixels.chunks_exact(per_image) {
        let gray = GrayImage::from_raw(native.0, native.1, chunk.to_vec()).ok_or_else(|| {
            DataError::Malformed {
                path: images_path.to_path_buf(),
                reason: "image size does not match its pixel count".to_string(),
            }
        })?;
        let (_, _, planar) = options.apply(DynamicImage::ImageLuma8(gray));
        pixels.extend_from_slice(&planar);
    }
    ImageSet::from_u8(
        &pixels,
        labels,
        images.n,
        options.color.channels(),
        height as usize,
        width as usize,
    )
}
