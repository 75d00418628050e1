//! How far a classifier's confidence is from its accuracy: the expected calibration error.
//!
//! With `p(y | x) = softmax(f(x))_y`, the confidence of an item is `c = max_y p(y | x)` and its
//! prediction `argmax_y p(y | x)`. Items are put in `B` equal-width bins of confidence over
//! `[0, 1]`; the error is the item-weighted mean gap between each bin's accuracy and its mean
//! confidence (Guo et al. 2017):
//!
//! ```text
//! ECE = sum_b (|B_b| / n) |acc(B_b) - conf(B_b)|
//! ```
//!
//! 0 for a calibrated classifier; an over-confident one has `conf > acc` in its top bins.

use crate::neural::classify::argmax;

/// The softmax of a row of logits, computed stably (the row's maximum subtracted first).
pub fn softmax(row: &[f32]) -> Vec<f64> {
    let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exp: Vec<f64> = row.iter().map(|&v| (v as f64 - top).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// The largest softmax probability of a row of logits, `1 / sum_i exp(r_i - max r)`.
pub fn max_softmax(row: &[f32]) -> f64 {
    let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    1.0 / row.iter().map(|&v| (v as f64 - top).exp()).sum::<f64>()
}

/// The largest softmax probability of each row: the classifier's confidence.
pub fn confidences(logits: &[Vec<f32>]) -> Vec<f64> {
    logits.iter().map(|row| max_softmax(row)).collect()
}

/// The expected calibration error of `logits` (one row per item) against the true classes
/// `truth`, over `bins` equal-width confidence bins (15 is the usual choice). 0 for no items.
pub fn expected_calibration_error(logits: &[Vec<f32>], truth: &[usize], bins: usize) -> f64 {
    let bins = bins.max(1);
    let n = logits.len().min(truth.len());
    if n == 0 {
        return 0.0;
    }
    // Per bin: items, correct items, summed confidence.
    let mut tally = vec![(0usize, 0usize, 0.0f64); bins];
    for (row, &y) in logits.iter().zip(truth) {
        let conf = max_softmax(row);
        let b = ((conf * bins as f64) as usize).min(bins - 1);
        tally[b].0 += 1;
        tally[b].1 += usize::from(argmax(row) == y);
        tally[b].2 += conf;
    }
    // (|B| / n) |acc(B) - conf(B)| = |correct(B) - summed confidence(B)| / n.
    tally
        .iter()
        .map(|&(_, correct, conf)| (correct as f64 - conf).abs())
        .sum::<f64>()
        / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((p[0] - 0.5).abs() < 1e-12 && p[2] == 0.0);
    }

    #[test]
    fn calibrated_confidence_has_no_error_and_overconfidence_has_its_gap() {
        // Two classes, logits (l, 0) give confidence sigma(l). Confidence 0.75 on four items,
        // three right: calibrated. The same items at confidence ~1: the gap is 0.25.
        let l = 3.0f32.ln(); // sigma(ln 3) = 0.75
        let calibrated = vec![vec![l, 0.0]; 4];
        let truth = [0, 0, 0, 1];
        let ece = expected_calibration_error(&calibrated, &truth, 15);
        assert!(ece.abs() < 1e-6, "{ece}");
        let sure = vec![vec![30.0, 0.0]; 4];
        let ece = expected_calibration_error(&sure, &truth, 15);
        assert!((ece - 0.25).abs() < 1e-6, "{ece}");
        assert_eq!(expected_calibration_error(&[], &[], 15), 0.0);
    }
}
