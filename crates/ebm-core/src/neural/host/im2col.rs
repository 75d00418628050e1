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

    /// Side of an input image with its padding, `side_in + 2 pad`.
    fn side_padded(&self) -> usize {
        self.side_in + 2 * self.pad
    }

    /// Values per padded input image (NHWC).
    fn padded_len(&self) -> usize {
        self.side_padded() * self.side_padded() * self.c_in
    }

    /// Offset in a padded image of the run read by kernel row `kh` at output `(oh, ow)`: the
    /// pixels `(oh s + kh, ow s .. ow s + k)` of all channels, contiguous in NHWC.
    fn run_start(&self, oh: usize, ow: usize, kh: usize) -> usize {
        ((oh * self.stride + kh) * self.side_padded() + ow * self.stride) * self.c_in
    }

    /// Copies `n` NHWC images `a` into `padded` with `pad` zeros on every side, so that every
    /// kernel row reads (and its adjoint writes) one run of `k * c_in` values without bounds
    /// checks. `(side_out - 1) stride + k <= side_in + 2 pad`, so every run lies inside. Only the
    /// border is zeroed: the rest is overwritten.
    fn pad_images(&self, a: &[f32], n: usize, padded: &mut Vec<f32>) {
        let (c, side, pad) = (self.c_in, self.side_in, self.pad);
        let padded_row = self.side_padded() * c;
        padded.resize(n * self.padded_len(), 0.0);
        for (image, dst) in a
            .chunks_exact(self.image_in())
            .zip(padded.chunks_exact_mut(self.padded_len()))
        {
            let (top, rest) = dst.split_at_mut(pad * padded_row);
            let (rows, bottom) = rest.split_at_mut(side * padded_row);
            top.fill(0.0);
            bottom.fill(0.0);
            for (dst, src) in rows
                .chunks_exact_mut(padded_row)
                .zip(image.chunks_exact(side * c))
            {
                let (left, rest) = dst.split_at_mut(pad * c);
                let (middle, right) = rest.split_at_mut(side * c);
                left.fill(0.0);
                middle.copy_from_slice(src);
                right.fill(0.0);
            }
        }
    }

    /// im2col of `n` NHWC images `a` into `cols` `[n * positions, patch]`, zero outside;
    /// `padded` is scratch. The callers size `a` (`n` images) and `cols` (`n * positions` rows)
    /// from the layer.
    pub(super) fn im2col(&self, a: &[f32], n: usize, padded: &mut Vec<f32>, cols: &mut [f32]) {
        self.pad_images(a, n, padded);
        // A run of 5 values (layer 1: k = 5, one channel) copied through a length known at
        // compile time is a few moves; through `copy_from_slice` of a run-time length it is a
        // call to `memcpy` per run.
        match self.kernel * self.c_in {
            5 => self.gather::<5>(padded, n, cols),
            _ => self.gather::<0>(padded, n, cols),
        }
    }

    /// The run length `k * c_in`: `RUN` when it is known at compile time, else read at run time.
    fn run_len<const RUN: usize>(&self) -> usize {
        if RUN == 0 {
            self.kernel * self.c_in
        } else {
            RUN
        }
    }

    /// The im2col copies from padded images; `RUN` is the run length `k * c_in`, or 0 to read it
    /// at run time.
    fn gather<const RUN: usize>(&self, padded: &[f32], n: usize, cols: &mut [f32]) {
        let run = self.run_len::<RUN>();
        let mut rows = cols.chunks_exact_mut(self.patch());
        for image in padded.chunks_exact(self.padded_len()).take(n) {
            for oh in 0..self.side_out {
                for (ow, dst) in (0..self.side_out).zip(&mut rows) {
                    for (kh, dst) in dst.chunks_exact_mut(run).enumerate() {
                        let from = self.run_start(oh, ow, kh);
                        dst.copy_from_slice(&image[from..from + run]);
                    }
                }
            }
        }
    }

    /// The adjoint of [`Self::im2col`]: adds every patch of `dcols` back onto `da` (which it
    /// overwrites); `padded` is scratch. Each value of `da` receives its terms in the same order
    /// as a scatter straight into `da` would, so the result is the same to the bit.
    pub(super) fn col2im(&self, dcols: &[f32], n: usize, padded: &mut Vec<f32>, da: &mut [f32]) {
        padded.clear();
        padded.resize(n * self.padded_len(), 0.0);
        match self.kernel * self.c_in {
            5 => self.scatter::<5>(dcols, n, padded),
            _ => self.scatter::<0>(dcols, n, padded),
        }
        let (c, side, sp, pad) = (self.c_in, self.side_in, self.side_padded(), self.pad);
        for (image, src) in da
            .chunks_exact_mut(self.image_in())
            .zip(padded.chunks_exact(self.padded_len()))
        {
            for (row, dst) in image.chunks_exact_mut(side * c).enumerate() {
                let from = ((row + pad) * sp + pad) * c;
                dst.copy_from_slice(&src[from..from + side * c]);
            }
        }
    }

    /// The col2im sums into padded images; `RUN` as in [`Self::gather`].
    fn scatter<const RUN: usize>(&self, dcols: &[f32], n: usize, padded: &mut [f32]) {
        let run = self.run_len::<RUN>();
        let mut rows = dcols.chunks_exact(self.patch());
        for image in padded.chunks_exact_mut(self.padded_len()).take(n) {
            for oh in 0..self.side_out {
                for (ow, src) in (0..self.side_out).zip(&mut rows) {
                    for (kh, src) in src.chunks_exact(run).enumerate() {
                        let from = self.run_start(oh, ow, kh);
                        for (d, s) in image[from..from + run].iter_mut().zip(src) {
                            *d += s;
                        }
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
            let mut padded = vec![f32::NAN; 3];
            let mut cols = vec![f32::NAN; c.len()];
            conv.im2col(&a, n, &mut padded, &mut cols);
            let mut back = vec![f32::NAN; a.len()];
            conv.col2im(&c, n, &mut padded, &mut back);
            let lhs: f64 = cols.iter().zip(&c).map(|(x, y)| (x * y) as f64).sum();
            let rhs: f64 = a.iter().zip(&back).map(|(x, y)| (x * y) as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0),
                "{lhs} vs {rhs}"
            );
        }
    }
}
