//! burn's parameter layouts to and from the host kernels' (GEMM-ready, NHWC), and the NCHW <->
//! NHWC transpose of images.

use burn::module::Param;
use burn::tensor::Tensor;

use super::{HostCnn, HostConv, NAME};
use crate::error::EnergyError;
use crate::neural::CnnEnergy;
use crate::neural::backbone::LAYERS;

/// Reads a tensor's values to the host as `f32`; `what` names it in the error.
pub(super) fn read<const D: usize>(what: &str, t: Tensor<D>) -> Result<Vec<f32>, EnergyError> {
    t.try_to_vec_as::<f32>()
        .map_err(|err| EnergyError::read_back(what, err))
}

/// A convolution weight between burn's `[c_out, c_in, k, k]` and the GEMM layout
/// `[k * k * c_in, c_out]` (`to_gemm`), or back; `taps = k * k`.
pub(super) fn permute_conv(
    w: &[f32],
    c_out: usize,
    c_in: usize,
    taps: usize,
    to_gemm: bool,
) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for o in 0..c_out {
        for c in 0..c_in {
            for kk in 0..taps {
                let (burn, gemm) = ((o * c_in + c) * taps + kk, (kk * c_in + c) * c_out + o);
                if to_gemm {
                    out[gemm] = w[burn];
                } else {
                    out[burn] = w[gemm];
                }
            }
        }
    }
    out
}

/// The rows of a `[channels * pixels, width]` matrix between the NCHW flattening order of a
/// feature map (row `c * pixels + p`, burn's) and the NHWC one (row `p * channels + c`), in the
/// direction `to_nhwc`.
pub(super) fn permute_rows(
    w: &[f32],
    channels: usize,
    pixels: usize,
    width: usize,
    to_nhwc: bool,
) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for c in 0..channels {
        for p in 0..pixels {
            let (nchw, nhwc) = ((c * pixels + p) * width, (p * channels + c) * width);
            let (to, from) = if to_nhwc { (nhwc, nchw) } else { (nchw, nhwc) };
            out[to..to + width].copy_from_slice(&w[from..from + width]);
        }
    }
    out
}

/// Copies `n` images between NCHW (`from` when `!to_nchw`) and NHWC layouts; a plain copy for one
/// channel.
pub(super) fn transpose_channels(
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

/// A bias's values, or `n` zeros where the layer has none.
pub(super) fn bias_or_zero(
    bias: &Option<Param<Tensor<1>>>,
    n: usize,
) -> Result<Vec<f32>, EnergyError> {
    match bias {
        Some(b) => read("a bias", b.val()),
        None => Ok(vec![0.0; n]),
    }
}

impl HostCnn {
    /// Copies the parameters of `model` to the host, converting burn's layouts: convolution
    /// weights `[c_out, c_in, k, k]` to `[k * k * c_in, c_out]`, and the hidden linear's rows
    /// from the NCHW flattening order to NHWC.
    ///
    /// Fails with [`EnergyError::ReadBack`] if a parameter cannot be read, and with
    /// [`EnergyError::InvalidParameter`] if the hidden linear does not fit the last feature map.
    pub fn from_model(model: &CnnEnergy) -> Result<Self, EnergyError> {
        let mut side = model.image_size;
        let mut convs = Vec::with_capacity(model.convs.len());
        for (conv, &(kernel, stride, pad)) in model.convs.iter().zip(LAYERS.iter()) {
            let [c_out, c_in, _, _] = conv.weight.dims();
            let w = read("CNN energy: a convolution weight", conv.weight.val())?;
            let side_out = (side + 2 * pad).saturating_sub(kernel) / stride + 1;
            convs.push(HostConv {
                kernel,
                stride,
                pad,
                c_in,
                c_out,
                side_in: side,
                side_out,
                weight: permute_conv(&w, c_out, c_in, kernel * kernel, true),
                bias: bias_or_zero(&conv.bias, c_out)?,
            });
            side = side_out;
        }
        let last = convs.last().map_or(model.channels, |c| c.c_out);
        let pixels = side * side;
        let [features, hidden] = model.hidden.weight.dims();
        if features != last * pixels {
            return Err(EnergyError::InvalidParameter {
                energy: NAME.to_string(),
                parameter: "hidden.weight".into(),
                reason: format!(
                    "has {features} input features, the last feature map {last}x{side}x{side}"
                ),
            });
        }
        let w = read("CNN energy: the hidden weight", model.hidden.weight.val())?;
        Ok(Self {
            channels: model.channels,
            image_size: model.image_size,
            convs,
            hidden_w: permute_rows(&w, last, pixels, hidden, true),
            hidden_b: bias_or_zero(&model.hidden.bias, hidden)?,
            out_w: read("CNN energy: the output weight", model.output.weight.val())?,
            out_b: bias_or_zero(&model.output.bias, 1)?[0],
        })
    }
}
