//! One convolution in GEMM layout: im2col and its adjoint col2im on NHWC images.

/// One convolution in GEMM layout.
#[derive(Debug, Clone)]
pub(super) struct HostConv {
    pub(super) kernel: usize,
    pub(super) stride: usize,
    pub(super) pad: usize,
    pub(super) c_in: usize,
    pub(super) c_out: usize,
    /// Input side (square feature maps).
    pub(super) side_in: usize,
    /// Output side.
    pub(super) side_out: usize,
    /// `[k * k * c_in, c_out]`, row `(kh * k + kw) * c_in + c`.
    pub(super) weight: Vec<f32>,
    /// `[c_out]`.
    pub(super) bias: Vec<f32>,
}

impl HostConv {
    /// Columns of the im2col matrix: one patch, `k * k * c_in` values.
    pub(super) fn patch(&self) -> usize {
        self.kernel * self.kernel * self.c_in
    }

    /// Output positions per image.
    pub(super) fn positions(&self) -> usize {
        self.side_out * self.side_out
    }

    /// Values per input image (NHWC).
    pub(super) fn image_in(&self) -> usize {
        self.side_in * self.side_in * self.c_in
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
    /// the kernel is one copy. The callers size `a` (`n` images) and `cols` (`n * positions`
    /// rows) from the layer.
    pub(super) fn im2col(&self, a: &[f32], n: usize, cols: &mut [f32]) {
        let (c, k, side) = (self.c_in, self.kernel, self.side_in);
        let image_len = self.image_in();
        for ((b, oh, ow), dst) in self.outputs(n).zip(cols.chunks_exact_mut(self.patch())) {
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
    pub(super) fn col2im(&self, dcols: &[f32], n: usize, da: &mut [f32]) {
        da.fill(0.0);
        let (c, k, side) = (self.c_in, self.kernel, self.side_in);
        let image_len = self.image_in();
        for ((b, oh, ow), src) in self.outputs(n).zip(dcols.chunks_exact(self.patch())) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRng;
    use burn::tensor::Device;

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
