//! The backward pass of one chunk of images: input gradients for sampling, or parameter
//! gradients of a weighted sum of energies for training.
//!
//! With `dL/dE_i = c_i` (1 for the input gradient): `dL/dw_o = sum_i c_i h_i`,
//! `dz_h = c_i w_o (.) swish'(z_h)`, `dW_h = f^T dz_h`, `df = dz_h W_h^T`; then down the
//! convolutions, `dz = da (.) swish'(z)`, `dW = cols^T dz`, `dcols = dz W^T`,
//! `da_prev = col2im(dcols)`.

use super::HostCnn;
use super::forward::Workspace;
use super::gemm::{add_column_sums, fill_rows, matmul};
use super::grads::HostGrads;
use super::im2col::HostConv;
use super::layout::transpose_channels;
use crate::host::ItemWeight;

/// What the backward pass of one chunk of images forms.
pub(super) enum Backward<'a> {
    /// `dE/dx` of every image, NCHW.
    Input(&'a mut [f32]),
    /// The parameter gradient of `sum_i c_i E(x_i)`, `c_i = weight(first + i, E(x_i))`, added
    /// into `grads`.
    Params {
        first: usize,
        weight: &'a ItemWeight<'a>,
        grads: &'a mut HostGrads,
    },
}

impl Backward<'_> {
    /// The item weights `c_i` of the chunk (1 for the input gradient); for the parameter
    /// gradient also adds the output layer's, `dL/dw_o = sum_i c_i h_i` and `dL/db_o = sum_i c_i`,
    /// from the hidden activations `[n, hidden]`.
    fn item_weights(&mut self, energy: &[f32], hidden_act: &[f32], hidden: usize) -> Vec<f32> {
        match self {
            Backward::Input(_) => vec![1.0; energy.len()],
            Backward::Params {
                first,
                weight,
                grads,
            } => {
                let c_item: Vec<f32> = energy
                    .iter()
                    .enumerate()
                    .map(|(i, &e)| weight(*first + i, e))
                    .collect();
                for (h, &ci) in hidden_act.chunks_exact(hidden).zip(&c_item) {
                    grads
                        .out_w
                        .iter_mut()
                        .zip(h)
                        .for_each(|(g, h)| *g += ci * h);
                    grads.out_b += ci;
                }
                c_item
            }
        }
    }
}

impl HostConv {
    /// This layer's weight gradient `dW += cols^T dz` and bias gradient `db += sum dz` from the
    /// layer's im2col matrix and `dz` `[n * positions, c_out]`.
    fn weight_grads(&self, cols: &[f32], dz: &[f32], n: usize, dw: &mut [f32], db: &mut [f32]) {
        let rows = n * self.positions();
        matmul(
            self.patch(),
            self.c_out,
            rows,
            dw,
            true,
            cols,
            true,
            dz,
            false,
        );
        add_column_sums(db, dz);
    }

    /// The gradient of the layer's input, `da = col2im(dz W^T)`, into `da`; `dcols` and `padded`
    /// are scratch.
    fn input_grad(
        &self,
        dz: &[f32],
        n: usize,
        dcols: &mut Vec<f32>,
        padded: &mut Vec<f32>,
        da: &mut Vec<f32>,
    ) {
        let rows = n * self.positions();
        dcols.resize(rows * self.patch(), 0.0);
        let patch = self.patch();
        matmul(
            rows,
            patch,
            self.c_out,
            dcols,
            false,
            dz,
            false,
            &self.weight,
            true,
        );
        da.resize(n * self.image_in(), 0.0);
        self.col2im(dcols, n, padded, da);
    }
}

impl HostCnn {
    /// The backward pass after [`Self::forward`](super::forward) left the features in `ws.act`
    /// and the hidden activations in `ws.next`.
    pub(super) fn backward(&self, ws: &mut Workspace, energy: &[f32], mut backward: Backward<'_>) {
        let n = energy.len();
        let layers = self.convs.len();
        let Workspace {
            act,
            next,
            deriv,
            cols,
            padded,
            layer_cols,
        } = ws;
        let c_item = backward.item_weights(energy, next, self.hidden_b.len());
        self.linear_backward(act, next, &deriv[layers], &c_item, &mut backward);
        for (l, (conv, d)) in self.convs.iter().zip(deriv.iter()).enumerate().rev() {
            for (g, d) in act.iter_mut().zip(d) {
                *g *= d;
            }
            if let Backward::Params { grads, .. } = &mut backward {
                let (dw, db) = (&mut grads.conv_w[l], &mut grads.conv_b[l]);
                conv.weight_grads(&layer_cols[l], act, n, dw, db);
                if l == 0 {
                    return; // No input gradient wanted.
                }
            }
            conv.input_grad(act, n, cols, padded, next);
            std::mem::swap(act, next);
        }

        // NHWC -> NCHW.
        if let Backward::Input(grad) = backward {
            let pixels = self.image_size * self.image_size;
            transpose_channels(act, grad, n, self.channels, pixels, true);
        }
    }

    /// Back through the linear layers: `dz_h = c_i w_o (.) swish'(z_h)` into `next` (which held
    /// the hidden activations), the hidden layer's parameter gradient where wanted, and
    /// `df = dz_h W_h^T` into `act` (which held the features).
    fn linear_backward(
        &self,
        act: &mut Vec<f32>,
        next: &mut Vec<f32>,
        d_hidden: &[f32],
        c_item: &[f32],
        backward: &mut Backward<'_>,
    ) {
        let n = c_item.len();
        let hidden = self.hidden_b.len();
        let features = act.len() / n;
        fill_rows(next, &self.out_w, n);
        for ((row, d), &ci) in next
            .chunks_exact_mut(hidden)
            .zip(d_hidden.chunks_exact(hidden))
            .zip(c_item)
        {
            row.iter_mut().zip(d).for_each(|(g, d)| *g *= ci * d);
        }
        if let Backward::Params { grads, .. } = backward {
            let dw = &mut grads.hidden_w;
            matmul(features, hidden, n, dw, true, act, true, next, false);
            add_column_sums(&mut grads.hidden_b, next);
        }
        act.resize(n * features, 0.0);
        matmul(
            n,
            features,
            hidden,
            act,
            false,
            next,
            false,
            &self.hidden_w,
            true,
        );
    }
}
