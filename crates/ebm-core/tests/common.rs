//! Helpers shared by the integration tests.
#![allow(dead_code)]

use ebm_core::burn::tensor::{Device, Tensor, TensorData};

/// A tensor's values as `f64`.
pub fn host<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// `[n, d]` from host values.
pub fn tensor2(values: &[f64], n: usize, d: usize, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [n, d]), device)
}
