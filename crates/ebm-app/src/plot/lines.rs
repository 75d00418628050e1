//! Line charts of training curves: one or more series against the step, with axes, a legend
//! and, for long noisy series, a moving average drawn over the raw values.

use anyhow::Result;
use plotters::prelude::*;

use super::{draw_legend, drawing};

/// One named curve of `(x, y)` points; non-finite `y` values are skipped.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// The points, in increasing `x`.
    pub points: Vec<(f64, f64)>,
}

/// A chart of one or more series sharing axes.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// The caption.
    pub title: String,
    /// The x axis' label.
    pub x_label: String,
    /// The series.
    pub series: Vec<Series>,
}

/// Chart size in pixels.
const SIZE: (u32, u32) = (560, 300);
/// Above this many points, the raw series is drawn faintly and a moving average on top.
const SMOOTH_ABOVE: usize = 200;
/// At most this many points of a series reach the SVG (evenly strided).
const MAX_POINTS: usize = 1500;

impl LineChart {
    /// The finite points of every series, how many there are in all.
    pub fn finite_points(&self) -> usize {
        self.series
            .iter()
            .map(|s| {
                s.points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .count()
            })
            .sum()
    }

    /// The chart as an SVG document; an error if no series has a finite point.
    pub fn to_svg(&self) -> Result<String> {
        let series: Vec<Vec<(f64, f64)>> = self.series.iter().map(|s| finite(&s.points)).collect();
        let all: Vec<(f64, f64)> = series.iter().flatten().copied().collect();
        if all.is_empty() {
            anyhow::bail!("chart `{}` has no finite value", self.title);
        }
        let (x0, x1) = padded(all.iter().map(|p| p.0), 0.0);
        let (y0, y1) = y_range(&all);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            root.fill(&WHITE).map_err(drawing)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(&self.title, ("sans-serif", 17))
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(62)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(drawing)?;
            chart
                .configure_mesh()
                .light_line_style(RGBColor(238, 238, 238))
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 13))
                .x_desc(&self.x_label)
                .x_labels(6)
                .y_labels(6)
                .y_label_formatter(&|v| short(*v))
                .x_label_formatter(&|v| short(*v))
                .draw()
                .map_err(drawing)?;
            for (i, (s, points)) in self.series.iter().zip(&series).enumerate() {
                let colour = palette(i);
                let clamp = |&(x, y): &(f64, f64)| (x, y.clamp(y0, y1));
                if noisy(points) {
                    let faint = colour.mix(0.25).stroke_width(1);
                    chart
                        .draw_series(LineSeries::new(stride(points).iter().map(clamp), faint))
                        .map_err(drawing)?;
                    let smooth = moving_average(points, points.len() / 50);
                    chart
                        .draw_series(LineSeries::new(
                            stride(&smooth).iter().map(clamp),
                            colour.stroke_width(2),
                        ))
                        .map_err(drawing)?
                        .label(format!("{} (moving average)", s.name))
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                        });
                } else {
                    let style = colour.stroke_width(2);
                    chart
                        .draw_series(LineSeries::new(points.iter().map(clamp), style))
                        .map_err(drawing)?
                        .label(s.name.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
                    if points.len() == 1 {
                        chart
                            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                            .map_err(drawing)?;
                    }
                }
            }
            draw_legend(&mut chart)?;
            root.present().map_err(drawing)?;
        }
        Ok(svg)
    }
}

/// The i-th colour of Tableau's ten-colour palette.
pub fn palette(i: usize) -> RGBColor {
    let c = colorous::TABLEAU10[i % colorous::TABLEAU10.len()];
    RGBColor(c.r, c.g, c.b)
}

