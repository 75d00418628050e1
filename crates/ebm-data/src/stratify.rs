//! Seeded, stratified subsets and splits of a labelled set.
//!
//! A data set stored class by class (such as `datasets/mnist-4k`: 400 zeros, then 400 ones, ...)
//! gives one or two classes in any "first `n`" subset. [`stratified_indices`] draws `n` items
//! whose class counts follow the class frequencies, and orders them so that classes are mixed
//! all along (a prefix of the result is stratified too).
//!
//! Per-class counts are apportioned by the largest-remainder (Hamilton) method: class `c`, with
//! `N_c` of the `N` items, gets `floor(n N_c / N)`, and the items still missing go one each to
//! the classes with the largest remainders `n N_c mod N` (ties broken by the seed). When
//! `n >= K`, the number of classes present, a class left at zero takes one item from the class
//! most above its exact share `n N_c / N` (one that has at least two).

use rand::Rng;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::DataError;

/// `n` seeded, stratified indices into `labels` (see the module docs), in a class-mixing order.
///
/// Within each class the items are a uniform sample without replacement. The order puts the
/// `k`-th of the `q_c` items of class `c` at the key `(k + u) / q_c` with `u ~ U(0, 1)`, and sorts
/// by key. A prefix ending at key `t` then holds `t q_c` items of class `c` to within one, so a
/// prefix of length `m` holds `m q_c / n` of them to within `1 + K q_c / n` (`K` classes): within
/// two for balanced classes.
/// The same `seed` gives the same indices. Fails unless `1 <= n <= labels.len()`.
pub fn stratified_indices(labels: &[u8], n: usize, seed: u64) -> Result<Vec<usize>, DataError> {
    check_n(labels.len(), n)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let groups = class_groups(labels);
    let counts: Vec<usize> = groups.iter().map(Vec::len).collect();
    let quotas = at_least_one_each(&counts, apportion(&counts, n, &mut rng), n);
    let chosen: Vec<Vec<usize>> = groups
        .into_iter()
        .zip(&quotas)
        .map(|(mut members, &q)| {
            let (picked, _) = members.partial_shuffle(&mut rng, q);
            picked.to_vec()
        })
        .collect();
    Ok(mix_order(chosen, &mut rng))
}

/// `n` indices drawn uniformly without replacement from `0..len`, in a seeded random order.
///
/// Fails unless `1 <= n <= len`.
pub fn uniform_indices(len: usize, n: usize, seed: u64) -> Result<Vec<usize>, DataError> {
    check_n(len, n)?;
    let mut all: Vec<usize> = (0..len).collect();
    let (picked, _) = all.partial_shuffle(&mut ChaCha8Rng::seed_from_u64(seed), n);
    Ok(picked.to_vec())
}

/// A seeded, stratified split of a labelled set into `(train, test)` indices, each sorted:
/// `round(test_fraction * len)` items held out for the test part, every class in proportion
/// (largest-remainder apportionment), as ADBench's protocol splits 70/30.
///
/// Fails unless `0 < test_fraction < 1` and both parts get at least one item.
pub fn stratified_split(
    labels: &[u8],
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), DataError> {
    let len = labels.len();
    let held = (test_fraction * len as f64).round() as usize;
    if !(test_fraction > 0.0 && test_fraction < 1.0) || held == 0 || held >= len {
        return Err(DataError::InvalidArgument(format!(
            "cannot hold out a fraction {test_fraction} of {len} items; need 0 < fraction < 1 \
             and at least one item in each part"
        )));
    }
    Ok(split_indices(Some(labels), len, held, seed))
}

/// Splits `0..len` into `(kept, held)` with `held` items held out, each part sorted.
///
/// With labels (one per item) the held-out part is drawn class by class, its class counts
/// apportioned by largest remainder (without the at-least-one rule); without, it is the first
/// `held` of a seeded permutation. Expects `held <= len`.
pub(crate) fn split_indices(
    labels: Option<&[u8]>,
    len: usize,
    held: usize,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut held_idx = Vec::with_capacity(held);
    let mut kept_idx = Vec::with_capacity(len.saturating_sub(held));
    match labels {
        None => {
            let mut order: Vec<usize> = (0..len).collect();
            order.shuffle(&mut rng);
            let (h, k) = order.split_at(held.min(len));
            held_idx.extend_from_slice(h);
            kept_idx.extend_from_slice(k);
        }
        Some(labels) => {
            let groups = class_groups(labels);
            let counts: Vec<usize> = groups.iter().map(Vec::len).collect();
            let quotas = apportion(&counts, held, &mut rng);
            for (mut members, q) in groups.into_iter().zip(quotas) {
                members.shuffle(&mut rng);
                let (h, k) = members.split_at(q.min(members.len()));
                held_idx.extend_from_slice(h);
                kept_idx.extend_from_slice(k);
            }
        }
    }
    held_idx.sort_unstable();
    kept_idx.sort_unstable();
    (kept_idx, held_idx)
}

fn check_n(len: usize, n: usize) -> Result<(), DataError> {
    if n == 0 || n > len {
        return Err(DataError::InvalidArgument(format!(
            "cannot draw {n} items from a set of {len}; need 1 <= n <= {len}"
        )));
    }
    Ok(())
}

/// The indices of each class present, in label order (classes without items are left out).
fn class_groups(labels: &[u8]) -> Vec<Vec<usize>> {
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for (i, &l) in labels.iter().enumerate() {
        by_label[usize::from(l)].push(i);
    }
    by_label.retain(|g| !g.is_empty());
    by_label
}

