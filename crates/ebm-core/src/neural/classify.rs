//! Classification by energy: `y(x) = argmin_y E(x, y) = argmax_y f_y(x)`, its accuracy, and the
//! network's features of images (for judging samples).

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::EnergyError;
use crate::neural::conditional::ConditionalNet;

/// Images in batches of this many.
const BATCH: usize = 256;

/// The logits `f(x)` of host images `[n, c, h, w]` (`images.len() = n * c * h * w`), batch by
/// batch, as host rows of `K` values.
pub fn logits(
    net: &ConditionalNet,
    images: &[f32],
    dims: [usize; 4],
    device: &Device,
) -> Result<Vec<Vec<f32>>, EnergyError> {
    rows_by_batch("logits", images, dims, net, device, |x| net.logits(x))
}

/// The features of host images `[n, c, h, w]` (the activations the network's last layer reads,
/// [`CnnBackbone::features`](crate::neural::CnnBackbone::features)), batch by batch,
/// as host rows.
pub fn features(
    net: &ConditionalNet,
    images: &[f32],
    dims: [usize; 4],
    device: &Device,
) -> Result<Vec<Vec<f32>>, EnergyError> {
    rows_by_batch("features", images, dims, net, device, |x| {
        net.backbone.features(x)
    })
}

/// `f` of host images in batches of [`BATCH`], read back as host rows; errors name `what`.
fn rows_by_batch(
    what: &str,
    images: &[f32],
    dims: [usize; 4],
    net: &ConditionalNet,
    device: &Device,
    f: impl Fn(Tensor<4>) -> Tensor<2>,
) -> Result<Vec<Vec<f32>>, EnergyError> {
    let [n, c, h, w] = dims;
    let item = c * h * w;
    let energy = format!("classification by energy ({what})");
    if images.len() != n * item {
        return Err(EnergyError::Shape {
            energy,
            expected: format!("{} values for {n} images of {c}x{h}x{w}", n * item),
            got: vec![images.len()],
        });
    }
    net.backbone.check_input(&energy, dims)?;
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(BATCH) {
        let m = (n - start).min(BATCH);
        let x = Tensor::<4>::from_data(
            TensorData::new(
                images[start * item..(start + m) * item].to_vec(),
                [m, c, h, w],
            ),
            device,
        );
        let y = f(x);
        let width = y.dims()[1];
        let v = y
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| EnergyError::NonFinite {
                what: format!("{energy}: values unreadable ({e:?})"),
                index: start,
                value: f64::NAN,
            })?;
        out.extend(v.chunks(width).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// `argmin_y E(x, y)` for every image: the class of lowest energy (highest logit).
pub fn classify(
    net: &ConditionalNet,
    images: &[f32],
    dims: [usize; 4],
    device: &Device,
) -> Result<Vec<usize>, EnergyError> {
    Ok(logits(net, images, dims, device)?
        .iter()
        .map(|row| argmax(row))
        .collect())
}

/// The index of the largest value (the first on ties; NaN never wins).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] || row[best].is_nan() {
            best = i;
        }
    }
    best
}

/// The fraction of `predicted` equal to `truth` (0 for no items).
pub fn accuracy(predicted: &[usize], truth: &[usize]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    predicted.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64
}

/// The `K x K` confusion counts: `m[t][p]` items of true class `t` predicted as `p`.
pub fn confusion(predicted: &[usize], truth: &[usize], k: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; k]; k];
    for (&p, &t) in predicted.iter().zip(truth) {
        if p < k && t < k {
            m[t][p] += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_accuracy_confusion() {
        assert_eq!(argmax(&[0.1, 3.0, -1.0, 3.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 1.0]), 1);
        assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2]), 0.75);
        assert_eq!(accuracy(&[], &[]), 0.0);
        assert_eq!(
            confusion(&[0, 1, 1], &[0, 0, 1], 2),
            vec![vec![1, 1], vec![0, 1]]
        );
    }
}