/// Whether a series is long and noisy enough to be drawn as a moving average over the raw
/// values (a schedule such as the learning rate, with at most [`SCHEDULE_VALUES`] distinct
/// values, is not).
fn noisy(points: &[(f64, f64)]) -> bool {
    if points.len() <= SMOOTH_ABOVE {
        return false;
    }
    let mut ys: Vec<u64> = points.iter().map(|p| p.1.to_bits()).collect();
    ys.sort_unstable();
    ys.dedup();
    ys.len() > SCHEDULE_VALUES
}

/// The most distinct values a series drawn as it is (a schedule) has.
const SCHEDULE_VALUES: usize = 64;

fn finite(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    points
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect()
}

/// `[min, max]` of `values`, widened by `pad` of the span each side (or by 1 when flat).
fn padded(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    (lo - pad * span, hi + pad * span)
}

/// The y range: the whole range for short series; for long ones the 0.5%-99.5% quantiles, so
/// that a few early spikes do not flatten the rest (values outside are drawn at the edge).
fn y_range(points: &[(f64, f64)]) -> (f64, f64) {
    let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    if ys.len() > 50 {
        ys.sort_by(f64::total_cmp);
        let q = |f: f64| ys[((ys.len() - 1) as f64 * f).round() as usize];
        return padded([q(0.005), q(0.995)].into_iter(), 0.06);
    }
    padded(ys.into_iter(), 0.06)
}

/// At most [`MAX_POINTS`] evenly strided points, the last one kept.
fn stride(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let step = points.len().div_ceil(MAX_POINTS).max(1);
    let mut out: Vec<(f64, f64)> = points.iter().step_by(step).copied().collect();
    if let Some(&last) = points.last()
        && out.last() != Some(&last)
    {
        out.push(last);
    }
    out
}

/// The centred moving average of the y values over `2 * half + 1` points (fewer at the ends).
fn moving_average(points: &[(f64, f64)], half: usize) -> Vec<(f64, f64)> {
    let mut prefix = vec![0.0; points.len() + 1];
    for (i, p) in points.iter().enumerate() {
        prefix[i + 1] = prefix[i] + p.1;
    }
    (0..points.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(points.len()));
            (points[i].0, (prefix[b] - prefix[a]) / (b - a) as f64)
        })
        .collect()
}

/// A tick label of at most about 7 characters.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a < 1e-12 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(points: Vec<(f64, f64)>) -> LineChart {
        LineChart {
            title: "loss".into(),
            x_label: "step".into(),
            series: vec![Series {
                name: "loss".into(),
                points,
            }],
        }
    }

    #[test]
    fn a_chart_has_axes_labels_and_a_drawn_line() {
        let points: Vec<_> = (0..500)
            .map(|i| (i as f64, (i as f64 * 0.1).sin()))
            .collect();
        let svg = chart(points).to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains(">\nstep\n</text>"), "x label missing");
        assert!(svg.contains("moving average"));
        assert!(
            svg.matches("<polyline").count() >= 2,
            "raw and smoothed lines"
        );
    }

    #[test]
    fn flat_single_and_non_finite_series_still_draw_or_fail_clearly() {
        assert!(
            chart(vec![(1.0, 2.0)])
                .to_svg()
                .unwrap()
                .contains("<circle")
        );
        assert!(chart(vec![(1.0, 2.0), (2.0, 2.0)]).to_svg().is_ok());
        let err = chart(vec![(1.0, f64::NAN)]).to_svg().unwrap_err();
        assert!(err.to_string().contains("no finite value"), "{err}");
    }

    #[test]
    fn moving_average_of_a_constant_is_the_constant() {
        let p: Vec<_> = (0..10).map(|i| (i as f64, 3.0)).collect();
        assert!(
            moving_average(&p, 3)
                .iter()
                .all(|q| (q.1 - 3.0).abs() < 1e-12)
        );
        assert_eq!(stride(&p).len(), 10);
        assert_eq!(short(0.00012), "1.2e-4");
        assert_eq!(short(1234.0), "1234");
        assert_eq!(short(0.25), "0.25");
    }
}
