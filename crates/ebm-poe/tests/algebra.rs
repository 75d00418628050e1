//! The algebra of compositions: energies and gradients of AND / OR / NOT equal their formulas on
//! random inputs (computed independently on the host in f64), the closed-form gradients equal
//! autodiff through the composed energy, compositions nest, and expressions compile to the
//! compositions they spell.

use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::{
    Banana, ClassEnergy, ConditionalNetConfig, DoubleWell, Energy, Gaussian, LabelEnergy,
    SeededRng, autodiff_energy_and_grad,
};
use ebm_mcmc::{ChainState, Kernel, Mala, StepSize};
use ebm_poe::{
    Atom, BoxEnergy, ComposeOptions, Experts, Expr, Mixture, Negation, PoeError, Product, compile,
};

fn host(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn host2(t: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, d] = t.dims();
    let v = t.into_data().try_to_vec::<f32>().unwrap();
    v.chunks(d)
        .map(|r| r.iter().map(|&x| f64::from(x)).collect())
        .collect()
}

/// Three 2-D energies of different kinds, and random points.
fn parts(device: &Device) -> (Gaussian, Banana, DoubleWell) {
    (
        Gaussian::new(&[0.5, -1.0], &[2.0, 0.6, 0.6, 1.0], device).unwrap(),
        Banana::new(2, 0.1, device).unwrap(),
        DoubleWell::new(2, 2.0, device).unwrap(),
    )
}

fn points(device: &Device, n: usize, seed: u64) -> Tensor<2> {
    SeededRng::new(seed).normal([n, 2], device) * 1.5
}

/// Per-item energies and gradients of the parts, on the host.
fn eval(e: &dyn Energy<2>, x: &Tensor<2>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let (v, g) = e.energy_and_grad(x.clone());
    (host(v), host2(g))
}

/// Only `energy`, so `energy_and_grad` is autodiff through the composite: an independent check.
struct EnergyOnly<'a>(&'a dyn Energy<2>);
impl Energy<2> for EnergyOnly<'_> {
    fn energy(&self, x: Tensor<2>) -> Tensor<1> {
        self.0.energy(x)
    }
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn check_against(
    composite: &dyn Energy<2>,
    x: &Tensor<2>,
    energy: &[f64],
    grad: &[Vec<f64>],
    what: &str,
) {
    let (e, g) = eval(composite, x);
    assert_close(&e, energy, 1e-4, &format!("{what} energy"));
    assert_close(
        &host(composite.energy(x.clone())),
        energy,
        1e-4,
        &format!("{what} energy()"),
    );
    for j in 0..2 {
        let col = |m: &[Vec<f64>]| m.iter().map(|r| r[j]).collect::<Vec<_>>();
        assert_close(&col(&g), &col(grad), 1e-4, &format!("{what} grad[{j}]"));
    }
    let (_, g_auto) = autodiff_energy_and_grad(&EnergyOnly(composite), x.clone());
    let g_auto = host2(g_auto);
    for j in 0..2 {
        let col = |m: &[Vec<f64>]| m.iter().map(|r| r[j]).collect::<Vec<_>>();
        assert_close(
            &col(&g_auto),
            &col(grad),
            1e-3,
            &format!("{what} autodiff grad[{j}]"),
        );
    }
}

#[test]
fn and_is_the_weighted_sum_of_energies_and_gradients() {
    let device = Device::flex();
    let (g, b, w) = parts(&device);
    let x = points(&device, 64, 1);
    let ((eg, gg), (eb, gb), (ew, gw)) = (eval(&g, &x), eval(&b, &x), eval(&w, &x));
    let ws = [0.5, 2.0, 1.5];
    let boxed: Vec<BoxEnergy<2>> = vec![Box::new(g), Box::new(b), Box::new(w)];
    let p = Product::weighted(ws.iter().copied().zip(boxed).collect()).unwrap();
    let energy: Vec<f64> = (0..64)
        .map(|i| ws[0] * eg[i] + ws[1] * eb[i] + ws[2] * ew[i])
        .collect();
    let grad: Vec<Vec<f64>> = (0..64)
        .map(|i| {
            (0..2)
                .map(|j| ws[0] * gg[i][j] + ws[1] * gb[i][j] + ws[2] * gw[i][j])
                .collect()
        })
        .collect();
    check_against(&p, &x, &energy, &grad, "AND");
    assert!(Product::<Gaussian>::new(vec![]).is_err());
    let (g2, _, _) = parts(&device);
    assert!(matches!(
        Product::weighted(vec![(-1.0, g2)]),
        Err(PoeError::InvalidParameter { .. })
    ));
}

