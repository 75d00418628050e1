//! The CNN energy's hand-derived CPU path ([`HostCnn`]) against burn's autodiff: energies and input
//! gradients agree on random weights and inputs, for the tutorial network, a narrow one, RGB
//! images of another size, batches that are not a multiple of the chunk size, and a model whose
//! parameters live on an autodiff (training) device.

mod common;

use common::host;
use ebm_core::burn::module::Module;
use ebm_core::burn::tensor::{Device, Tensor};
use ebm_core::{
    CnnEnergy, CnnEnergyConfig, Energy, EnergyError, HostCnn, SeededRng, autodiff_energy_and_grad,
};

/// `max |a - b| <= 1e-4 * max |a|`: f32 agreement up to summation order, over the whole tensor.
fn assert_close(what: &str, reference: &[f64], fast: &[f64]) {
    assert_eq!(reference.len(), fast.len(), "{what}: lengths");
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: all zero, nothing compared");
    let diff = reference
        .iter()
        .zip(fast)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        diff <= 1e-4 * scale,
        "{what}: max |autodiff - host| = {diff:e}, max |autodiff| = {scale:e}"
    );
}

fn check(what: &str, model: &CnnEnergy, x: Tensor<4>) {
    let (e_ref, g_ref) = autodiff_energy_and_grad(&model.valid(), x.clone());
    let (e_fast, g_fast) = HostCnn::from_model(model)
        .unwrap()
        .energy_and_grad(x.clone())
        .unwrap();
    assert_eq!(g_fast.dims(), x.dims());
    assert_close(
        &format!("{what} energy"),
        &host(e_ref.clone()),
        &host(e_fast),
    );
    assert_close(
        &format!("{what} gradient"),
        &host(g_ref.clone()),
        &host(g_fast),
    );
    // The trait method takes the host path on flex: same answer.
    let (e_trait, g_trait) = model.energy_and_grad(x);
    assert_close(
        &format!("{what} energy (trait)"),
        &host(e_ref),
        &host(e_trait),
    );
    assert_close(
        &format!("{what} gradient (trait)"),
        &host(g_ref),
        &host(g_trait),
    );
}

#[test]
fn tutorial_network_matches_autodiff() {
    let device = Device::flex();
    let model = CnnEnergyConfig::new().init(&device, 11).unwrap();
    // 37 images: two full chunks and a ragged one. Inputs beyond [-1, 1] reach Swish's tails.
    let x = SeededRng::new(12).uniform([37, 1, 28, 28], -3.0, 3.0, &device);
    check("tutorial CNN", &model, x);
}

#[test]
fn narrow_rgb_network_matches_autodiff() {
    let device = Device::flex();
    let model = CnnEnergyConfig::new()
        .with_channels(3)
        .with_hidden(8)
        .with_image_size(32)
        .init(&device, 13)
        .unwrap();
    let x = SeededRng::new(14).uniform([5, 3, 32, 32], -1.0, 1.0, &device);
    check("RGB CNN", &model, x);
}

#[test]
fn training_model_on_autodiff_device_matches() {
    let device = Device::flex().autodiff();
    let model = CnnEnergyConfig::new()
        .with_hidden(16)
        .init(&device, 15)
        .unwrap();
    let x = SeededRng::new(16).uniform([3, 1, 28, 28], -1.0, 1.0, &Device::flex());
    check("CNN on autodiff device", &model, x);
}

#[test]
fn single_image_and_empty_batch() {
    let device = Device::flex();
    let model = CnnEnergyConfig::new().init(&device, 17).unwrap();
    check(
        "one image",
        &model,
        SeededRng::new(18).uniform([1, 1, 28, 28], -1.0, 1.0, &device),
    );
    let (e, g) = HostCnn::from_model(&model)
        .unwrap()
        .energy_and_grad_host(&[], [0, 1, 28, 28])
        .unwrap();
    assert!(e.is_empty() && g.is_empty());
}

