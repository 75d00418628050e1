//! 2-D pictures: a density (or any scalar field) on a square grid as a heat map on matplotlib's
//! perceptual "magma" map (`colorous`) with a colour bar and samples on top, and point clouds of
//! data beside model samples; both with axes.

use anyhow::{Result, bail};
use plotters::prelude::*;

use super::lines::{palette, short};
use super::{Chart2d, draw_legend, drawing, encode_png, png_data_uri};

/// A scalar field on a `points x points` grid over `[-half, half]^2`, row-major with rows in
/// increasing `y`.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// The values.
    pub values: &'a [f64],
    /// Grid points per side.
    pub points: usize,
    /// Half the side of the square.
    pub half: f64,
}

/// Picture size in pixels.
const SIZE: (u32, u32) = (620, 540);
/// Width of the colour-bar panel.
const BAR: u32 = 96;
/// The placeholder colour of the heat map's rectangle, replaced by the inlined PNG.
const PLACEHOLDER: RGBColor = RGBColor(1, 2, 3);

/// The colour of `t` in `[0, 1]` on "magma".
fn magma(t: f64) -> RGBColor {
    let c = colorous::MAGMA.eval_continuous(t.clamp(0.0, 1.0));
    RGBColor(c.r, c.g, c.b)
}

/// The field as an RGB image, one pixel per grid point, top row = largest `y`.
fn heat_rgb(field: &Field<'_>, max: f64) -> Vec<u8> {
    let n = field.points;
    let mut rgb = Vec::with_capacity(n * n * 3);
    for row in 0..n {
        let gy = n - 1 - row;
        for gx in 0..n {
            let c = magma(field.values[gy * n + gx] / max);
            rgb.extend([c.0, c.1, c.2]);
        }
    }
    rgb
}

/// The heat map of `field` scaled to its maximum, with `samples` (at most 1,000) as cyan dots,
/// chain `paths` as white lines from a marked start, axes `x1`, `x2`, and a colour bar
/// labelled `what`. An error when the grid does not match its size or holds a negative or
/// non-finite value.
pub fn heat_map_svg(
    title: &str,
    what: &str,
    field: Field<'_>,
    samples: &[[f64; 2]],
    paths: &[Vec<[f64; 2]>],
) -> Result<String> {
    let n = field.points;
    if n < 2 || field.values.len() != n * n {
        bail!(
            "heat map `{title}`: {} values for a {n}x{n} grid",
            field.values.len()
        );
    }
    if let Some(v) = field.values.iter().find(|v| !v.is_finite() || **v < 0.0) {
        bail!("heat map `{title}`: value {v} (expected finite and non-negative)");
    }
    let max = field.values.iter().copied().fold(0.0, f64::max).max(1e-300);
    let png = encode_png(&heat_rgb(&field, max), n as u32, n as u32)?;
    let h = field.half;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(drawing)?;
        let (left, right) = root.split_horizontally(SIZE.0 - BAR);
        let mut chart = ChartBuilder::on(&left)
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(-h..h, -h..h)
            .map_err(drawing)?;
        chart.plotting_area().fill(&PLACEHOLDER).map_err(drawing)?;
        square_axes(&mut chart, false)?;
        let cyan = RGBColor(0, 220, 255);
        let inside = |p: &&[f64; 2]| p[0].abs() < h && p[1].abs() < h;
        chart
            .draw_series(
                samples
                    .iter()
                    .take(1000)
                    .filter(inside)
                    .map(|p| Circle::new((p[0], p[1]), 2, cyan.filled())),
            )
            .map_err(drawing)?;
        let clip = |p: &[f64; 2]| (p[0].clamp(-h, h), p[1].clamp(-h, h));
        for path in paths.iter().filter(|p| !p.is_empty()) {
            chart
                .draw_series(LineSeries::new(
                    path.iter().map(clip),
                    WHITE.stroke_width(1),
                ))
                .map_err(drawing)?;
            chart
                .draw_series([Cross::new(clip(&path[0]), 5, WHITE.stroke_width(2))])
                .map_err(drawing)?;
        }
        colour_bar(&right, what, max)?;
        root.present().map_err(drawing)?;
    }
    splice_image(svg, &png_data_uri(&png))
}

/// The colour bar: the map from 0 to `max`, labelled.
fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    what: &str,
    max: f64,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let mut bar = ChartBuilder::on(area)
        .margin_top(10)
        .margin_bottom(46)
        .margin_right(8)
        .y_label_area_size(58)
        .build_cartesian_2d(0.0..1.0, 0.0..max)
        .map_err(drawing)?;
    let steps = 128;
    bar.draw_series((0..steps).map(|i| {
        let (a, b) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
        Rectangle::new(
            [(0.0, a * max), (1.0, b * max)],
            magma((a + b) / 2.0).filled(),
        )
    }))
    .map_err(drawing)?;
    bar.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(what)
        .y_labels(6)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .y_label_formatter(&|v| short(*v))
        .draw()
        .map_err(drawing)?;
    Ok(())
}