#[test]
fn or_is_the_soft_minimum_at_every_temperature() {
    let device = Device::flex();
    let x = points(&device, 64, 2);
    for t in [1.0, 0.3, 4.0] {
        let (g, b, w) = parts(&device);
        let (comps, ws) = ([eval(&g, &x), eval(&b, &x), eval(&w, &x)], [0.2, 0.5, 0.3]);
        let m = Mixture::weighted(
            vec![Box::new(g) as BoxEnergy<2>, Box::new(b), Box::new(w)],
            &[2.0, 5.0, 3.0],
            t,
        )
        .unwrap();
        let mut energy = Vec::new();
        let mut grad = Vec::new();
        for i in 0..64 {
            let a: Vec<f64> = (0..3)
                .map(|k| -comps[k].0[i] / t + f64::ln(ws[k]))
                .collect();
            let mx = a.iter().copied().fold(f64::MIN, f64::max);
            let s: f64 = a.iter().map(|v| (v - mx).exp()).sum();
            energy.push(-t * (mx + s.ln()));
            let r: Vec<f64> = a.iter().map(|v| (v - mx).exp() / s).collect();
            grad.push(
                (0..2)
                    .map(|j| (0..3).map(|k| r[k] * comps[k].1[i][j]).sum())
                    .collect(),
            );
        }
        check_against(&m, &x, &energy, &grad, &format!("OR at T = {t}"));
    }
    // T -> 0 is the hard minimum.
    let (g, b, _) = parts(&device);
    let (eg, eb) = (host(g.energy(x.clone())), host(b.energy(x.clone())));
    let m = Mixture::weighted(
        vec![Box::new(g) as BoxEnergy<2>, Box::new(b)],
        &[1.0, 1.0],
        1e-3,
    )
    .unwrap();
    let min: Vec<f64> = eg.iter().zip(&eb).map(|(a, b)| a.min(*b)).collect();
    assert_close(&host(m.energy(x)), &min, 1e-2, "OR at T -> 0");
}

#[test]
fn not_subtracts_the_capped_energy_and_is_bounded_below() {
    let device = Device::flex();
    let x = points(&device, 64, 3);
    let (g, b, _) = parts(&device);
    let ((ea, ga), (eb, gb)) = (eval(&g, &x), eval(&b, &x));
    let (lambda, cap) = (0.7, 1.5);
    let n = Negation::new(g, b, lambda, cap).unwrap();
    let mut energy = Vec::new();
    let mut grad = Vec::new();
    for i in 0..64 {
        let z = cap - eb[i];
        let softplus = z.max(0.0) + (-z.abs()).exp().ln_1p();
        energy.push(ea[i] - lambda * (cap - softplus));
        let slope = 1.0 / (1.0 + (-z).exp());
        grad.push(
            (0..2)
                .map(|j| ga[i][j] - lambda * slope * gb[i][j])
                .collect(),
        );
        // The guard: E >= E_a - lambda c.
        assert!(energy[i] >= ea[i] - lambda * cap - 1e-9);
    }
    check_against(&n, &x, &energy, &grad, "NOT");
    let (g, b, _) = parts(&device);
    assert!(Negation::new(g.clone(), b.clone(), -1.0, 0.0).is_err());
    assert!(Negation::new(g, b, 1.0, f64::INFINITY).is_err());
}

#[test]
fn compositions_nest_and_every_sampler_runs_on_them() {
    let device = Device::flex();
    let x = points(&device, 32, 4);
    let (g, b, w) = parts(&device);
    let (eg, eb, ew) = (
        host(g.energy(x.clone())),
        host(b.energy(x.clone())),
        host(w.energy(x.clone())),
    );
    // (g | b) & !w, then OR-ed with itself at T = 1 (a no-op up to log 1): three levels deep.
    let or: BoxEnergy<2> =
        Box::new(Mixture::new(vec![Box::new(g) as BoxEnergy<2>, Box::new(b)]).unwrap());
    let not: BoxEnergy<2> =
        Box::new(Negation::new(or, Box::new(w) as BoxEnergy<2>, 0.5, 1.0).unwrap());
    let nested = Product::new(vec![not]).unwrap();
    let e = host(nested.energy(x.clone()));
    for i in 0..32 {
        let or = -((0.5f64).ln() - eg[i]).max((0.5f64).ln() - eb[i])
            - ((-(eg[i] - eb[i]).abs()).exp()).ln_1p();
        let z = 1.0 - ew[i];
        let softmin = 1.0 - (z.max(0.0) + (-z.abs()).exp().ln_1p());
        let want = or - 0.5 * softmin;
        assert!(
            (e[i] - want).abs() < 1e-4 * (1.0 + want.abs()),
            "{i}: {} vs {want}",
            e[i]
        );
    }
    // A sampler runs on the nested composition unchanged.
    let mala = Mala::new(StepSize::Shared(0.1)).unwrap();
    let mut state = ChainState::new(&nested, x);
    let mut rng = SeededRng::new(5);
    for _ in 0..20 {
        state = mala.step(&nested, state, &mut rng).0;
    }
    assert!(host(state.energy).iter().all(|v| v.is_finite()));
}

