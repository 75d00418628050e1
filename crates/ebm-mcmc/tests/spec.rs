//! `KernelSpec` and `AnyKernel`: saved JSON still reads, a built kernel steps exactly like the
//! concrete one, and every way of making a kernel rejects a bad size with a typed error.

use burn::tensor::{Device, Tensor};
use ebm_core::{DiagGaussian, SeededRng};
use ebm_mcmc::{
    AisBase, AisConfig, AnyKernel, Hmc, Kernel, KernelSpec, Mala, McmcError, Rwm, Sgld, StepSize,
    Temperatures, Ula, ais, leapfrog,
};

/// The JSON that `ebm-train`'s old `SamplerConfig` wrote (serde, `tag = "kind"`, snake case)
/// reads into the same parameters, and every spec survives a JSON round trip.
#[test]
fn saved_sampler_json_still_reads() {
    let cases = [
        (
            r#"{"kind":"sgld","step_size":10.0,"noise":0.005,"grad_clip":0.03,"domain":[-1.0,1.0]}"#,
            KernelSpec::Sgld {
                step_size: 10.0,
                noise: 0.005,
                grad_clip: Some(0.03),
                domain: Some((-1.0, 1.0)),
            },
        ),
        (
            r#"{"kind":"sgld","step_size":1.0,"noise":0.0,"grad_clip":null,"domain":null}"#,
            KernelSpec::Sgld {
                step_size: 1.0,
                noise: 0.0,
                grad_clip: None,
                domain: None,
            },
        ),
        (
            r#"{"kind":"ula","eps":0.01}"#,
            KernelSpec::Ula { eps: 0.01 },
        ),
        (
            r#"{"kind":"mala","eps":0.02}"#,
            KernelSpec::Mala { eps: 0.02 },
        ),
        (
            r#"{"kind":"hmc","eps":0.1,"leapfrog":3}"#,
            KernelSpec::Hmc {
                eps: 0.1,
                leapfrog: 3,
                jitter: 0.0,
            },
        ),
        (
            r#"{"kind":"rwm","sigma":0.1}"#,
            KernelSpec::Rwm { sigma: 0.1 },
        ),
    ];
    for (json, want) in cases {
        let got: KernelSpec = serde_json::from_str(json).unwrap();
        assert_eq!(got, want, "{json}");
        let again: KernelSpec =
            serde_json::from_str(&serde_json::to_string(&got).unwrap()).unwrap();
        assert_eq!(again, want);
    }
}

fn positions<K: Kernel<2>>(kernel: &K, target: &DiagGaussian) -> Vec<f32> {
    let device = Device::flex();
    let mut rng = SeededRng::new(5);
    let start: Tensor<2> = rng.normal([6, 3], &device);
    let mut state = kernel.init(target, start);
    for _ in 0..4 {
        state = kernel.step(target, state, &mut rng).0;
    }
    state.position.try_to_vec_as::<f32>().unwrap()
}

/// A built kernel is the concrete kernel: same name, step size, target and, from the same seed,
/// the same positions.
#[test]
fn built_kernels_step_like_the_concrete_ones() {
    let target = DiagGaussian::standard(3, &Device::flex()).unwrap();
    let h = |x| StepSize::Shared(x);
    let sgld = Sgld::new(h(0.1), 0.3)
        .unwrap()
        .with_grad_clip(2.0)
        .unwrap()
        .with_domain(-3.0, 3.0)
        .unwrap();
    let pairs: [(KernelSpec, AnyKernel); 5] = [
        (
            KernelSpec::Rwm { sigma: 0.7 },
            Rwm::new(h(0.7)).unwrap().into(),
        ),
        (
            KernelSpec::Ula { eps: 0.05 },
            Ula::new(h(0.05)).unwrap().into(),
        ),
        (
            KernelSpec::Mala { eps: 0.3 },
            Mala::new(h(0.3)).unwrap().into(),
        ),
        (
            KernelSpec::Hmc {
                eps: 0.2,
                leapfrog: 4,
                jitter: 0.0,
            },
            Hmc::new(h(0.2), 4).unwrap().into(),
        ),
        (
            KernelSpec::Sgld {
                step_size: 0.1,
                noise: 0.3,
                grad_clip: Some(2.0),
                domain: Some((-3.0, 3.0)),
            },
            sgld.into(),
        ),
    ];
    for (spec, concrete) in pairs {
        let built = spec.build().unwrap();
        assert_eq!(built, concrete, "{spec}");
        assert_eq!(Kernel::<2>::name(&built), spec.name());
        assert_eq!(Kernel::<2>::step_size(&built), &h(spec.step_size()));
        assert_eq!(
            Kernel::<2>::target_accept(&built).is_some(),
            spec.is_adjusted(),
            "{spec}"
        );
        let (a, b) = (positions(&built, &target), positions(&concrete, &target));
        assert_eq!(a, b, "{spec}");
        // Negative control: a different step size moves the chains elsewhere.
        let other = spec.with_step_size(0.5 * spec.step_size()).build().unwrap();
        assert_ne!(positions(&other, &target), b, "{spec}");
    }
}

