//! The order in which the loop visits the data: a seeded permutation per epoch.

use ebm_core::SeededRng;

/// The order of `n` items in `epoch` (0-based): a Fisher-Yates permutation drawn from a stream
/// seeded with the run seed mixed with the epoch.
///
/// It depends on nothing but `(n, seed, epoch)`, so a resumed run sees exactly the batches of an
/// uninterrupted one without saving any shuffling state. Epoch `e` uses the seed
/// `seed ^ (0x9e3779b97f4a7c15 * (e + 1))` (the golden-ratio constant keeps neighbouring
/// epochs' streams unrelated).
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = SeededRng::new(seed ^ 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(epoch as u64 + 1));
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.uniform_f64() * (i + 1) as f64) as usize;
        order.swap(i, j.min(i));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permutation_that_depends_on_seed_and_epoch_only() {
        let a = epoch_order(100, 7, 3);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(100, 7, 3));
        assert_ne!(a, epoch_order(100, 7, 4));
        assert_ne!(a, epoch_order(100, 8, 3));
        assert!(epoch_order(0, 1, 0).is_empty());
    }
}
