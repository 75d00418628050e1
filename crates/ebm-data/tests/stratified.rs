//! Stratified subsets and splits of the repository's MNIST subset, which is stored class by
//! class (400 zeros, then 400 ones, ...), so that any "first n" subset sees one or two classes.

use ebm_data::{ImageSet, LoadOptions, load_images, mnist_4k_dir, uniform_indices};

fn mnist() -> ImageSet {
    load_images(mnist_4k_dir(), &LoadOptions::grey()).expect("datasets/mnist-4k")
}

/// Per-class counts of `labels` (10 classes).
fn counts(labels: &[u8]) -> Vec<usize> {
    let mut c = vec![0; 10];
    for &l in labels {
        c[usize::from(l)] += 1;
    }
    c
}

/// Whether every class count is within `tol` of `expected`.
fn balanced(labels: &[u8], expected: usize, tol: usize) -> bool {
    counts(labels).iter().all(|&c| c.abs_diff(expected) <= tol)
}

#[test]
fn stratified_1000_has_100_of_each_digit_and_mixed_prefixes() {
    let set = mnist();
    let sub = set.stratified(1000, 7).unwrap();
    assert_eq!(
        (sub.n, sub.channels, sub.height, sub.width),
        (1000, 1, 28, 28)
    );
    let labels = sub.labels.clone().unwrap();
    // Exact: 1000 of 4000 is a quarter of each class's 400 (no rounding at all).
    assert_eq!(counts(&labels), [100; 10]);
    // Prefixes are stratified by construction: a prefix of length m holds m/10 of each class
    // to within 1 + K q_c / n = 2 (see `stratified_indices`).
    for m in [10, 50, 100, 250, 500] {
        assert!(
            balanced(&labels[..m], m / 10, 2),
            "prefix {m}: {:?}",
            counts(&labels[..m])
        );
    }
    // Negative control: the first 1000 images of the set fail the same checks.
    let first: Vec<u8> = set.labels.clone().unwrap()[..1000].to_vec();
    assert_eq!(counts(&first), [400, 400, 200, 0, 0, 0, 0, 0, 0, 0]);
    assert!(!balanced(&first, 100, 2));
    assert!(!balanced(&first[..100], 10, 2));
}

#[test]
fn stratified_is_seeded_and_its_images_come_with_their_labels() {
    let set = mnist();
    let a = set.stratified(1000, 7).unwrap();
    assert_eq!(a, set.stratified(1000, 7).unwrap());
    let b = set.stratified(1000, 8).unwrap();
    assert_ne!(a.images, b.images);
    assert_ne!(a.labels, b.labels, "the class order differs too");
    // Each chosen image is an image of the set with the same label, chosen once.
    let originals: std::collections::HashMap<Vec<u32>, (usize, u8)> = (0..set.n)
        .map(|i| {
            let bits = set.image(i).unwrap().iter().map(|v| v.to_bits()).collect();
            (bits, (i, set.label(i).unwrap()))
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for i in 0..a.n {
        let bits: Vec<u32> = a.image(i).unwrap().iter().map(|v| v.to_bits()).collect();
        let (orig, label) = originals[&bits];
        assert_eq!(a.label(i), Some(label));
        assert!(seen.insert(orig), "image {orig} chosen twice");
    }
    assert!(set.stratified(0, 7).is_err());
    assert!(set.stratified(4001, 7).is_err());
    assert_eq!(
        set.stratified(4000, 7).unwrap().label_counts(),
        Some(vec![400; 10])
    );
}

#[test]
fn few_images_still_cover_every_class() {
    let set = mnist();
    for seed in 0..5 {
        let sub = set.stratified(10, seed).unwrap();
        assert_eq!(sub.label_counts(), Some(vec![1; 10]), "seed {seed}");
        // 13 of 10 equal classes: 1 each and 3 remainders placed by the seed.
        let c = set.stratified(13, seed).unwrap().label_counts().unwrap();
        assert!(c.iter().all(|&k| k == 1 || k == 2) && c.iter().sum::<usize>() == 13);
    }
    let mut unlabelled = set.clone();
    unlabelled.labels = None;
    let u = unlabelled.stratified(5, 3).unwrap();
    assert_eq!((u.n, u.labels), (5, None));
    assert_eq!(unlabelled.stratified(5, 3).unwrap().images, u.images);
}

#[test]
fn split_holds_out_the_class_proportions() {
    let set = mnist();
    let (kept, held) = set.split(3, 0.25).unwrap();
    assert_eq!(held.label_counts(), Some(vec![100; 10]));
    assert_eq!(kept.label_counts(), Some(vec![300; 10]));
    assert_eq!(set.split(3, 0.25).unwrap().1, held);
    assert_ne!(set.split(4, 0.25).unwrap().1, held);
    // Negative control: an unstratified draw of 1000 (what `split` did before) misses the
    // exact proportions; a class count is hypergeometric with sd ~ 8.2, so P(all ten = 100) is
    // about (0.048)^10.
    let idx = uniform_indices(set.n, 1000, 3).unwrap();
    let labels = set.labels.clone().unwrap();
    let drawn: Vec<u8> = idx.iter().map(|&i| labels[i]).collect();
    assert_ne!(counts(&drawn), [100; 10]);
}
