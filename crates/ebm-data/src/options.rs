//! What the caller asks of loaded images: colour mode and size.

use std::fmt;
use std::str::FromStr;

use image::DynamicImage;
use image::imageops::FilterType;

use crate::DataError;

/// How many colour channels loaded images get; sources are converted as needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ColorMode {
    /// One channel of grey (luma); colour sources are converted with the Rec. 709 weights.
    #[default]
    Grey,
    /// Three channels, red, green, blue; grey sources are repeated on each channel.
    Rgb,
}

impl ColorMode {
    /// The number of channels: 1 or 3.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Grey => 1,
            ColorMode::Rgb => 3,
        }
    }
}

impl fmt::Display for ColorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorMode::Grey => "grey",
            ColorMode::Rgb => "rgb",
        })
    }
}

impl FromStr for ColorMode {
    type Err = DataError;

    /// Accepts `grey`, `gray`, `rgb` in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "grey" | "gray" => Ok(ColorMode::Grey),
            "rgb" => Ok(ColorMode::Rgb),
            _ => Err(DataError::InvalidArgument(format!(
                "unknown colour mode {s:?}; valid: grey, rgb"
            ))),
        }
    }
}

/// Options for [`crate::load_images`] and [`crate::read_image_folder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LoadOptions {
    /// Grey (1 channel, the default) or RGB (3 channels).
    pub color: ColorMode,
    /// Resize every image to this `(width, height)`; `None` keeps the sources' size, which must
    /// then be the same for all images.
    pub size: Option<(u32, u32)>,
}

impl LoadOptions {
    /// Grey images at their own size.
    pub fn grey() -> Self {
        Self::default()
    }

    /// RGB images at their own size.
    pub fn rgb() -> Self {
        Self {
            color: ColorMode::Rgb,
            size: None,
        }
    }

    /// The same options, resizing every image to `width x height`.
    pub fn with_size(self, width: u32, height: u32) -> Self {
        Self {
            size: Some((width, height)),
            ..self
        }
    }

    /// Rejects a requested size with a zero side.
    pub(crate) fn check(&self) -> Result<(), DataError> {
        match self.size {
            Some((w, h)) if w == 0 || h == 0 => Err(DataError::InvalidArgument(format!(
                "requested image size {w}x{h} has a zero side"
            ))),
            _ => Ok(()),
        }
    }

    /// Converts `img` to the requested colour mode and size.
    ///
    /// Returns `(width, height, pixels)` with the pixels channel-planar (`[c, h, w]`, row-major),
    /// as bytes 0..=255.
    pub(crate) fn apply(&self, img: DynamicImage) -> (u32, u32, Vec<u8>) {
        let img = match self.size {
            Some((w, h)) if (w, h) != (img.width(), img.height()) => {
                img.resize_exact(w, h, FilterType::Triangle)
            }
            _ => img,
        };
        let (w, h) = (img.width(), img.height());
        let pixels = match self.color {
            ColorMode::Grey => img.into_luma8().into_raw(),
            ColorMode::Rgb => {
                let interleaved = img.into_rgb8().into_raw();
                let plane = interleaved.len() / 3;
                let mut planar = vec![0u8; interleaved.len()];
                for (i, px) in interleaved.chunks_exact(3).enumerate() {
                    planar[i] = px[0];
                    planar[plane + i] = px[1];
                    planar[2 * plane + i] = px[2];
                }
                planar
            }
        };
        (w, h, pixels)
    }
}
