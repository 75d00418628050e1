//! An in-memory set of images scaled to `[-1, 1]`, with optional labels.

use burn::tensor::{Device, Tensor, TensorData};

use crate::DataError;
use crate::stratify::{split_indices, stratified_indices, uniform_indices};

/// Maps a grey level 0..=255 to `[-1, 1]`: `v / 255 * 2 - 1`.
pub fn pixel_to_unit(v: u8) -> f32 {
    f32::from(v) / 255.0 * 2.0 - 1.0
}

/// Maps a value of `[-1, 1]` back to a grey level, rounding and clamping (NaN gives 0).
pub fn unit_to_pixel(x: f32) -> u8 {
    // `as` saturates and sends NaN to 0.
    ((x + 1.0) / 2.0 * 255.0).round().clamp(0.0, 255.0) as u8
}

/// `n` images of `channels x height x width`, scaled to `[-1, 1]`, with optional labels.
///
/// Build it with [`ImageSet::new`] or [`ImageSet::from_u8`], which check that the lengths agree;
/// the fields are public for reading.
/// Its `Debug` output is a summary (counts and shape), not the pixels.
#[derive(Clone, PartialEq)]
pub struct ImageSet {
    /// The pixels, `[n, channels, height, width]` row-major, in `[-1, 1]`.
    pub images: Vec<f32>,
    /// One label per image, when the source has labels.
    pub labels: Option<Vec<u8>>,
    /// Number of images (at least 1).
    pub n: usize,
    /// Channels per image: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Rows per image.
    pub height: usize,
    /// Columns per image.
    pub width: usize,
}

impl std::fmt::Debug for ImageSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageSet")
            .field("n", &self.n)
            .field("channels", &self.channels)
            .field("height", &self.height)
            .field("width", &self.width)
            .field("values", &self.images.len())
            .field("labels", &self.labels.as_ref().map(Vec::len))
            .finish()
    }
}

impl ImageSet {
    /// Checks that `images` holds `n * channels * height * width` values, that `labels` (if any)
    /// holds `n`, and that no count is zero.
    pub fn new(
        images: Vec<f32>,
        labels: Option<Vec<u8>>,
        n: usize,
        channels: usize,
        height: usize,
        width: usize,
    ) -> Result<Self, DataError> {
        if n == 0 || channels == 0 || height == 0 || width == 0 {
            return Err(DataError::InvalidArgument(format!(
                "an image set needs at least one image of at least one pixel, got n={n}, \
                 channels={channels}, height={height}, width={width}"
            )));
        }
        let expected = [n, channels, height, width]
            .iter()
            .try_fold(1usize, |acc, d| acc.checked_mul(*d));
        if expected != Some(images.len()) {
            return Err(DataError::InvalidArgument(format!(
                "{} pixel values for {n} images of {channels}x{height}x{width}",
                images.len()
            )));
        }
        if let Some(l) = &labels
            && l.len() != n
        {
            return Err(DataError::InvalidArgument(format!(
                "{} labels for {n} images",
                l.len()
            )));
        }
        Ok(Self {
            images,
            labels,
            n,
            channels,
            height,
            width,
        })
    }

    /// Like [`ImageSet::new`] from bytes 0..=255, mapped with [`pixel_to_unit`].
    pub fn from_u8(
        pixels: &[u8],
        labels: Option<Vec<u8>>,
        n: usize,
        channels: usize,
        height: usize,
        width: usize,
    ) -> Result<Self, DataError> {
        let images = pixels.iter().map(|v| pixel_to_unit(*v)).collect();
        Self::new(images, labels, n, channels, height, width)
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the set has no image (never true for a set built by [`ImageSet::new`]).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Values per image: `channels * height * width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i` (`[channels, height, width]`), or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        let len = self.image_len();
        let start = i.checked_mul(len)?;
        self.images.get(start..start.checked_add(len)?)
    }

    /// The label of image `i`, when the set has labels and `i` is in range.
    pub fn label(&self, i: usize) -> Option<u8> {
        self.labels.as_ref()?.get(i).copied()
    }

