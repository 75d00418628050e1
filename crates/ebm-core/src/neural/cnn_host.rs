//! The CNN energy and its input gradient, derived by hand on contiguous host buffers (CPU).
//!
//! Sampling an image EBM costs one input gradient `dE/dx` per Langevin step, so this is the inner
//! loop of training. burn's autodiff path records a tape, and its CPU convolution works image by
//! image; here the whole network runs on plain `f32` buffers in NHWC layout, every convolution as
//! one im2col and one matrix product per chunk of images, chunks spread over the rayon threads.
//!
//! For a convolution `z = W * a + b` followed by Swish `a' = z sigma(z)`, the backward pass is
//!
//! ```text
//! dz     = da' (.) sigma(z) (1 + z (1 - sigma(z)))        Swish'
//! dcols  = dz W^T                                         [positions, k*k*C_in]
//! da     = col2im(dcols)                                  scatter-add of the patches
//! ```
//!
//! and for the two linear layers `e = w_o . swish(W_h f + b_h) + b_o` it is
//! `df = W_h^T (w_o (.) swish'(z_h))`. Only input gradients are formed: the parameters are
//! constants here (sampling freezes them), so no weight gradient is ever computed.
//!
//! [`CnnEnergy`]'s `energy_and_grad` takes this path on the `flex` device; tests check it against
//! autodiff on random weights and inputs.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use crate::energy::{Energy, ItemWeight};
use crate::error::EnergyError;
use crate::neural::cnn::{CnnEnergy, LAYERS};

/// Images per chunk: one chunk is one im2col and one GEMM per layer on one thread.
const CHUNK: usize = 8;

/// One convolution in GEMM layout.
#[derive(Debug, Clone)]
struct HostConv {
    kernel: usize,
    stride: usize,
    pad: usize,
    c_in: usize,
    c_out: usize,
    /// Input side (square feature maps).
    side_in: usize,
    /// Output side.
    side_out: usize,
    /// `[k * k * c_in, c_out]`, row `(kh * k + kw) * c_in + c`.
    weight: Vec<f32>,
    /// `[c_out]`.
    bias: Vec<f32>,
}

impl HostConv {
    /// Columns of the im2col matrix: one patch, `k * k * c_in` values.
    fn patch(&self) -> usize {
        self.kernel * self.kernel * self.c_in
    }

    /// Output positions per image.
    fn positions(&self) -> usize {
        self.side_out * self.side_out
    }

    /// Every output position `(image, oh, ow)` of `n` images, in row order of the im2col matrix.
    fn outputs(&self, n: usize) -> impl Iterator<Item = (usize, usize, usize)> + use<> {
        let side = self.side_out;
        (0..n).flat_map(move |b| (0..side).flat_map(move |oh| (0..side).map(move |ow| (b, oh, ow))))
    }

    /// For output column `ow`, the kernel columns `kw` whose input column `ow * stride + kw - pad`
    /// lies inside the image, as a range.
    fn valid_kw(&self, ow: usize) -> std::ops::Range<usize> {
        let start = ow * self.stride;
        let lo = self.pad.saturating_sub(start);
        let hi = (self.side_in + self.pad)
            .saturating_sub(start)
            .min(self.kernel);
        lo..hi.max(lo)
    }

