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
    data_uri("image/png", png)
}

/// `bytes` of type `mime` as a `data:` URI.
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
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

/// A chart with `f64` axes.
type Chart2d<'a, DB> = plotters::chart::ChartContext<
    'a,
    DB,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// The series' legend in the upper right corner, on a translucent white box.
fn draw_legend<'a, DB: plotters::prelude::DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
) -> Result<()> {
    use plotters::prelude::*;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(drawing)
}