    /// All images as one `[n, channels, height, width]` tensor on `device`.
    pub fn to_tensor(&self, device: &Device) -> Tensor<4> {
        Tensor::<4>::from_data(
            TensorData::new(
                self.images.clone(),
                [self.n, self.channels, self.height, self.width],
            ),
            device,
        )
    }

    /// The images at `indices`, in that order (repeats allowed), as a
    /// `[indices.len(), channels, height, width]` tensor on `device`.
    ///
    /// Fails when `indices` is empty or an index is out of range.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Result<Tensor<4>, DataError> {
        let images = self.gather(indices)?;
        Ok(Tensor::<4>::from_data(
            TensorData::new(
                images,
                [indices.len(), self.channels, self.height, self.width],
            ),
            device,
        ))
    }

    /// A new set of the images (and labels) at `indices`, in that order.
    ///
    /// Fails when `indices` is empty or an index is out of range.
    pub fn select(&self, indices: &[usize]) -> Result<ImageSet, DataError> {
        let images = self.gather(indices)?;
        let labels = match &self.labels {
            None => None,
            Some(l) => Some(
                indices
                    .iter()
                    .map(|i| l.get(*i).copied())
                    .collect::<Option<Vec<u8>>>()
                    .ok_or_else(|| {
                        DataError::InvalidArgument(format!(
                            "{} labels for {} images",
                            l.len(),
                            self.n
                        ))
                    })?,
            ),
        };
        ImageSet::new(
            images,
            labels,
            indices.len(),
            self.channels,
            self.height,
            self.width,
        )
    }

    /// Splits into `(kept, held_out)`: a random `fraction` of the images (rounded, at least one
    /// and leaving at least one) is held out.
    ///
    /// With labels the split is stratified: the held-out count of each class is its
    /// largest-remainder share of the held-out total (see [`crate::stratify`]), so both parts
    /// keep the class proportions to within one image per class. Without labels the held-out
    /// part is the start of a seeded permutation. Draws come from a ChaCha8 stream seeded with
    /// `seed`, so a seed always gives the same split; each part keeps the original order of its
    /// images. Fails unless `0 < fraction < 1` and the set has at least two images.
    pub fn split(&self, seed: u64, fraction: f64) -> Result<(ImageSet, ImageSet), DataError> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(DataError::InvalidArgument(format!(
                "held-out fraction {fraction} is not strictly between 0 and 1"
            )));
        }
        if self.n < 2 {
            return Err(DataError::InvalidArgument(format!(
                "cannot split a set of {} image(s)",
                self.n
            )));
        }
        let held = ((self.n as f64 * fraction).round() as usize).clamp(1, self.n - 1);
        let (kept_idx, held_idx) = split_indices(self.checked_labels()?, self.n, held, seed);
        Ok((self.select(&kept_idx)?, self.select(&held_idx)?))
    }

    /// A seeded, stratified sample of `n` images, in an order that mixes the classes.
    ///
    /// With labels, the class counts are the largest-remainder shares of `n` (every class
    /// present gets at least one image when `n` is at least the number of classes) and any
    /// prefix of the result is stratified too; see [`stratified_indices`]. Without labels it is
    /// a seeded uniform sample in random order ([`uniform_indices`]). The same `seed` gives the
    /// same set. Fails unless `1 <= n <= self.len()`.
    pub fn stratified(&self, n: usize, seed: u64) -> Result<ImageSet, DataError> {
        let indices = match self.checked_labels()? {
            Some(labels) => stratified_indices(labels, n, seed)?,
            None => uniform_indices(self.n, n, seed)?,
        };
        self.select(&indices)
    }

    /// The labels, checked to hold one per image (the fields are public and may disagree).
    fn checked_labels(&self) -> Result<Option<&[u8]>, DataError> {
        match &self.labels {
            Some(l) if l.len() != self.n => Err(DataError::InvalidArgument(format!(
                "{} labels for {} images",
                l.len(),
                self.n
            ))),
            other => Ok(other.as_deref()),
        }
    }

    /// The number of images of each label `0..=max label`, when the set has labels.
    pub fn label_counts(&self) -> Option<Vec<usize>> {
        let labels = self.labels.as_ref()?;
        let max = labels.iter().copied().max().map_or(0, usize::from);
        let mut counts = vec![0; max + 1];
        for l in labels {
            counts[usize::from(*l)] += 1;
        }
        Some(counts)
    }

    fn gather(&self, indices: &[usize]) -> Result<Vec<f32>, DataError> {
        if indices.is_empty() {
            return Err(DataError::InvalidArgument(
                "no image indices given".to_string(),
            ));
        }
        let len = self.image_len();
        let mut out = Vec::with_capacity(indices.len() * len);
        for &i in indices {
            let image = self.image(i).ok_or_else(|| {
                DataError::InvalidArgument(format!(
                    "image index {i} is out of range for a set of {} images",
                    self.n
                ))
            })?;
            out.extend_from_slice(image);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ImageSet {
        // 5 images of 1x2x2 whose pixels are their index.
        let pixels: Vec<u8> = (0..5u8).flat_map(|i| [i; 4]).collect();
        ImageSet::from_u8(&pixels, Some(vec![0, 1, 2, 1, 0]), 5, 1, 2, 2).unwrap()
    }

    #[test]
    fn pixel_map_is_v_over_255_times_2_minus_1_and_inverts() {
        assert_eq!(pixel_to_unit(0), -1.0);
        assert_eq!(pixel_to_unit(255), 1.0);
        for v in 0..=255u8 {
            assert_eq!(unit_to_pixel(pixel_to_unit(v)), v);
        }
        assert_eq!(unit_to_pixel(f32::NAN), 0);
        assert_eq!(unit_to_pixel(7.0), 255);
    }

    #[test]
    fn new_rejects_inconsistent_lengths() {
        assert!(ImageSet::new(vec![0.0; 7], None, 2, 1, 2, 2).is_err());
        assert!(ImageSet::new(vec![0.0; 8], Some(vec![1]), 2, 1, 2, 2).is_err());
        assert!(ImageSet::new(vec![], None, 0, 1, 2, 2).is_err());
        assert!(ImageSet::new(vec![0.0; 8], Some(vec![1, 2]), 2, 1, 2, 2).is_ok());
    }

    #[test]
    fn batch_gathers_in_order_and_rejects_bad_indices() {
        let set = small();
        let device = Device::flex();
        let t = set.batch(&[3, 0, 3], &device).unwrap();
        assert_eq!(t.dims(), [3, 1, 2, 2]);
        let v: Vec<f32> = t.into_data().try_to_vec::<f32>().unwrap();
        let p3 = pixel_to_unit(3);
        let p0 = pixel_to_unit(0);
        assert_eq!(v, [[p3; 4], [p0; 4], [p3; 4]].concat());
        assert!(set.batch(&[5], &device).is_err());
        // An index whose offset overflows is out of range, not a panic.
        assert!(set.batch(&[usize::MAX], &device).is_err());
        assert_eq!(set.image(usize::MAX / 2), None);
        assert!(set.batch(&[], &device).is_err());
        assert_eq!(set.to_tensor(&device).dims(), [5, 1, 2, 2]);
    }

    #[test]
    fn split_is_deterministic_disjoint_and_complete() {
        let set = small();
        let (kept, held) = set.split(42, 0.4).unwrap();
        assert_eq!((kept.n, held.n), (3, 2));
        assert_eq!(set.split(42, 0.4).unwrap(), (kept.clone(), held.clone()));
        let mut all: Vec<f32> = kept.images.iter().chain(&held.images).copied().collect();
        all.sort_by(f32::total_cmp);
        let mut orig = set.images.clone();
        orig.sort_by(f32::total_cmp);
        assert_eq!(all, orig);
        // Labels travel with their images (pixel value i has label labels[i]).
        for part in [&kept, &held] {
            for i in 0..part.n {
                let idx = unit_to_pixel(part.image(i).unwrap()[0]) as usize;
                assert_eq!(part.label(i), set.label(idx));
            }
        }
        let seeds_differ = (0..20).any(|s| set.split(s, 0.4).unwrap().1 != held);
        assert!(seeds_differ);
        assert!(set.split(1, 0.0).is_err());
        assert!(set.split(1, 1.0).is_err());
        assert!(set.split(1, f64::NAN).is_err());
    }

    #[test]
    fn label_counts_count_each_label() {
        assert_eq!(small().label_counts(), Some(vec![2, 2, 1]));
    }
}