/// The axes `x1` and `x2` of a 2-D picture, with a light grid when `grid`.
fn square_axes<'a, DB: DrawingBackend + 'a>(chart: &mut Chart2d<'a, DB>, grid: bool) -> Result<()> {
    let mut mesh = chart.configure_mesh();
    if grid {
        mesh.light_line_style(RGBColor(240, 240, 240));
    } else {
        mesh.disable_mesh();
    }
    mesh.label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .x_desc("x1")
        .y_desc("x2")
        .x_label_formatter(&|v| short(*v))
        .y_label_formatter(&|v| short(*v))
        .draw()
        .map_err(drawing)
}

/// Replaces the placeholder rectangle of `svg` by an `<image>` of `href` at the same place.
fn splice_image(svg: String, href: &str) -> Result<String> {
    let marker = "fill=\"#010203\"";
    let at = svg
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("heat map placeholder not drawn"))?;
    let start = svg[..at]
        .rfind("<rect")
        .ok_or_else(|| anyhow::anyhow!("heat map placeholder"))?;
    let end = at
        + svg[at..]
            .find("/>")
            .ok_or_else(|| anyhow::anyhow!("heat map placeholder"))?
        + 2;
    let rect = &svg[start..end];
    let image = rect.replacen("<rect", "<image", 1).replacen(
        marker,
        &format!("preserveAspectRatio=\"none\" href=\"{href}\""),
        1,
    );
    Ok(format!("{}{}{}", &svg[..start], image, &svg[end..]))
}

/// Held-out data (grey) and model samples (red, at most 2,000 of each) on `[-half, half]^2`,
/// with axes and a legend.
pub fn scatter_svg(
    title: &str,
    half: f64,
    data: &[[f64; 2]],
    samples: &[[f64; 2]],
) -> Result<String> {
    let h = half;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0 - BAR, SIZE.1)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(-h..h, -h..h)
            .map_err(drawing)?;
        square_axes(&mut chart, true)?;
        let grey = RGBColor(160, 160, 160);
        let red = palette(2);
        for (points, colour, name) in [
            (data, grey, "held-out data"),
            (samples, red, "model samples"),
        ] {
            chart
                .draw_series(
                    points
                        .iter()
                        .take(2000)
                        .filter(|p| p[0].abs() < h && p[1].abs() < h)
                        .map(move |p| Circle::new((p[0], p[1]), 2, colour.filled())),
                )
                .map_err(drawing)?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
        draw_legend(&mut chart)?;
        root.present().map_err(drawing)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(points: usize, half: f64) -> Vec<f64> {
        let at = |i: usize| -half + 2.0 * half * i as f64 / (points - 1) as f64;
        let mut v = Vec::new();
        for gy in 0..points {
            for gx in 0..points {
                v.push((-(at(gx).powi(2) + at(gy).powi(2)) / 2.0).exp());
            }
        }
        v
    }

    #[test]
    fn the_heat_map_is_an_inlined_png_with_axes_and_a_colour_bar() {
        let values = gaussian(40, 3.0);
        let field = Field {
            values: &values,
            points: 40,
            half: 3.0,
        };
        let path = vec![[0.0, 0.0], [0.5, 0.2], [0.9, 0.1]];
        let svg =
            heat_map_svg("density", "p(x)", field, &[[0.5, 0.5], [9.0, 0.0]], &[path]).unwrap();
        assert!(svg.contains("<polyline"), "the chain's path");
        assert!(svg.contains("<image") && svg.contains("data:image/png;base64,"));
        assert!(!svg.contains("#010203"), "placeholder left in");
        for label in ["x1", "x2", "p(x)"] {
            assert!(
                svg.contains(&format!(">\n{label}\n</text>")),
                "{label} missing"
            );
        }
        assert_eq!(
            svg.matches("<circle").count(),
            1,
            "the sample outside is not drawn"
        );
        // The colour bar: 128 steps of magma from black to pale yellow.
        assert!(svg.matches("<rect").count() >= 128);
        assert_eq!(magma(0.0), RGBColor(0, 0, 4));
    }

    #[test]
    fn a_wrong_grid_or_negative_density_is_an_error_naming_the_plot() {
        let err = heat_map_svg(
            "d",
            "p",
            Field {
                values: &[1.0; 5],
                points: 2,
                half: 1.0,
            },
            &[],
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("5 values for a 2x2 grid"), "{err}");
        let err = heat_map_svg(
            "d",
            "p",
            Field {
                values: &[1.0, -1.0, 0.0, 0.0],
                points: 2,
                half: 1.0,
            },
            &[],
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("value -1"), "{err}");
    }

    #[test]
    fn the_scatter_has_a_legend_for_both_clouds() {
        let svg = scatter_svg("moons", 2.0, &[[0.0, 0.0]], &[[1.0, 1.0]]).unwrap();
        assert!(svg.contains("held-out data") && svg.contains("model samples"));
    }
}