/// Largest-remainder apportionment of `n <= sum(counts)` items proportionally to `counts`; ties
/// between equal remainders are broken in a seeded random order.
fn apportion(counts: &[usize], n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let total: u128 = counts.iter().map(|&c| c as u128).sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let share = |c: usize| (n as u128 * c as u128 / total, n as u128 * c as u128 % total);
    // Floors are at most `counts[c]` because `n <= total`.
    let mut quotas: Vec<usize> = counts.iter().map(|&c| share(c).0 as usize).collect();
    let missing = n.saturating_sub(quotas.iter().sum());
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.shuffle(rng);
    // A stable sort keeps the shuffled order among equal remainders.
    order.sort_by(|&a, &b| share(counts[b]).1.cmp(&share(counts[a]).1));
    for &c in order.iter().take(missing) {
        quotas[c] += 1;
    }
    quotas
}

/// Moves single items so that no class is left at zero, when `n` is at least the number of
/// classes: each empty class takes one from the class most above its exact share `n N_c / N`.
fn at_least_one_each(counts: &[usize], mut quotas: Vec<usize>, n: usize) -> Vec<usize> {
    if n < counts.len() {
        return quotas;
    }
    let total: i128 = counts.iter().map(|&c| c as i128).sum();
    // Excess over the exact share, times `total`: `q_c N - n N_c`.
    let excess = |q: usize, c: usize| q as i128 * total - n as i128 * c as i128;
    while let Some(empty) = quotas.iter().position(|&q| q == 0) {
        let donor = (0..counts.len())
            .filter(|&c| quotas[c] >= 2)
            .max_by(|&a, &b| {
                excess(quotas[a], counts[a])
                    .cmp(&excess(quotas[b], counts[b]))
                    .then(b.cmp(&a))
            });
        // With `n >= K` items and one class at zero, some class has at least two.
        let Some(donor) = donor else { break };
        quotas[donor] -= 1;
        quotas[empty] += 1;
    }
    quotas
}

/// Interleaves the groups: the `k`-th of the `q` items of a group gets key `(k + u) / q`, with
/// `u ~ U(0, 1)`, and all items are sorted by key (ties by group, then position).
fn mix_order(groups: Vec<Vec<usize>>, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut keyed: Vec<(f64, usize, usize, usize)> = Vec::new();
    for (g, members) in groups.into_iter().enumerate() {
        let q = members.len() as f64;
        for (k, idx) in members.into_iter().enumerate() {
            let u: f64 = rng.random();
            keyed.push(((k as f64 + u) / q, g, k, idx));
        }
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    keyed.into_iter().map(|(_, _, _, idx)| idx).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_counts(labels: &[u8], idx: &[usize]) -> Vec<usize> {
        let mut counts = vec![0; 256];
        for &i in idx {
            counts[usize::from(labels[i])] += 1;
        }
        counts
    }

    #[test]
    fn apportion_is_largest_remainder_and_sums_to_n() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        // Shares of 10 among 5, 3, 2 (total 10): exact.
        assert_eq!(apportion(&[5, 3, 2], 10, &mut rng), [5, 3, 2]);
        // 7 among 6, 3, 1: exact 4.2, 2.1, 0.7 -> floors 4, 2, 0, remainder to the third.
        assert_eq!(apportion(&[6, 3, 1], 7, &mut rng), [4, 2, 1]);
        // 3 among 1, 98, 1: exact 0.03, 2.94, 0.03 -> 0, 3, 0; the rule then gives one each.
        let q = apportion(&[1, 98, 1], 3, &mut rng);
        assert_eq!(q, [0, 3, 0]);
        assert_eq!(at_least_one_each(&[1, 98, 1], q, 3), [1, 1, 1]);
    }

    #[test]
    fn every_class_appears_once_n_reaches_the_class_count() {
        // 1 item of class 0, 50 of class 1, 2 of class 7.
        let labels: Vec<u8> = [vec![0], vec![1; 50], vec![7; 2]].concat();
        for seed in 0..20 {
            let idx = stratified_indices(&labels, 3, seed).unwrap();
            let c = class_counts(&labels, &idx);
            assert_eq!((c[0], c[1], c[7]), (1, 1, 1), "seed {seed}");
        }
        // Fewer draws than classes: a plain largest-remainder share, all from class 1.
        let idx = stratified_indices(&labels, 2, 0).unwrap();
        assert_eq!(class_counts(&labels, &idx)[1], 2);
        assert!(stratified_indices(&labels, 0, 0).is_err());
        assert!(stratified_indices(&labels, 54, 0).is_err());
        let all = stratified_indices(&labels, 53, 0).unwrap();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..53).collect::<Vec<_>>());
    }

    #[test]
    fn uniform_indices_are_distinct_and_seeded() {
        let a = uniform_indices(100, 10, 3).unwrap();
        assert_eq!(a, uniform_indices(100, 10, 3).unwrap());
        assert_ne!(a, uniform_indices(100, 10, 4).unwrap());
        let mut s = a.clone();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 10);
        assert!(uniform_indices(3, 4, 0).is_err());
    }

    #[test]
    fn split_holds_out_the_class_proportions() {
        let labels: Vec<u8> = [vec![0; 60], vec![1; 30], vec![2; 10]].concat();
        let (kept, held) = split_indices(Some(&labels), 100, 20, 5);
        assert_eq!(class_counts(&labels, &held)[..3], [12, 6, 2]);
        assert_eq!(class_counts(&labels, &kept)[..3], [48, 24, 8]);
    }
}
