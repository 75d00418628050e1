//! The forward pass of one chunk of images, keeping what the backward pass needs.

use super::HostCnn;
use super::backward::Backward;
use super::gemm::matmul;
use super::im2col::HostConv;
use super::layout::transpose_channels;
use super::swish::bias_swish;

/// Per-thread buffers, kept between calls so that the hot loop allocates nothing.
#[derive(Default)]
pub(super) struct Workspace {
    /// The layer input being read and the layer output being written (NHWC).
    pub(super) act: Vec<f32>,
    pub(super) next: Vec<f32>,
    /// Swish derivatives of every layer (the convolutions, then the hidden linear).
    pub(super) deriv: Vec<Vec<f32>>,
    /// im2col matrix, then its gradient.
    pub(super) cols: Vec<f32>,
    /// The layer input with its padding (im2col), or the padded input gradient (col2im).
    pub(super) padded: Vec<f32>,
    /// Every layer's im2col matrix, kept for the weight gradients (parameter pass only).
    pub(super) layer_cols: Vec<Vec<f32>>,
}

impl HostConv {
    /// One layer forward on `n` NHWC images `a`: `z = im2col(a) W` into `z`, then
    /// `z <- swish(z + b)` with its derivative in `deriv`; `cols` keeps the im2col matrix.
    fn forward(
        &self,
        a: &[f32],
        n: usize,
        padded: &mut Vec<f32>,
        cols: &mut Vec<f32>,
        z: &mut Vec<f32>,
        deriv: &mut Vec<f32>,
    ) {
        let rows = n * self.positions();
        cols.resize(rows * self.patch(), 0.0);
        self.im2col(a, n, padded, cols);
        z.resize(rows * self.c_out, 0.0);
        let patch = self.patch();
        matmul(
            rows,
            self.c_out,
            patch,
            z,
            false,
            cols,
            false,
            &self.weight,
            false,
        );
        deriv.resize(z.len(), 0.0);
        bias_swish(z, &self.bias, deriv);
    }
}

impl HostCnn {
    /// Forward and backward for one chunk of `n >= 1` images (NCHW, `x`) on the calling thread:
    /// the energies into `energy`, the gradient `backward` asks for into its buffers.
    pub(super) fn chunk(
        &self,
        ws: &mut Workspace,
        x: &[f32],
        energy: &mut [f32],
        backward: Backward<'_>,
    ) {
        let keep_cols = matches!(backward, Backward::Params { .. });
        self.forward(ws, x, energy, keep_cols);
        self.backward(ws, energy, backward);
    }

    /// The forward pass: NCHW -> NHWC, then per convolution `z = im2col(a) W + b`,
    /// `a' = swish(z)`, keeping `swish'(z)` per layer (and every im2col matrix when
    /// `keep_cols`), then the two linear layers. Leaves the features `[n, f]` in `ws.act` and the
    /// hidden activations `[n, h]` in `ws.next`.
    fn forward(&self, ws: &mut Workspace, x: &[f32], energy: &mut [f32], keep_cols: bool) {
        let n = energy.len();
        let (c, pixels) = (self.channels, self.image_size * self.image_size);
        let layers = self.convs.len();
        let Workspace {
            act,
            next,
            deriv,
            cols,
            padded,
            layer_cols,
        } = ws;
        deriv.resize_with(layers + 1, Vec::new);
        layer_cols.resize_with(layers, Vec::new);

        // NCHW -> NHWC.
        act.resize(x.len(), 0.0);
        transpose_channels(x, act, n, c, pixels, false);

        for (l, (conv, d)) in self.convs.iter().zip(deriv.iter_mut()).enumerate() {
            let cols = if keep_cols {
                &mut layer_cols[l]
            } else {
                &mut *cols
            };
            conv.forward(act, n, padded, cols, next, d);
            std::mem::swap(act, next);
        }
        self.linear_forward(act, next, &mut deriv[layers], energy);
    }

    /// The two linear layers: features `[n, f]` -> hidden `h = swish(f W_h + b_h)` `[n, h]`
    /// (into `hidden_act`, `swish'` into `d_hidden`) -> energy `e = h . w_o + b_o`.
    fn linear_forward(
        &self,
        features: &[f32],
        hidden_act: &mut Vec<f32>,
        d_hidden: &mut Vec<f32>,
        energy: &mut [f32],
    ) {
        let n = energy.len();
        let hidden = self.hidden_b.len();
        let f = features.len() / n;
        hidden_act.resize(n * hidden, 0.0);
        matmul(
            n,
            hidden,
            f,
            hidden_act,
            false,
            features,
            false,
            &self.hidden_w,
            false,
        );
        d_hidden.resize(hidden_act.len(), 0.0);
        bias_swish(hidden_act, &self.hidden_b, d_hidden);
        for (e, h) in energy.iter_mut().zip(hidden_act.chunks_exact(hidden)) {
            *e = self.out_b + h.iter().zip(&self.out_w).map(|(h, w)| h * w).sum::<f32>();
        }
    }
}