/// Experts `g`, `b`, `w` (the three parts); a base for bare negations; cap 1.
struct Parts(Device);
impl Experts<2> for Parts {
    fn atom(&self, atom: &Atom) -> Result<BoxEnergy<2>, String> {
        let (g, b, w) = parts(&self.0);
        Ok(match atom.name.as_str() {
            "g" => Box::new(g),
            "b" => Box::new(b),
            "w" => Box::new(w),
            other => return Err(format!("no expert `{other}`")),
        })
    }
    fn base(&self) -> Option<BoxEnergy<2>> {
        Some(Box::new(parts(&self.0).0))
    }
    fn cap(&self, _: &dyn Energy<2>) -> Result<f64, String> {
        Ok(1.0)
    }
}

#[test]
fn expressions_compile_to_the_compositions_they_spell() {
    let device = Device::flex();
    let x = points(&device, 16, 6);
    let opts = ComposeOptions {
        lambda: 0.5,
        temperature: 1.0,
    };
    let compiled = compile(
        &Expr::parse("g & !w | b").unwrap(),
        "g & !w | b",
        &Parts(device.clone()),
        opts,
    )
    .unwrap();
    let (g, b, w) = parts(&device);
    let manual = Mixture::new(vec![
        Box::new(Negation::new(g, w, 0.5, 1.0).unwrap()) as BoxEnergy<2>,
        Box::new(b),
    ])
    .unwrap();
    assert_close(
        &host(compiled.energy(x.clone())),
        &host(manual.energy(x.clone())),
        1e-5,
        "compiled",
    );
    // A bare negation is taken against the base.
    let bare = compile(
        &Expr::parse("!w").unwrap(),
        "!w",
        &Parts(device.clone()),
        opts,
    )
    .unwrap();
    let (g, _, w) = parts(&device);
    let manual = Negation::new(g, w, 0.5, 1.0).unwrap();
    assert_close(
        &host(bare.energy(x.clone())),
        &host(manual.energy(x)),
        1e-5,
        "bare negation",
    );
    // An unknown atom is reported at its column.
    let err = compile(
        &Expr::parse("g & zz").unwrap(),
        "g & zz",
        &Parts(device),
        opts,
    )
    .err()
    .unwrap();
    assert!(matches!(err, PoeError::Compile { column: 5, .. }), "{err}");
    assert!(err.to_string().contains("no expert `zz`"), "{err}");
}

#[test]
fn class_energies_of_a_network_are_ors_of_single_classes() {
    let device = Device::flex();
    let net = ConditionalNetConfig::new(4)
        .with_hidden(4)
        .with_image_size(12)
        .init(&device, 1)
        .unwrap();
    let x = SeededRng::new(7).uniform([5, 1, 12, 12], -1.0, 1.0, &device);
    let logits = host2(net.logits(x.clone()));
    let set = ClassEnergy::new(net.clone(), &[1, 3], "set").unwrap();
    let singles: Vec<ClassEnergy> = [1, 3]
        .iter()
        .map(|&c| ClassEnergy::new(net.clone(), &[c], format!("{c}")).unwrap())
        .collect();
    // E_{1,3} = -log(e^{f_1} + e^{f_3}); the equal-weight OR of E_1 and E_3 is that plus log 2.
    let or = Mixture::new(singles).unwrap();
    let e_set = host(set.energy(x.clone()));
    let e_or = host(or.energy(x.clone()));
    for i in 0..5 {
        let want = -(logits[i][1].exp() + logits[i][3].exp()).ln();
        assert!((e_set[i] - want).abs() < 1e-4, "{} vs {want}", e_set[i]);
        assert!((e_or[i] - (want + 2f64.ln())).abs() < 1e-4);
    }
    // The gradient (parameters frozen) agrees between the set energy and its OR form.
    let (_, g1) = set.energy_and_grad(x.clone());
    let (_, g2) = or.energy_and_grad(x.clone());
    let (g1, g2) = (
        g1.into_data().try_to_vec::<f32>().unwrap(),
        g2.into_data().try_to_vec::<f32>().unwrap(),
    );
    let scale = g1.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    assert!(scale > 0.0);
    for (a, b) in g1.iter().zip(&g2) {
        assert!((a - b).abs() <= 1e-4 * scale.max(1e-3), "{a} vs {b}");
    }
    // One label per item.
    let labels = vec![0, 3, 2, 1, 0];
    let le = LabelEnergy::new(net.clone(), labels.clone()).unwrap();
    let e = host(le.energy(x.clone()));
    for i in 0..5 {
        assert!((e[i] + logits[i][labels[i]]).abs() < 1e-5);
    }
    assert!(
        le.try_energy(SeededRng::new(1).uniform([4, 1, 12, 12], -1.0, 1.0, &device))
            .is_err()
    );
    assert!(LabelEnergy::new(net.clone(), vec![4]).is_err());
    assert!(ClassEnergy::new(net, &[1, 1], "dup").is_err());
}
