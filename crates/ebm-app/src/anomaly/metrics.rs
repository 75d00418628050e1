//! How well energies rank anomalies above normal rows: AUROC and AUPRC (average precision).

pub use crate::score::auroc;

/// AUROC and AUPRC of `energies` against the 0/1 `labels`, or `None` unless both classes are
/// present.
pub fn ranking(energies: &[f64], labels: &[u8]) -> Option<(f64, f64)> {
    let (normal, anomalies) = by_label(energies, labels);
    (!normal.is_empty() && !anomalies.is_empty()).then(|| {
        (
            auroc(&normal, &anomalies),
            average_precision(energies, labels),
        )
    })
}

/// The energies of the normal rows and of the anomalies, split by the 0/1 labels.
fn by_label(energies: &[f64], labels: &[u8]) -> (Vec<f64>, Vec<f64>) {
    let (mut normal, mut anomalies) = (Vec::new(), Vec::new());
    for (&e, &l) in energies.iter().zip(labels) {
        if l == 1 {
            anomalies.push(e);
        } else {
            normal.push(e);
        }
    }
    (normal, anomalies)
}

/// Average precision of "anomaly if the energy is high", as scikit-learn's
/// `average_precision_score` computes it: `sum_k (R_k - R_{k-1}) P_k` over the distinct
/// thresholds from the highest energy down, with tied energies entering together.
pub fn average_precision(energies: &[f64], labels: &[u8]) -> f64 {
    let positives = labels.iter().filter(|&&l| l == 1).count();
    if positives == 0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..energies.len()).collect();
    order.sort_by(|&a, &b| energies[b].total_cmp(&energies[a]));
    let (mut tp, mut seen, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && energies[order[j]] == energies[order[i]] {
            tp += usize::from(labels[order[j]] == 1);
            j += 1;
        }
        seen = j;
        let recall = tp as f64 / positives as f64;
        ap += (recall - last_recall) * tp as f64 / seen as f64;
        last_recall = recall;
        i = j;
    }
    debug_assert_eq!(seen, order.len());
    ap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_matches_scikit_learn() {
        // sklearn.metrics.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333...
        let ap = average_precision(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1]);
        assert!((ap - 0.833_333_333_333_333_4).abs() < 1e-12, "{ap}");
        // Perfect ranking, and the reversed one (1/2 * 1/3 + 1/2 * 2/4 = 1/6 + 1/4).
        assert_eq!(average_precision(&[1.0, 2.0, 3.0, 4.0], &[0, 0, 1, 1]), 1.0);
        let worst = average_precision(&[4.0, 3.0, 2.0, 1.0], &[0, 0, 1, 1]);
        assert!((worst - (1.0 / 6.0 + 0.25)).abs() < 1e-12, "{worst}");
        // All tied: the precision is the prevalence.
        assert_eq!(average_precision(&[1.0; 4], &[0, 0, 0, 1]), 0.25);
    }

    #[test]
    fn splits_by_label() {
        let (n, a) = by_label(&[1.0, 2.0, 3.0], &[0, 1, 0]);
        assert_eq!((n, a), (vec![1.0, 3.0], vec![2.0]));
        assert_eq!(ranking(&[1.0, 2.0, 3.0], &[0, 1, 0]), Some((0.5, 0.5)));
        assert_eq!(ranking(&[1.0, 2.0], &[0, 0]), None);
    }
}
