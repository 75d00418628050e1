//! Datasets for energy-based models.
//!
//! - [`idx`]: the IDX files of MNIST and Fashion-MNIST, raw or gzipped.
//! - [`images`]: [`ImageSet`], images in memory scaled to `[-1, 1]`, to tensors, batches and
//!   held-out splits.
//! - [`folder`]: folders of PNG/JPEG images, with labels from class sub-folders.
//! - [`options`]: [`LoadOptions`], the colour mode and size asked of loaded images.
//! - [`stratify`]: seeded stratified subsets ([`ImageSet::stratified`], [`stratified_indices`])
//!   and the stratified held-out split of [`ImageSet::split`].
//! - [`load`]: [`load_images`], one entry for an IDX file, an IDX folder or an image folder.
//! - [`npy`]: NumPy `.npy` arrays and `.npz` archives ([`read_npz`], [`NpzArchive`]), any numeric
//!   dtype read as `f64` with its shape.
//! - [`toy`]: [`ToyDataset`], the 2-D toy densities of FFJORD (8gaussians, moons, ...).
//! - [`error`]: [`DataError`], which names the file and what is wrong with it.

pub mod error;
pub mod folder;
pub mod idx;
pub mod images;
pub mod load;
pub mod npy;
pub mod options;
pub mod stratify;
pub mod toy;

pub use error::DataError;
pub use folder::{class_names, read_image_folder};
pub use idx::{IdxImages, read_idx_dataset, read_idx_images, read_idx_labels};
pub use images::{ImageSet, pixel_to_unit, unit_to_pixel};
pub use load::{load_images, mnist_4k_dir};
pub use npy::{NpyArray, NpzArchive, parse_npy, parse_npz, read_npy, read_npz};
pub use options::{ColorMode, LoadOptions};
pub use stratify::{stratified_indices, uniform_indices};
pub use toy::{ToyDataset, eight_gaussians_log_density};
