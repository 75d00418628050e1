//! Plots a person reads, as self-contained SVG (text as SVG text, pictures inlined as PNG):
//! line charts of training curves ([`lines`]) and 2-D density landscapes with samples on top
//! ([`landscape`]), each with axes, labels and, for heat maps, a colour bar on a perceptual
//! colour map (`colorous`).

pub mod landscape;
pub mod lines;

use anyhow::Result;
use base64::Engine;

/// A PNG as a `data:` URI, for inlining into SVG and HTML.
pub fn png_data_uri(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// Encodes an RGB image as PNG bytes.
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        rgb,
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(png)
}

/// The plotting error as an `anyhow` error (plotters' errors borrow the backend).
fn drawing<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot: {e:?}")
}