    /// im2col of `n` NHWC images `a` into `cols` `[n * positions, patch]`, zero outside.
    ///
    /// In NHWC the pixels `(ih, iw..iw + m)` of all channels are one contiguous run, so each row of
    /// the kernel is one copy.
    fn im2col(&self, a: &[f32], n: usize, cols: &mut [f32]) {
        let (c, k, side) = (self.c_in, self.kernel, self.side_in);
        let (patch, image_len) = (self.patch(), side * side * c);
        let mut rows = cols.chunks_exact_mut(patch);
        for (b, oh, ow) in self.outputs(n) {
            let dst = rows.next().expect("cols holds n * positions rows");
            let image = &a[b * image_len..(b + 1) * image_len];
            let kw = self.valid_kw(ow);
            for (kh, dst) in dst.chunks_exact_mut(k * c).enumerate() {
                match (oh * self.stride + kh).checked_sub(self.pad) {
                    Some(ih) if ih < side && !kw.is_empty() => {
                        let iw = ow * self.stride + kw.start - self.pad;
                        let from = (ih * side + iw) * c;
                        dst[..kw.start * c].fill(0.0);
                        dst[kw.start * c..kw.end * c]
                            .copy_from_slice(&image[from..from + kw.len() * c]);
                        dst[kw.end * c..].fill(0.0);
                    }
                    _ => dst.fill(0.0),
                }
            }
        }
    }

    /// The adjoint of [`Self::im2col`]: adds every patch of `dcols` back onto `da` (zeroed first).
    fn col2im(&self, dcols: &[f32], n: usize, da: &mut [f32]) {
        da.fill(0.0);
        let (c, k, side) = (self.c_in, self.kernel, self.side_in);
        let (patch, image_len) = (self.patch(), side * side * c);
        let mut rows = dcols.chunks_exact(patch);
        for (b, oh, ow) in self.outputs(n) {
            let src = rows.next().expect("dcols holds n * positions rows");
            let image = &mut da[b * image_len..(b + 1) * image_len];
            let kw = self.valid_kw(ow);
            if kw.is_empty() {
                continue;
            }
            for (kh, src) in src.chunks_exact(k * c).enumerate() {
                if let Some(ih) = (oh * self.stride + kh).checked_sub(self.pad)
                    && ih < side
                {
                    let iw = ow * self.stride + kw.start - self.pad;
                    let from = (ih * side + iw) * c;
                    let dst = &mut image[from..from + kw.len() * c];
                    for (d, s) in dst.iter_mut().zip(&src[kw.start * c..kw.end * c]) {
                        *d += s;
                    }
                }
            }
        }
    }
}

/// A snapshot of a [`CnnEnergy`]'s parameters in host memory, laid out for GEMM.
///
/// Build it once per set of parameters ([`HostCnn::from_model`]) and evaluate any number of
/// batches; it holds no reference to the model or its device.
#[derive(Debug, Clone)]
pub struct HostCnn {
    channels: usize,
    image_size: usize,
    convs: Vec<HostConv>,
    /// `[features, hidden]`, rows in NHWC order of the last feature map.
    hidden_w: Vec<f32>,
    hidden_b: Vec<f32>,
    /// `[hidden]`.
    out_w: Vec<f32>,
    out_b: f32,
}

/// A [`CnnEnergy`] with its parameters copied once into a [`HostCnn`], for a sampler's inner
/// loop on the CPU ([`Energy::snapshot`]): input gradients come from the snapshot, energies
/// alone and parameter gradients from the model.
pub(crate) struct CnnSnapshot<'a> {
    model: &'a CnnEnergy,
    host: HostCnn,
}

impl<'a> CnnSnapshot<'a> {
    pub(crate) fn new(model: &'a CnnEnergy) -> Self {
        Self {
            model,
            host: HostCnn::from_model(model),
        }
    }
}

impl Energy<4> for CnnSnapshot<'_> {
    fn energy(&self, x: Tensor<4>) -> Tensor<1> {
        self.model.energy(x)
    }

    fn name(&self) -> String {
        self.model.name()
    }

    fn check_input(&self, dims: [usize; 4]) -> Result<(), EnergyError> {
        self.model.check_input(dims)
    }

    fn energy_and_grad(&self, x: Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        if x.device() == Device::flex() {
            self.host.energy_and_grad(x)
        } else {
            self.model.energy_and_grad(x)
        }
    }

    fn energy_and_grad_host(&self, x: &[f32], dims: [usize; 4]) -> Option<(Vec<f32>, Vec<f32>)> {
        self.check_input(dims).ok()?;
        Some(self.host.energy_and_grad_host(x))
    }

    fn weighted_param_grads(
        &self,
        x: Tensor<4>,
        weight: &ItemWeight<'_>,
    ) -> Option<(Tensor<1>, GradientsParams)> {
        self.model.weighted_param_grads(x, weight)
    }
}

