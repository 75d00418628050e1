//! Parameter gradients of the host CNN, in its layouts, and their conversion to burn's.

#[cfg(feature = "optim")]
use burn::optim::GradientsParams;
#[cfg(feature = "optim")]
use burn::tensor::{Device, Tensor, TensorData};

use super::HostCnn;
#[cfg(feature = "optim")]
use super::layout::{permute_conv, permute_rows};
#[cfg(feature = "optim")]
use crate::neural::cnn::CnnEnergy;

/// Parameter gradients in [`HostCnn`]'s layouts (see its fields).
#[derive(Debug, Clone)]
pub struct HostGrads {
    /// Per convolution, `[k * k * c_in, c_out]`.
    pub conv_w: Vec<Vec<f32>>,
    /// Per convolution, `[c_out]`.
    pub conv_b: Vec<Vec<f32>>,
    /// `[features, hidden]`, rows in NHWC order.
    pub hidden_w: Vec<f32>,
    /// `[hidden]`.
    pub hidden_b: Vec<f32>,
    /// `[hidden]`.
    pub out_w: Vec<f32>,
    /// The output bias.
    pub out_b: f32,
}

impl HostGrads {
    /// Zero gradients shaped like `model`'s parameters.
    pub(super) fn zeros(model: &HostCnn) -> Self {
        Self {
            conv_w: model
                .convs
                .iter()
                .map(|c| vec![0.0; c.weight.len()])
                .collect(),
            conv_b: model
                .convs
                .iter()
                .map(|c| vec![0.0; c.bias.len()])
                .collect(),
            hidden_w: vec![0.0; model.hidden_w.len()],
            hidden_b: vec![0.0; model.hidden_b.len()],
            out_w: vec![0.0; model.out_w.len()],
            out_b: 0.0,
        }
    }

    /// The element-wise sum of two gradients.
    pub(super) fn add(mut self, other: Self) -> Self {
        let add = |a: &mut Vec<f32>, b: &Vec<f32>| a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        for (a, b) in self.conv_w.iter_mut().zip(&other.conv_w) {
            add(a, b);
        }
        for (a, b) in self.conv_b.iter_mut().zip(&other.conv_b) {
            add(a, b);
        }
        add(&mut self.hidden_w, &other.hidden_w);
        add(&mut self.hidden_b, &other.hidden_b);
        add(&mut self.out_w, &other.out_w);
        self.out_b += other.out_b;
        self
    }

    /// The gradients in burn's layouts, keyed by `model`'s parameter ids, on `device`
    /// (the inverse of the layout changes of [`HostCnn::from_model`]).
    #[cfg(feature = "optim")]
    pub fn into_gradients(self, model: &CnnEnergy, device: &Device) -> GradientsParams {
        let mut out = GradientsParams::new();
        let tensor = |v: Vec<f32>, shape: Vec<usize>| TensorData::new(v, shape);
        for ((conv, w), b) in model.convs.iter().zip(self.conv_w).zip(self.conv_b) {
            let [c_out, c_in, k, _] = conv.weight.dims();
            let burn_w = permute_conv(&w, c_out, c_in, k * k, false);
            let data = tensor(burn_w, vec![c_out, c_in, k, k]);
            out.register(conv.weight.id, Tensor::<4>::from_data(data, device));
            if let Some(bias) = &conv.bias {
                let data = tensor(b, vec![c_out]);
                out.register(bias.id, Tensor::<1>::from_data(data, device));
            }
        }
        let [features, hidden] = model.hidden.weight.dims();
        let last = model
            .convs
            .last()
            .map_or(model.channels, |c| c.weight.dims()[0]);
        let burn_w = permute_rows(&self.hidden_w, last, features / last, hidden, false);
        let data = tensor(burn_w, vec![features, hidden]);
        out.register(model.hidden.weight.id, Tensor::<2>::from_data(data, device));
        if let Some(bias) = &model.hidden.bias {
            let data = tensor(self.hidden_b, vec![hidden]);
            out.register(bias.id, Tensor::<1>::from_data(data, device));
        }
        let data = tensor(self.out_w, vec![hidden, 1]);
        out.register(model.output.weight.id, Tensor::<2>::from_data(data, device));
        if let Some(bias) = &model.output.bias {
            let data = tensor(vec![self.out_b], vec![1]);
            out.register(bias.id, Tensor::<1>::from_data(data, device));
        }
        out
    }
}
