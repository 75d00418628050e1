//! Exact normalisation by quadrature against closed-form log Z.

mod common;

use common::host;
use ebm_core::burn::tensor::Device;
use ebm_core::{
    Banana, DiagGaussian, DoubleWell, Energy, EnergyError, Gaussian, GaussianMixture, Grid,
    SeededRng, Tempered, normalise,
};

/// The bar: relative error below 1e-3 (absolute where log Z is near 0).
fn assert_log_z(name: &str, quad: f64, exact: f64) {
    let err = (quad - exact).abs() / exact.abs().max(1.0);
    assert!(
        err < 1e-3,
        "{name}: quadrature log Z {quad}, exact {exact}, relative error {err:e}"
    );
}

fn check<E: Energy<2>>(energy: &E, grid: &Grid) {
    let norm = normalise(energy, grid, &Device::flex()).unwrap();
    assert_log_z(&energy.name(), norm.log_z, energy.log_z().unwrap());
    assert!(
        norm.edge_mass() < 1e-6,
        "{}: box too small, edge mass {}",
        energy.name(),
        norm.edge_mass()
    );
}

#[test]
fn one_dimensional_energies() {
    let dev = Device::flex();
    let g = DiagGaussian::new(&[0.7], &[2.5], &dev).unwrap();
    check(&g, &Grid::new(&[-12.0], &[13.0], 801).unwrap());
    for a in [0.5, 2.0, 8.0] {
        let w = DoubleWell::new(1, a, &dev).unwrap();
        check(&w, &Grid::new(&[-4.0], &[4.0], 801).unwrap());
    }
}

#[test]
fn two_dimensional_energies() {
    let dev = Device::flex();
    let g = Gaussian::new(&[1.0, -0.5], &[2.0, 1.2, 1.2, 1.5], &dev).unwrap();
    check(&g, &Grid::new(&[-10.0, -10.0], &[12.0, 10.0], 401).unwrap());
    let mix = GaussianMixture::new(
        &[0.25, 0.75],
        &[vec![-2.0, 1.0], vec![2.0, -1.0]],
        &[vec![0.5, 1.0], vec![1.0, 0.3]],
        &dev,
    )
    .unwrap();
    check(&mix, &Grid::square(9.0, 401).unwrap());
    check(
        &DoubleWell::new(2, 3.0, &dev).unwrap(),
        &Grid::square(7.0, 401).unwrap(),
    );
    let banana = Banana::new(2, 0.05, &dev).unwrap();
    check(
        &banana,
        &Grid::new(&[-55.0, -160.0], &[55.0, 12.0], 801).unwrap(),
    );
}

#[test]
fn tempered_gaussian_matches_its_scaled_normaliser() {
    // E / T for a Gaussian is the Gaussian with covariance T S: log Z_T = log Z + d/2 log T.
    let dev = Device::flex();
    let g = Gaussian::new(&[0.0, 0.0], &[1.0, 0.3, 0.3, 0.8], &dev).unwrap();
    let t: f64 = 2.5;
    let exact = g.log_z().unwrap() + t.ln();
    let hot = Tempered::new(g, t).unwrap();
    let norm = normalise(&hot, &Grid::square(14.0, 401).unwrap(), &dev).unwrap();
    assert_log_z("tempered Gaussian", norm.log_z, exact);
}

#[test]
fn density_integrates_to_one_and_nll_is_exact() {
    let dev = Device::flex();
    let g = DiagGaussian::new(&[0.5, -1.0], &[1.0, 0.5], &dev).unwrap();
    let grid = Grid::square(8.0, 321).unwrap();
    let norm = normalise(&g, &grid, &dev).unwrap();
    let h = 16.0 / 320.0;
    let mass: f64 = norm.density().iter().sum::<f64>() * h * h;
    assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
    // The NLL of points equals the mean of their exact -log N(x; m, v), computed independently.
    let x = g.sample(500, &mut SeededRng::new(4));
    let hx = host(x.clone());
    let exact: f64 = hx
        .chunks(2)
        .map(|p| {
            let q = (p[0] - 0.5).powi(2) / 1.0 + (p[1] + 1.0).powi(2) / 0.5;
            0.5 * q + (2.0 * std::f64::consts::PI).ln() + 0.5 * 0.5f64.ln()
        })
        .sum::<f64>()
        / 500.0;
    let nll = norm.nll(&g, x).unwrap();
    assert!(
        (nll - exact).abs() < 1e-4 * exact.abs().max(1.0),
        "nll {nll} vs {exact}"
    );
}

#[test]
fn a_box_too_small_shows_in_the_edge_mass() {
    let dev = Device::flex();
    let g = DiagGaussian::new(&[0.0, 0.0], &[1.0, 1.0], &dev).unwrap();
    let norm = normalise(&g, &Grid::square(1.5, 101).unwrap(), &dev).unwrap();
    // The boundary cells are h/2 wide (h = 0.03 here): their mass ~ 4 * 3 * p(1.5, 0) * h/2 ~ 0.009.
    assert!(norm.edge_mass() > 1e-3, "edge mass {}", norm.edge_mass());
    assert!(norm.log_z < g.log_z().unwrap() - 0.1);
}

#[test]
fn mismatched_dimension_is_a_shape_error() {
    let dev = Device::flex();
    let g = DiagGaussian::new(&[0.0; 3], &[1.0; 3], &dev).unwrap();
    let err = normalise(&g, &Grid::square(3.0, 11).unwrap(), &dev).unwrap_err();
    assert!(matches!(err, EnergyError::Shape { .. }), "{err}");
}