/// Reads a tensor's values to the host as `f32`.
fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_to_vec_as::<f32>()
        .expect("a float tensor converts to f32")
}

/// Swish in place, `z <- z sigma(z)`, writing its derivative `sigma(z) (1 + z (1 - sigma(z)))`
/// to `deriv` for the backward pass. Uses AVX2 and FMA where the CPU has them.
fn swish(z: &mut [f32], deriv: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `swish_avx2` is compiled for.
        #[allow(unsafe_code)]
        return unsafe { swish_avx2(z, deriv) };
    }
    swish_portable(z, deriv)
}

/// [`swish_portable`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn swish_avx2(z: &mut [f32], deriv: &mut [f32]) {
    swish_portable(z, deriv)
}

#[inline(always)]
fn swish_portable(z: &mut [f32], deriv: &mut [f32]) {
    for (z, d) in z.iter_mut().zip(deriv.iter_mut()) {
        let s = 1.0 / (1.0 + exp(-*z));
        *d = s * (1.0 + *z * (1.0 - s));
        *z *= s;
    }
}

/// `e^x` to about 2e-7 relative error, branch-free so that loops over it vectorise (the C
/// library's `expf` does not). Arguments beyond `[-87, 88]` are clamped.
///
/// `x = k ln 2 + r` with `k` the nearest integer to `x / ln 2` and `|r| <= ln 2 / 2`; `e^r` is its
/// degree-6 Taylor polynomial and `2^k` is put straight into the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer.
    // Not `clamp`: its NaN check keeps the loop from vectorising.
    #[allow(clippy::manual_clamp)]
    let x = x.max(-87.0).min(88.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    // ln 2 in two parts (Cody-Waite), so that k ln 2 is exact to f32 precision for |k| <= 127.
    let r = (x - k * (355.0 / 512.0)) + k * 2.121_944_4e-4;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // `t`'s low mantissa bits hold k (offset by ROUND's bits): 2^k without a float-int conversion.
    let k_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

/// Per-thread buffers, kept between calls so that the hot loop allocates nothing.
#[derive(Default)]
struct Workspace {
    /// The layer input being read and the layer output being written (NHWC).
    act: Vec<f32>,
    next: Vec<f32>,
    /// Swish derivatives of every layer (the convolutions, then the hidden linear).
    deriv: Vec<Vec<f32>>,
    /// im2col matrix, then its gradient.
    cols: Vec<f32>,
    /// Every layer's im2col matrix, kept for the weight gradients (parameter pass only).
    layer_cols: Vec<Vec<f32>>,
}

/// What the backward pass of one chunk of images forms.
enum Backward<'a> {
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
    fn zeros(model: &HostCnn) -> Self {
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

    /// The gradients in burn's layouts, keyed by `model`'s parameter ids, on `device`
    /// (the inverse of the layout changes of [`HostCnn::from_model`]).
    pub fn into_gradients(self, model: &CnnEnergy, device: &Device) -> GradientsParams {
        let mut out = GradientsParams::new();
        let tensor = |v: Vec<f32>, shape: Vec<usize>| TensorData::new(v, shape);
        for ((conv, w), b) in model.convs.iter().zip(self.conv_w).zip(self.conv_b) {
            let [c_out, c_in, k, _] = conv.weight.dims();
            let mut burn_w = vec![0.0; w.len()];
            for o in 0..c_out {
                for c in 0..c_in {
                    for kk in 0..k * k {
                        burn_w[(o * c_in + c) * k * k + kk] = w[(kk * c_in + c) * c_out + o];
                    }
                }
            }
            let data = tensor(burn_w, vec![c_out, c_in, k, k]);
            out.register(conv.weight.id, Tensor::<4>::from_data(data, device));
            if let Some(bias) = &conv.bias {
                out.register(
                    bias.id,
                    Tensor::<1>::from_data(tensor(b, vec![c_out]), device),
                );
            }
        }
        let [features, hidden] = model.hidden.weight.dims();
        let last = model
            .convs
            .last()
            .map_or(model.channels, |c| c.weight.dims()[0]);
        let pixels = features / last;
        let mut burn_w = vec![0.0; self.hidden_w.len()];
        for c in 0..last {
            for p in 0..pixels {
                let (to, from) = ((c * pixels + p) * hidden, (p * last + c) * hidden);
                burn_w[to..to + hidden].copy_from_slice(&self.hidden_w[from..from + hidden]);
            }
        }
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

    fn add(mut self, other: Self) -> Self {
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
}

thread_local! {
    static WORKSPACE: std::cell::RefCell<Workspace> = std::cell::RefCell::default();
}

impl HostCnn {
    /// Copies the parameters of `model` to the host, converting burn's layouts: convolution
    /// weights `[c_out, c_in, k, k]` to `[k * k * c_in, c_out]`, and the hidden linear's rows
    /// from the NCHW flattening order to NHWC.
    pub fn from_model(model: &CnnEnergy) -> Self {
        let mut side = model.image_size;
        let mut convs = Vec::with_capacity(model.convs.len());
        for (conv, &(kernel, stride, pad)) in model.convs.iter().zip(LAYERS.iter()) {
            let [c_out, c_in, _, _] = conv.weight.dims();
            let w = host(conv.weight.val());
            let mut weight = vec![0.0; kernel * kernel * c_in * c_out];
            for o in 0..c_out {
                for c in 0..c_in {
                    for kh in 0..kernel {
                        for kw in 0..kernel {
                            let from = ((o * c_in + c) * kernel + kh) * kernel + kw;
                            let to = ((kh * kernel + kw) * c_in + c) * c_out + o;
                            weight[to] = w[from];
                        }
                    }
                }
            }
            let bias = match &conv.bias {
                Some(b) => host(b.val()),
                None => vec![0.0; c_out],
            };
            let side_out = (side + 2 * pad).saturating_sub(kernel) / stride + 1;
            convs.push(HostConv {
                kernel,
                stride,
                pad,
                c_in,
                c_out,
                side_in: side,
                side_out,
                weight,
                bias,
            });
            side = side_out;
        }
        let last = convs.last().map_or(model.channels, |c| c.c_out);
        let pixels = side * side;
        let [features, hidden] = model.hidden.weight.dims();
        let w = host(model.hidden.weight.val());
        let mut hidden_w = vec![0.0; features * hidden];
        for c in 0..last {
            for p in 0..pixels {
                let from = (c * pixels + p) * hidden;
                let to = (p * last + c) * hidden;
                hidden_w[to..to + hidden].copy_from_slice(&w[from..from + hidden]);
            }
        }
        let bias_or_zero = |b: &Option<burn::module::Param<Tensor<1>>>, n: usize| match b {
            Some(b) => host(b.val()),
            None => vec![0.0; n],
        };
        Self {
            channels: model.channels,
            image_size: model.image_size,
            convs,
            hidden_w,
            hidden_b: bias_or_zero(&model.hidden.bias, hidden),
            out_w: host(model.output.weight.val()),
            out_b: bias_or_zero(&model.output.bias, 1)[0],
        }
    }

    /// Values per image.
    fn image_len(&self) -> usize {
        self.channels * self.image_size * self.image_size
    }

    /// Energies `[n]` and input gradients `[n * C * H * W]` (NCHW) of `n` NCHW images.
    ///
    /// # Panics
    /// If `x.len()` is not a whole number of images of the model's shape.
    pub fn energy_and_grad_host(&self, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let len = self.image_len();
        assert_eq!(x.len() % len, 0, "input is not a whole number of images");
        let n = x.len() / len;
        let mut energy = vec![0.0; n];
        let mut grad = vec![0.0; n * len];
        x.par_chunks(CHUNK * len)
            .zip(energy.par_chunks_mut(CHUNK))
            .zip(grad.par_chunks_mut(CHUNK * len))
            .for_each(|((x, e), g)| {
                WORKSPACE.with_borrow_mut(|ws| self.chunk(ws, x, e, Backward::Input(g)))
            });
        (energy, grad)
    }

    /// Energies `[n]` of `n` NCHW images and the parameter gradient of
    /// `L = sum_i c_i E(x_i)`, `c_i = weight(i, E(x_i))`, by the same backward pass with the
    /// weight gradients formed (`dW = cols^T dz` per convolution) and the input's skipped.
    ///
    /// # Panics
    /// If `x.len()` is not a whole number of images of the model's shape.
    pub fn param_grads_host(&self, x: &[f32], weight: &ItemWeight<'_>) -> (Vec<f32>, HostGrads) {
        let len = self.image_len();
        assert_eq!(x.len() % len, 0, "input is not a whole number of images");
        let mut energy = vec![0.0; x.len() / len];
        // Per-chunk gradients summed in chunk order, so the result does not depend on how rayon
        // scheduled the chunks (runs are reproducible to the bit).
        let per_chunk: Vec<HostGrads> = x
            .par_chunks(CHUNK * len)
            .zip(energy.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(i, (x, e))| {
                let mut grads = HostGrads::zeros(self);
                let backward = Backward::Params {
                    first: i * CHUNK,
                    weight,
                    grads: &mut grads,
                };
                WORKSPACE.with_borrow_mut(|ws| self.chunk(ws, x, e, backward));
                grads
            })
            .collect();
        let grads = per_chunk
            .into_iter()
            .fold(HostGrads::zeros(self), HostGrads::add);
        (energy, grads)
    }

    /// [`Self::energy_and_grad_host`] on tensors: `[N, C, H, W]` in, energies `[N]` and the
    /// gradient `[N, C, H, W]` out, on `x`'s device without autodiff.
    ///
    /// # Panics
    /// If the images are not `C x S x S` of the model (check first with
    /// [`Energy::check_input`](crate::Energy::check_input), as `try_energy` does).
    pub fn energy_and_grad(&self, x: Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        let dims = x.dims();
        let (c, s) = (self.channels, self.image_size);
        assert_eq!(
            dims[1..],
            [c, s, s],
            "CNN energy: images must be {c}x{s}x{s}, got {:?}",
            &dims[1..]
        );
        let device: Device = x.device().inner();
        let (e, g) = self.energy_and_grad_host(&host(x));
        (
            Tensor::from_data(TensorData::new(e, [dims[0]]), &device),
            Tensor::from_data(TensorData::new(g, dims), &device),
        )
    }

    /// Forward and backward for one chunk of `n` images on the calling thread.
    fn chunk(&self, ws: &mut Workspace, x: &[f32], energy: &mut [f32], mut backward: Backward<'_>) {
        let n = energy.len();
        let (c, pixels) = (self.channels, self.image_size * self.image_size);
        let layers = self.convs.len();
        let Workspace {
            act,
            next,
            deriv,
            cols,
            layer_cols,
        } = ws;
        let keep_cols = matches!(backward, Backward::Params { .. });
        deriv.resize_with(layers + 1, Vec::new);
        layer_cols.resize_with(layers, Vec::new);

        // NCHW -> NHWC.
        act.resize(x.len(), 0.0);
        transpose_channels(x, act, n, c, pixels, false);

        // Forward: z = im2col(a) W + b, a' = swish(z), keeping swish'(z) per layer.
        for (l, (conv, d)) in self.convs.iter().zip(deriv.iter_mut()).enumerate() {
            let rows = n * conv.positions();
            let cols = if keep_cols {
                &mut layer_cols[l]
            } else {
                &mut *cols
            };
            cols.resize(rows * conv.patch(), 0.0);
            conv.im2col(act, n, cols);
            fill_rows(next, &conv.bias, rows);
            matmul(
                rows,
                conv.c_out,
                conv.patch(),
                next,
                true,
                cols,
                false,
                &conv.weight,
                false,
            );
            d.resize(next.len(), 0.0);
            swish(next, d);
            std::mem::swap(act, next);
        }

        // The two linear layers: features [n, f] -> hidden [n, h] -> energy [n].
        let hidden = self.hidden_b.len();
        let features = act.len() / n;
        let d_hidden = &mut deriv[layers];
        fill_rows(next, &self.hidden_b, n);
        matmul(
            n,
            hidden,
            features,
            next,
            true,
            act,
            false,
            &self.hidden_w,
            false,
        );
        d_hidden.resize(next.len(), 0.0);
        swish(next, d_hidden);
        for (e, h) in energy.iter_mut().zip(next.chunks_exact(hidden)) {
            *e = self.out_b + h.iter().zip(&self.out_w).map(|(h, w)| h * w).sum::<f32>();
        }

        // Backward, with dL/dE_i = c_i (1 for the input gradient): dL/dw_o = sum_i c_i h_i,
        // dz_h = c_i w_o (.) swish'(z_h), dW_h = f^T dz_h, df = dz_h W_h^T; then down the
        // convolutions, dz = da (.) swish'(z), dW = cols^T dz, dcols = dz W^T, da_prev = col2im(dcols).
        let c_item: Vec<f32> = match &mut backward {
            Backward::Input(_) => vec![1.0; n],
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
                for (h, &ci) in next.chunks_exact(hidden).zip(&c_item) {
                    grads
                        .out_w
                        .iter_mut()
                        .zip(h)
                        .for_each(|(g, h)| *g += ci * h);
                    grads.out_b += ci;
                }
                c_item
            }
        };
        fill_rows(next, &self.out_w, n);
        for ((row, d), &ci) in next
            .chunks_exact_mut(hidden)
            .zip(d_hidden.chunks_exact(hidden))
            .zip(&c_item)
        {
            row.iter_mut().zip(d).for_each(|(g, d)| *g *= ci * d);
        }
        if let Backward::Params { grads, .. } = &mut backward {
            matmul(
                features,
                hidden,
                n,
                &mut grads.hidden_w,
                true,
                act,
                true,
                next,
                false,
            );
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
        for (l, (conv, d)) in self.convs.iter().zip(deriv.iter()).enumerate().rev() {
            for (g, d) in act.iter_mut().zip(d) {
                *g *= d;
            }
            let rows = n * conv.positions();
            if let Backward::Params { grads, .. } = &mut backward {
                let w = &mut grads.conv_w[l];
                matmul(
                    conv.patch(),
                    conv.c_out,
                    rows,
                    w,
                    true,
                    &layer_cols[l],
                    true,
                    act,
                    false,
                );
                add_column_sums(&mut grads.conv_b[l], act);
                if l == 0 {
                    return; // No input gradient wanted.
                }
            }
            cols.resize(rows * conv.patch(), 0.0);
            matmul(
                rows,
                conv.patch(),
                conv.c_out,
                cols,
                false,
                act,
                false,
                &conv.weight,
                true,
            );
            next.resize(n * conv.side_in * conv.side_in * conv.c_in, 0.0);
            conv.col2im(cols, n, next);
            std::mem::swap(act, next);
        }

        // NHWC -> NCHW.
        if let Backward::Input(grad) = backward {
            transpose_channels(act, grad, n, c, pixels, true);
        }
    }
}

/// Adds the column sums of the row-major matrix `m` (`sums.len()` columns) into `sums`.
fn add_column_sums(sums: &mut [f32], m: &[f32]) {
    for row in m.chunks_exact(sums.len()) {
        sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
    }
}

/// Copies `n` images between NCHW (`from` when `!to_nchw`) and NHWC layouts; a plain copy for one
/// channel.
fn transpose_channels(
    from: &[f32],
    to: &mut [f32],
    n: usize,
    c: usize,
    pixels: usize,
    to_nchw: bool,
) {
    if c == 1 {
        to.copy_from_slice(&from[..to.len()]);
        return;
    }
    for b in 0..n {
        for ch in 0..c {
            for p in 0..pixels {
                let (nchw, nhwc) = ((b * c + ch) * pixels + p, (b * pixels + p) * c + ch);
                if to_nchw {
                    to[nchw] = from[nhwc];
                } else {
                    to[nhwc] = from[nchw];
                }
            }
        }
    }
}

/// Sets `dst` to `rows` copies of `row`.
fn fill_rows(dst: &mut Vec<f32>, row: &[f32], rows: usize) {
    dst.clear();
    for _ in 0..rows {
        dst.extend_from_slice(row);
    }
}

/// `dst[m, n] = (accumulate ? dst : 0) + lhs[m, k] rhs[k, n]`, all row-major, on this thread.
///
/// `lhs_t` reads `lhs` stored as `[k, m]`, `rhs_t` reads `rhs` stored as `[n, k]`.
#[allow(clippy::too_many_arguments)]
#[allow(unsafe_code)]
fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: &[f32],
    lhs_t: bool,
    rhs: &[f32],
    rhs_t: bool,
) {
    assert!(dst.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let (lhs_cs, lhs_rs) = if lhs_t { (m, 1) } else { (1, k) };
    let (rhs_cs, rhs_rs) = if rhs_t { (k, 1) } else { (1, n) };
    // SAFETY: the lengths were checked above, so every index `gemm` forms from these sizes and
    // strides (row-major `dst[m, n]`, `lhs` `m x k`, `rhs` `k x n`) lies inside its slice; `dst`
    // is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use burn::tensor::Device;

    #[test]
    fn fast_exp_is_accurate_over_the_range_swish_meets() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -80.0 + 160.0 * i as f32 / 200_000.0;
            let (fast, exact) = (exp(x) as f64, (x as f64).exp());
            worst = worst.max(((fast - exact) / exact).abs());
        }
        // Degree-6 Taylor remainder on |r| <= ln 2 / 2 is 1.6e-7 relative, plus f32 rounding.
        assert!(worst < 5e-7, "worst relative error {worst:e}");
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(a), c> = <a, col2im(c)> for every a and c, on each layer shape with padding.
        let device = Device::flex();
        for (k, stride, pad, c_in, side) in [(5, 2, 4, 1, 28), (3, 2, 1, 3, 8), (3, 1, 1, 2, 5)] {
            let side_out = (side + 2 * pad - k) / stride + 1;
            let conv = HostConv {
                kernel: k,
                stride,
                pad,
                c_in,
                c_out: 1,
                side_in: side,
                side_out,
                weight: vec![],
                bias: vec![],
            };
            let n = 2;
            let mut rng = SeededRng::new(k as u64);
            let a: Vec<f32> = rng
                .normal([n * side * side * c_in], &device)
                .try_to_vec_as()
                .unwrap();
            let c: Vec<f32> = rng
                .normal([n * conv.positions() * conv.patch()], &device)
                .try_to_vec_as()
                .unwrap();
            let mut cols = vec![f32::NAN; c.len()];
            conv.im2col(&a, n, &mut cols);
            let mut back = vec![f32::NAN; a.len()];
            conv.col2im(&c, n, &mut back);
            let lhs: f64 = cols.iter().zip(&c).map(|(x, y)| (x * y) as f64).sum();
            let rhs: f64 = a.iter().zip(&back).map(|(x, y)| (x * y) as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
                "{lhs} vs {rhs}"
            );
        }
    }
}
