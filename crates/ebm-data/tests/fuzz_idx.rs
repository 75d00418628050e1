//! Fuzzing the IDX reader: arbitrary bytes, raw and gzipped, and mutations of a valid small
//! file (flipped bytes, truncations, huge declared dimensions), read from memory and from files.
//! No input may panic, every error names its file, and memory stays bounded: this test binary
//! counts the bytes each thread allocates, so a reader that trusted a header announcing
//! `2^31 x 2^31` images would fail here (or abort) instead of passing.

mod common;

use std::cell::Cell;
use std::path::Path;

use common::meter::{Meter, peak_during};
use common::{Mutation, config, edgy_u32, gzip, mutate, mutation, rewrite};
use ebm_data::idx::{parse_idx_images, parse_idx_labels};
use ebm_data::{DataError, LoadOptions, load_images};
use proptest::collection::vec;
use proptest::prelude::*;

#[global_allocator]
static METER: Meter = Meter;

const ORIGIN: &str = "fuzz-input.idx";

fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
    std::iter::once(magic)
        .chain(dims.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect()
}

/// A valid IDX images file: 3 images of 2x3.
fn base_images() -> Vec<u8> {
    let mut b = header(2051, &[3, 2, 3]);
    b.extend((0..18u8).map(|i| i.wrapping_mul(37)));
    b
}

/// A valid IDX labels file: 3 labels.
fn base_labels() -> Vec<u8> {
    let mut b = header(2049, &[3]);
    b.extend([7, 0, 3]);
    b
}

/// Parses `bytes` as images and as labels; checks that nothing panicked (by returning), that
/// errors name the origin, that a success is consistent, and returns the peak bytes allocated.
fn parse_both(bytes: &[u8]) -> usize {
    let origin = Path::new(ORIGIN);
    let ((images, labels), peak) = peak_during(|| {
        (
            parse_idx_images(bytes, origin),
            parse_idx_labels(bytes, origin),
        )
    });
    match images {
        Ok(i) => {
            assert!(i.n > 0 && i.rows > 0 && i.cols > 0);
            assert_eq!(i.pixels.len(), i.n * i.rows * i.cols);
        }
        Err(e) => assert!(e.to_string().contains(ORIGIN), "{e}"),
    }
    if let Err(e) = labels {
        assert!(e.to_string().contains(ORIGIN), "{e}");
    }
    peak
}

/// The most a parse of `bytes` may allocate: the data copied out of a raw file, or for a gzip
/// stream what it can decompress to (deflate expands at most 1032:1), both with room for a
/// `Vec` that doubles as it grows, plus 256 KiB for the decoder's buffers (a 32 KiB input
/// buffer, a 32 KiB window, the inflate state) and the error message.
fn allowed(bytes: &[u8]) -> usize {
    let content = if bytes.starts_with(&[0x1f, 0x8b]) {
        1032 * bytes.len()
    } else {
        bytes.len()
    };
    2 * 2 * content + (256 << 10)
}

/// Arbitrary bytes, often behind a real IDX or gzip prefix or as a header of edgy dimensions.
fn arbitrary_input() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(vec![]),
        Just(vec![0, 0, 8, 3]),
        Just(vec![0, 0, 8, 1]),
        Just(vec![0, 0, 0x0D, 3]),
        Just(vec![0x1f, 0x8b]),
        Just(vec![0x1f, 0x8b, 8, 0]),
    ];
    let loose = (prefix, vec(any::<u8>(), 0..96)).prop_map(|(p, rest)| [p, rest].concat());
    let magic = prop_oneof![Just(2051u32), Just(2049), Just(2048 + 3), any::<u32>()];
    let structured = (magic, vec(edgy_u32(), 0..5), vec(any::<u8>(), 0..64))
        .prop_map(|(m, dims, data)| [header(m, &dims), data].concat());
    (prop_oneof![loose, structured], any::<bool>())
        .prop_map(|(b, gz)| if gz { gzip(&b) } else { b })
}