/// Images of another size than the network's (1x20x20 into the 28x28 tutorial CNN) are a typed
/// shape error on every checked path, the host kernels included, never a panic.
#[test]
fn images_of_another_size_are_a_shape_error_not_a_panic() {
    let device = Device::flex();
    let model = CnnEnergyConfig::new()
        .with_hidden(4)
        .init(&device, 21)
        .unwrap();
    let small = SeededRng::new(22).uniform([3, 1, 20, 20], -1.0, 1.0, &device);
    let dims = small.dims();
    let values: Vec<f32> = small.try_to_vec_as().unwrap();
    fn is_shape<T>(r: Result<T, EnergyError>, got: &[usize]) -> bool {
        matches!(r, Err(EnergyError::Shape { got: g, .. }) if g == got)
    }
    assert!(is_shape(model.try_energy(small.clone()), &dims));
    let fast = model.host().expect("the CNN has host paths");
    let wrapped: Box<dyn Energy<4> + '_> = Box::new(std::sync::Arc::new(&model));
    assert!(
        wrapped.host().is_some(),
        "&E, Arc<E> and Box<E> forward the host paths"
    );
    assert!(is_shape(fast.energy_and_grad_host(&values, dims), &dims));
    #[cfg(feature = "optim")]
    {
        let grads = fast.weighted_param_grads(small.clone(), &|_, _| 1.0);
        assert!(is_shape(grads.expect("a host path on flex"), &dims));
    }
    let snapshot = fast.snapshot().expect("a snapshot on flex");
    assert!(is_shape(snapshot.try_energy(small.clone()), &dims));
    let snap_fast = snapshot.host().expect("the snapshot has host paths");
    assert!(is_shape(
        snap_fast.energy_and_grad_host(&values, dims),
        &dims
    ));
    let kernels = HostCnn::from_model(&model).unwrap();
    assert!(is_shape(kernels.energy_and_grad(small.clone()), &dims));
    assert!(is_shape(kernels.energy_and_grad_host(&values, dims), &dims));
    let weighted = kernels.param_grads_host(&values, dims, &|_, _| 1.0);
    assert!(is_shape(weighted, &dims));
    // The right shape with a buffer of the wrong length names the length.
    let big = [3, 1, 28, 28];
    assert!(is_shape(
        kernels.energy_and_grad_host(&values, big),
        &[values.len()]
    ));

    // Negative control: the same calls on 28x28 images succeed, so the errors above are about
    // the shape.
    let right = SeededRng::new(23).uniform(big, -1.0, 1.0, &device);
    let right_values: Vec<f32> = right.try_to_vec_as().unwrap();
    assert!(model.try_energy(right.clone()).is_ok());
    assert!(fast.energy_and_grad_host(&right_values, big).is_ok());
    assert!(snap_fast.energy_and_grad_host(&right_values, big).is_ok());
    assert!(kernels.energy_and_grad(right).is_ok());

    // The unchecked tensor method does not panic either: the host path refuses the batch and
    // autodiff evaluates it (this network maps 20x20 to the same 2x2 last feature map as 28x28).
    for energy in [&model as &dyn Energy<4>, &*snapshot] {
        let (e, g) = energy.energy_and_grad(small.clone());
        assert_eq!((e.dims(), g.dims()), ([3], dims));
    }
}

/// `weighted_param_grads` equals autodiff's gradient of `L = sum_i (s_i E_i + alpha E_i^2) / n`
/// (contrastive divergence's loss shape: `c_i = (s_i + 2 alpha E_i) / n`) for every parameter.
#[cfg(feature = "optim")]
#[test]
fn parameter_gradients_match_autodiff() {
    use ebm_core::burn::module::{ModuleVisitor, Param};
    use ebm_core::burn::optim::GradientsParams;

    let device = Device::flex().autodiff();
    let model = CnnEnergyConfig::new().init(&device, 19).unwrap();
    let n = 21; // images 0..10 weigh +1, the rest -1: two chunks and a ragged one.
    let alpha = 0.1;
    let x = SeededRng::new(20).uniform([n, 1, 28, 28], -1.0, 1.0, &Device::flex());
    let sign = |i: usize| if i < 10 { 1.0 } else { -1.0 };
    let weight = |i: usize, e: f32| ((sign(i) + 2.0 * alpha * e as f64) / n as f64) as f32;
    let (e_fast, fast) = model
        .host()
        .and_then(|h| h.weighted_param_grads(x.clone(), &weight))
        .expect("the CNN forms its parameter gradient on flex")
        .unwrap();

    let e = model.energy(x.autodiff());
    let signs: Vec<f32> = (0..n).map(|i| sign(i) as f32).collect();
    let signs =
        Tensor::<1>::from_data(ebm_core::burn::tensor::TensorData::new(signs, [n]), &device);
    let loss = ((e.clone() * signs) + e.clone().powi_scalar(2) * alpha).sum() / n as f64;
    let reference = GradientsParams::from_grads(loss.backward(), &model);
    assert_close("energies", &host(e.inner()), &host(e_fast));

    struct Compare<'a> {
        reference: &'a GradientsParams,
        fast: &'a GradientsParams,
        compared: usize,
    }
    impl ModuleVisitor for Compare<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let r = self
                .reference
                .get::<D>(param.id)
                .expect("autodiff gradient");
            let f = self
                .fast
                .get::<D>(param.id)
                .expect("host gradient for every parameter");
            assert_eq!(r.dims(), f.dims());
            assert_close(&format!("parameter {:?}", r.dims()), &host(r), &host(f));
            self.compared += 1;
        }
    }
    let mut compare = Compare {
        reference: &reference,
        fast: &fast,
        compared: 0,
    };
    model.visit(&mut compare);
    assert_eq!(
        compare.compared, 12,
        "4 convolutions and 2 linears, weight and bias each"
    );
}