fn is_invalid<T: std::fmt::Debug>(r: Result<T, McmcError>, what: &str) {
    match r {
        Err(McmcError::InvalidParameter { .. }) => {}
        other => panic!("{what}: expected InvalidParameter, got {other:?}"),
    }
}

/// Zero, negative, NaN and infinite sizes fail with `InvalidParameter` in every constructor, in
/// `set_step_size`, in `KernelSpec::build`/`validate`, and zero leapfrog steps too (no panic).
#[test]
fn every_constructor_rejects_bad_sizes() {
    for bad in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        let h = StepSize::Shared(bad);
        is_invalid(Rwm::new(h.clone()), "rwm");
        is_invalid(Ula::new(h.clone()), "ula");
        is_invalid(Mala::new(h.clone()), "mala");
        is_invalid(Hmc::new(h.clone(), 5), "hmc");
        is_invalid(Sgld::new(h.clone(), 0.1), "sgld");
        is_invalid(
            Sgld::new(StepSize::Shared(1.0), -bad.abs() - 1.0),
            "sgld noise",
        );
        is_invalid(StepSize::PerChain(vec![1.0, bad]).checked("x"), "per chain");
        for spec in KernelSpec::defaults(2) {
            let spec = spec.with_step_size(bad);
            is_invalid(spec.build(), &spec.to_string());
            is_invalid(spec.validate(), &spec.to_string());
        }
        let mut mala = Mala::new(StepSize::Shared(0.1)).unwrap();
        is_invalid(Kernel::<2>::set_step_size(&mut mala, h.clone()), "set");
        assert_eq!(Kernel::<2>::step_size(&mala), &StepSize::Shared(0.1));
    }
    is_invalid(StepSize::PerChain(Vec::new()).checked("x"), "empty");
    is_invalid(Hmc::new(StepSize::Shared(0.1), 0), "hmc leapfrog 0");
    let zero_leapfrog = KernelSpec::Hmc {
        eps: 0.1,
        leapfrog: 0,
        jitter: 0.0,
    };
    is_invalid(zero_leapfrog.build(), "spec leapfrog 0");
    let device = Device::flex();
    let target = DiagGaussian::standard(2, &device).unwrap();
    let x: Tensor<2> = Tensor::zeros([3, 2], &device);
    is_invalid(
        leapfrog(&target, x.clone(), x.clone(), x, &StepSize::Shared(0.1), 0),
        "leapfrog 0",
    );
}

/// AIS takes its transition as a spec and refuses one without an accept/reject step.
#[test]
fn ais_rejects_unadjusted_transitions() {
    let device = Device::flex();
    let target = DiagGaussian::standard(2, &device).unwrap();
    let config = |transition| AisConfig {
        chains: 16,
        temperatures: Temperatures::linear(10).unwrap(),
        transition,
        steps_per_temperature: 1,
        adapt: None,
    };
    let base = AisBase::Gaussian { mean: 0.0, sd: 2.0 };
    let mut rng = SeededRng::new(3);
    for spec in [KernelSpec::Ula { eps: 0.1 }, "sgld".parse().unwrap()] {
        let err = ais(&target, base, [16, 2], &config(spec), &mut rng, &device).unwrap_err();
        assert!(err.to_string().contains("accept/reject"), "{err}");
    }
    for spec in [
        "rwm:sigma=0.5".parse().unwrap(),
        "mala:eps=0.3".parse().unwrap(),
        "hmc:eps=0.3,leapfrog=3".parse().unwrap(),
    ] {
        let est = ais(&target, base, [16, 2], &config(spec), &mut rng, &device).unwrap();
        assert!(est.log_z.is_finite() && est.mean_accept > 0.0);
    }
}
