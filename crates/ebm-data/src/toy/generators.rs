//! The point generators behind [`ToyDataset::sample`](super::ToyDataset::sample), one per set,
//! each drawing from the ChaCha8 stream it is given.

use std::f64::consts::PI;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::UNIT_CENTERS;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}

/// numpy's `linspace(start, stop, k, endpoint)`.
fn linspace(start: f64, stop: f64, k: usize, endpoint: bool) -> impl Iterator<Item = f64> {
    let div = if endpoint { k.saturating_sub(1) } else { k };
    let step = if div == 0 {
        0.0
    } else {
        (stop - start) / div as f64
    };
    (0..k).map(move |i| start + step * i as f64)
}

/// Shuffles the points, then adds `std * N(0, I)` to each (scikit-learn's order).
fn shuffle_and_jitter(mut points: Vec<[f64; 2]>, std: f64, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    points.shuffle(rng);
    for p in &mut points {
        p[0] += std * normal(rng);
        p[1] += std * normal(rng);
    }
    points
}

pub(super) fn eight_gaussians(n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let centers = UNIT_CENTERS;
    (0..n)
        .map(|_| {
            let z0 = 0.5 * normal(rng);
            let z1 = 0.5 * normal(rng);
            let c = centers[rng.random_range(0..8)];
            [(4.0 * c[0] + z0) / 1.414, (4.0 * c[1] + z1) / 1.414]
        })
        .collect()
}

pub(super) fn moons(n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut points: Vec<[f64; 2]> = linspace(0.0, PI, n_out, true)
        .map(|t| [t.cos(), t.sin()])
        .chain(linspace(0.0, PI, n_in, true).map(|t| [1.0 - t.cos(), 1.0 - t.sin() - 0.5]))
        .collect();
    points = shuffle_and_jitter(points, 0.1, rng);
    points
        .into_iter()
        .map(|[a, b]| [a * 2.0 - 1.0, b * 2.0 - 0.2])
        .collect()
}

pub(super) fn swiss_roll(n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    (0..n)
        .map(|_| {
            let t = 1.5 * PI * (1.0 + 2.0 * uniform(rng));
            let x = t * t.cos() + normal(rng);
            let z = t * t.sin() + normal(rng);
            [x / 5.0, z / 5.0]
        })
        .collect()
}

pub(super) fn checkerboard(n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    (0..n)
        .map(|_| {
            let x1 = uniform(rng) * 4.0 - 2.0;
            let bit = f64::from(u8::from(rng.random::<bool>()));
            let x2 = uniform(rng) - 2.0 * bit + x1.floor().rem_euclid(2.0);
            [x1 * 2.0, x2 * 2.0]
        })
        .collect()
}

pub(super) fn pinwheel(n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let mut points: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let arm = (i % 5) as f64;
            let f1 = 1.0 + 0.3 * normal(rng);
            let f2 = 0.1 * normal(rng);
            let a = 2.0 * PI * arm / 5.0 + 0.25 * f1.exp();
            let (s, c) = a.sin_cos();
            [2.0 * (f1 * c + f2 * s), 2.0 * (-f1 * s + f2 * c)]
        })
        .collect();
    points.shuffle(rng);
    points
}

pub(super) fn rings(n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let quarter = n / 4;
    let counts = [quarter, quarter, quarter, n - 3 * quarter];
    let radii = [1.0, 0.75, 0.5, 0.25];
    let mut points = Vec::with_capacity(n);
    for (count, radius) in counts.into_iter().zip(radii) {
        points.extend(
            linspace(0.0, 2.0 * PI, count, false)
                .map(|t| [3.0 * radius * t.cos(), 3.0 * radius * t.sin()]),
        );
    }
    shuffle_and_jitter(points, 0.08, rng)
}

pub(super) fn circles(n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let n_out = n / 2;
    let n_in = n - n_out;
    let points: Vec<[f64; 2]> = linspace(0.0, 2.0 * PI, n_out, false)
        .map(|t| [t.cos(), t.sin()])
        .chain(linspace(0.0, 2.0 * PI, n_in, false).map(|t| [0.5 * t.cos(), 0.5 * t.sin()]))
        .collect();
    shuffle_and_jitter(points, 0.08, rng)
        .into_iter()
        .map(|[a, b]| [3.0 * a, 3.0 * b])
        .collect()
}

pub(super) fn two_spirals(n: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let mut points: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            let r = uniform(rng).sqrt() * 540.0 * (2.0 * PI) / 360.0;
            let dx = -r.cos() * r + uniform(rng) * 0.5;
            let dy = r.sin() * r + uniform(rng) * 0.5;
            [
                sign * dx / 3.0 + 0.1 * normal(rng),
                sign * dy / 3.0 + 0.1 * normal(rng),
            ]
        })
        .collect();
    points.shuffle(rng);
    points
}