proptest! {
    #![proptest_config(config(10_000, 0x1D_0001))]

    /// Arbitrary bytes (half of them gzipped): no panic, errors name the input, memory bounded.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in arbitrary_input()) {
        let peak = parse_both(&bytes);
        prop_assert!(peak <= allowed(&bytes), "{peak} bytes for an input of {}", bytes.len());
    }
}

/// Up to four mutations of a valid images or labels file; the header's words (magic, dims)
/// are favoured targets of [`Mutation::Word`].
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    vec(mutation(vec![0, 4, 8, 12]), 1..5).prop_map(move |m| mutate(&base, &m))
}

/// A mutated file, then maybe gzipped, then maybe its gzip stream mutated too.
fn mutated_maybe_gzipped() -> impl Strategy<Value = Vec<u8>> {
    let raw = prop_oneof![mutated(base_images()), mutated(base_labels())];
    (raw, any::<bool>(), vec(mutation(vec![4]), 0..3)).prop_map(|(raw, gz, gz_muts)| {
        if gz {
            mutate(&gzip(&raw), &gz_muts)
        } else {
            raw
        }
    })
}

/// Mutations of a valid file, raw and gzipped: no panic, errors name it, memory bounded. The
/// fuzz is not vacuous: at least 2% of the cases parse as images or labels and at least a
/// tenth fail both (counted over the run).
#[test]
fn mutated_files_never_panic() {
    let (parsed, rejected) = (Cell::new(0u32), Cell::new(0u32));
    let mut runner = proptest::test_runner::TestRunner::new(config(10_000, 0x1D_0002));
    let result = runner.run(&mutated_maybe_gzipped(), |bytes| {
        let peak = parse_both(&bytes);
        let origin = Path::new(ORIGIN);
        if parse_idx_images(&bytes, origin).is_ok() || parse_idx_labels(&bytes, origin).is_ok() {
            parsed.set(parsed.get() + 1);
        } else {
            rejected.set(rejected.get() + 1);
        }
        prop_assert!(
            peak <= allowed(&bytes),
            "{} bytes for an input of {}",
            peak,
            bytes.len()
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (parsed, rejected) = (parsed.get(), rejected.get());
    eprintln!("{parsed} parsed, {rejected} rejected");
    assert!(
        parsed >= 200 && rejected >= 1_000,
        "{parsed} parsed, {rejected} rejected"
    );
}

/// The options a loaded file is read with: grey, RGB, and both resized.
fn options(which: usize) -> LoadOptions {
    match which % 4 {
        0 => LoadOptions::grey(),
        1 => LoadOptions::rgb(),
        2 => LoadOptions::grey().with_size(3, 2),
        _ => LoadOptions::rgb().with_size(1, 1),
    }
}

/// A mutated images file and its mutated labels file beside it (or none), each maybe gzipped,
/// read by `load_images` from disk with the four kinds of options: no panic, errors name a
/// file. One folder serves every case, its files overwritten.
#[test]
fn mutated_files_on_disk_never_panic() {
    let dir = tempfile::TempDir::new().expect("a temporary folder");
    let images_path = dir.path().join("case-images-idx3-ubyte");
    let labels_path = dir.path().join("case-labels-idx1-ubyte");
    let labels = prop_oneof![Just(None), mutated_maybe_gzipped().prop_map(Some)];
    let mut runner = proptest::test_runner::TestRunner::new(config(10_000, 0x1D_0003));
    let result = runner.run(
        &(mutated_maybe_gzipped(), labels, 0usize..4),
        |(images, labels, which)| {
            rewrite(&images_path, &images);
            match &labels {
                Some(l) => rewrite(&labels_path, l),
                None => {
                    let _ = std::fs::remove_file(&labels_path);
                }
            }
            match load_images(&images_path, &options(which)) {
                Ok(set) => {
                    prop_assert_eq!(set.images.len(), set.n * set.image_len());
                    prop_assert_eq!(set.labels.is_some(), labels.is_some());
                }
                Err(e) => {
                    let msg = e.to_string();
                    let named = msg.contains("case-images") || msg.contains("case-labels");
                    prop_assert!(named, "{}", msg);
                }
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn huge_declared_sizes_allocate_nothing_of_that_size() {
    // 2^31 images of 2^31 x 1: 2^62 bytes announced, 16 present.
    let raw = header(2051, &[1 << 31, 1 << 31, 1]);
    let (e, peak) = peak_during(|| parse_idx_images(&raw, Path::new(ORIGIN)).unwrap_err());
    assert!(
        matches!(e, DataError::Truncated { expected, found: 16, decompressed: false, .. }
            if expected == (1 << 62) + 16),
        "{e:?}"
    );
    assert!(peak < 64 << 10, "{peak} bytes");

    // The same gzipped: the decompression stops at what the stream holds.
    let gz = gzip(&raw);
    let (e, peak) = peak_during(|| parse_idx_images(&gz, Path::new(ORIGIN)).unwrap_err());
    assert!(
        matches!(
            e,
            DataError::Truncated {
                found: 16,
                decompressed: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(peak < 256 << 10, "{peak} bytes");

    // Dimensions whose product overflows: an error, not a wrap.
    let e = parse_idx_images(&header(2051, &[u32::MAX; 3]), Path::new(ORIGIN)).unwrap_err();
    assert!(
        e.to_string().contains("too large") && e.to_string().contains(ORIGIN),
        "{e}"
    );
}

#[test]
fn a_gzip_bomb_behind_a_small_header_is_not_decompressed() {
    // The header announces one 1x1 image (17 bytes); the stream holds 64 MiB more of zeros.
    let mut content = header(2051, &[1, 1, 1]);
    content.push(0);
    content.resize(content.len() + (64 << 20), 0);
    let bomb = gzip(&content);
    drop(content);
    let (e, peak) = peak_during(|| parse_idx_images(&bomb, Path::new(ORIGIN)).unwrap_err());
    assert!(
        matches!(&e, DataError::Malformed { reason, .. } if reason.contains("more than the 17 bytes")),
        "{e:?}"
    );
    assert!(
        peak < 256 << 10,
        "{peak} bytes for a stream of {} bytes",
        bomb.len()
    );

    // Negative control: the meter sees an allocation of that size, so the bound can fail.
    let (v, peak) = peak_during(|| vec![1u8; 64 << 20]);
    assert!(peak >= 64 << 20 && v.len() == 64 << 20);
}

#[test]
fn gzip_errors_keep_their_kind() {
    let origin = Path::new(ORIGIN);
    let gz = gzip(&base_images());
    assert_eq!(parse_idx_images(&gz, origin).unwrap().pixels.len(), 18);
    // Content whole, trailer (CRC and length) missing.
    let e = parse_idx_images(&gz[..gz.len() - 8], origin).unwrap_err();
    assert!(e.to_string().contains("checksum are missing"), "{e}");
    // A flipped CRC byte: corrupt.
    let mut bad = gz.clone();
    let at = bad.len() - 6;
    bad[at] ^= 1;
    let e = parse_idx_images(&bad, origin).unwrap_err();
    assert!(e.to_string().contains("corrupt gzip"), "{e}");
    // Cut inside the header: truncated once decompressed.
    let e = parse_idx_images(&gzip(&base_images()[..10]), origin).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Truncated {
                expected: 16,
                found: 10,
                decompressed: true,
                ..
            }
        ),
        "{e:?}"
    );
    // A mutation that cannot apply (out of range word) leaves the file unchanged.
    assert_eq!(
        mutate(&base_labels(), &[Mutation::Word(12, 5)]),
        base_labels()
    );
}

#[test]
fn an_absurd_requested_size_is_an_error_not_an_overflow() {
    // Before: `(width * height) as usize` in u32 overflowed (a panic in debug builds).
    let dir = tempfile::TempDir::new().expect("a temporary folder");
    let mut bytes = header(2051, &[2, 1, 1]);
    bytes.extend([0, 255]);
    let path = dir.path().join("two-images-idx3-ubyte");
    std::fs::write(&path, &bytes).expect("writing the file");
    let options = LoadOptions::grey().with_size(u32::MAX, u32::MAX);
    let e = load_images(&path, &options).unwrap_err();
    assert!(matches!(e, DataError::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains("4294967295x4294967295"), "{e}");
}
