//! Datasets for energy-based models.
//!
//! - [`idx`]: the IDX files of MNIST and Fashion-MNIST, raw or gzipped.
//! - [`images`]: [`ImageSet`], images in memory scaled to `[-1, 1]`, to tensors, batches and
//!   held-out splits.
//! - [`folder`]: folders of PNG/JPEG images, with labels from class sub-folders.
//! - [`options`]: [`LoadOptions`], the colour mode and size asked of loaded images.
//! - [`stratify`]: seeded stratified subsets ([`ImageSet::stratified`], [`stratified_indices`])
//!   the stratified held-out split of [`ImageSet::split`] and [`stratified_split`] of a labelled
//!   table.
//! - [`load`]: [`load_images`], one entry for an IDX file, an IDX folder or an image folder.
//! - [`npy`]: NumPy `.npy` arrays and `.npz` archives ([`read_npz`], [`NpzArchive`]), any numeric
//!   dtype read as `f64` with its shape.
//! - [`csv`]: numeric CSV files and rows ([`read_csv`], [`CsvSchema`] for a stream).
//! - [`table`]: [`Table`], numeric rows with named columns and 0/1 labels, from CSV, `.npz` or
//!   `.npy` ([`read_table`]).
//! - [`toy`]: [`ToyDataset`], the 2-D toy densities of FFJORD (8gaussians, moons, ...).
//! - [`error`]: [`DataError`], which names the file and what is wrong with it.

pub mod csv;
pub mod error;
pub mod folder;
pub mod idx;
pub mod images;
pub mod load;
pub mod npy;
pub mod options;
pub mod stratify;
pub mod table;
pub mod toy;

pub use csv::{CsvSchema, parse_csv, read_csv};
pub use error::DataError;
pub use folder::{class_names, read_image_folder};
pub use idx::{IdxImages, read_idx_dataset, read_idx_images, read_idx_labels};
pub use images::{ImageSet, pixel_to_unit, unit_to_pixel};
pub use load::{load_images, mnist_4k_dir};
pub use npy::{NpyArray, NpzArchive, parse_npy, parse_npz, read_npy, read_npz};
pub use options::{ColorMode, LoadOptions};
pub use stratify::{stratified_indices, stratified_split, uniform_indices};
pub use table::{Table, read_table};
pub use toy::{ToyDataset, eight_gaussians_log_density};
