//! The `.npy` / `.npz` reader: the real ADBench file, every dtype and byte order, typed errors
//! naming the file, and a fuzz of arbitrary and mutated bytes (10,000 seeded cases each: no
//! panic, errors name the input, and memory bounded by what the input justifies, measured by an
//! allocator that counts this thread's bytes).

mod common;

use std::io::Write;
use std::path::Path;

use common::meter::{Meter, peak_during};
use common::{config, mutate, mutation};
use ebm_data::{DataError, parse_npy, parse_npz, read_npz};
use proptest::collection::vec;
use proptest::prelude::*;

#[global_allocator]
static METER: Meter = Meter;

const ORIGIN: &str = "fuzz-input.npz";

/// An `.npy` file (version 1) with this dtype, shape text and data.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((dict.len() as u16).to_le_bytes());
    b.extend(dict.as_bytes());
    b.extend(data);
    b
}

/// A zip archive of `(name, content)` members, deflated or stored.
fn zip(members: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let (mut out, mut cd) = (Vec::new(), Vec::new());
    for (name, content) in members {
        let data = if deflate {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(content).unwrap();
            e.finish().unwrap()
        } else {
            content.clone()
        };
        let method: u16 = if deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let common = |b: &mut Vec<u8>| {
            b.extend(20u16.to_le_bytes());
            b.extend(0u16.to_le_bytes());
            b.extend(method.to_le_bytes());
            b.extend([0u8; 8]);
            b.extend((data.len() as u32).to_le_bytes());
            b.extend((content.len() as u32).to_le_bytes());
            b.extend((name.len() as u16).to_le_bytes());
            b.extend(0u16.to_le_bytes());
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend(name.as_bytes());
        out.extend(&data);
        cd.extend(0x0201_4b50u32.to_le_bytes());
        cd.extend(20u16.to_le_bytes());
        common(&mut cd);
        cd.extend([0u8; 10]);
        cd.extend(offset.to_le_bytes());
        cd.extend(name.as_bytes());
    }
    let cd_start = out.len() as u32;
    out.extend(&cd);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((cd.len() as u32).to_le_bytes());
    out.extend(cd_start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[test]
fn reads_the_adbench_thyroid_set() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/adbench/38_thyroid.npz");
    let z = read_npz(&path).unwrap();
    let x = z.get("X").unwrap();
    let y = z.get("y").unwrap();
    assert_eq!(x.shape, vec![3772, 6]);
    assert_eq!(y.shape, vec![3772]);
    assert_eq!(y.data.iter().sum::<f64>(), 93.0);
    // Values from numpy: X[0], X[-1] and the sum of X.
    assert_eq!(x.data[0], 0.774193548387);
    assert_eq!(x.data[5], 0.23606557377);
    assert_eq!(x.data[3772 * 6 - 6], 0.483870967742);
    assert!((x.data.iter().sum::<f64>() - 5814.554025547037).abs() < 1e-9);
    let err = z.get("Z").unwrap_err().to_string();
    assert!(
        err.contains("38_thyroid.npz") && err.contains("`Z`") && err.contains("X, y"),
        "{err}"
    );
}

#[test]
fn every_dtype_and_byte_order_and_the_typed_errors() {
    let p = Path::new("t.npy");
    let want = [1.0, -2.0, 3.0, 4.0];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "<f8",
            want.iter().flat_map(|v: &f64| v.to_le_bytes()).collect(),
        ),
        (
            ">f8",
            want.iter().flat_map(|v: &f64| v.to_be_bytes()).collect(),
        ),
        (
            "<f4",
            want.iter()
                .flat_map(|v| (*v as f32).to_le_bytes())
                .collect(),
        ),
        (
            ">f4",
            want.iter()
                .flat_map(|v| (*v as f32).to_be_bytes())
                .collect(),
        ),
        (
            "|i1",
            want.iter().flat_map(|v| (*v as i8).to_le_bytes()).collect(),
        ),
        (
            "<i2",
            want.iter()
                .flat_map(|v| (*v as i16).to_le_bytes())
                .collect(),
        ),
        (
            ">i2",
            want.iter()
                .flat_map(|v| (*v as i16).to_be_bytes())
                .collect(),
        ),
        (
            "<i4",
            want.iter()
                .flat_map(|v| (*v as i32).to_le_bytes())
                .collect(),
        ),
        (
            ">i8",
            want.iter()
                .flat_map(|v| (*v as i64).to_be_bytes())
                .collect(),
        ),
    ];
    for (descr, data) in &cases {
        let a = parse_npy(&npy(descr, "(2, 2)", data), p).unwrap();
        assert_eq!(a.shape, vec![2, 2], "{descr}");
        assert_eq!(a.data, want.to_vec(), "{descr}");
    }
    let unsigned = [1u64, 200, 3, 4];
    for (descr, size, big) in [
        ("|u1", 1, false),
        ("<u2", 2, false),
        (">u4", 4, true),
        ("<u8", 8, false),
    ] {
        let data: Vec<u8> = unsigned
            .iter()
            .flat_map(|v| {
                let b = v.to_le_bytes();
                let mut b = b[..size].to_vec();
                if big {
                    b.reverse();
                }
                b
            })
            .collect();
        let a = parse_npy(&npy(descr, "(4,)", &data), p).unwrap();
        assert_eq!(a.data, vec![1.0, 200.0, 3.0, 4.0], "{descr}");
    }
}

#[test]
fn typed_errors_name_the_file_and_fortran_order_and_zip_members_read() {
    let p = Path::new("t.npy");
    let want = [1.0, -2.0, 3.0, 4.0];
    let f8: Vec<u8> = want.iter().flat_map(|v: &f64| v.to_le_bytes()).collect();
    let is = |r: Result<_, DataError>, f: fn(&DataError) -> bool| {
        let e = r.unwrap_err();
        assert!(f(&e) && e.to_string().contains("t.npy"), "{e}");
    };
    is(parse_npy(&npy("<c16", "(1,)", &[0; 16]), p), |e| {
        matches!(e, DataError::UnsupportedDtype { .. })
    });
    is(parse_npy(&npy("<f8", "(3,)", &[0; 16]), p), |e| {
        matches!(e, DataError::ArrayTruncated { .. })
    });
    is(parse_npy(b"\x93NUMPX\x01\x00", p), |e| {
        matches!(e, DataError::BadHeader { .. })
    });
    let big = npy("<f8", "(4294967296, 4294967296, 4294967296)", &[]);
    is(parse_npy(&big, p), |e| {
        matches!(e, DataError::BadHeader { .. })
    });
    let members = [
        ("X.npy", npy("<f8", "(2, 2)", &f8)),
        ("y.npy", npy("|u1", "(2,)", &[0, 1])),
    ];
    // Fortran order: the same values, column by column on disk.
    let column_major: Vec<u8> = [1.0f64, 3.0, -2.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut fortran = npy("<f8", "(2, 2)", &column_major);
    let at = fortran.windows(5).position(|w| w == b"False").unwrap();
    fortran[at..at + 5].copy_from_slice(b"True ");
    assert_eq!(parse_npy(&fortran, p).unwrap().data, want.to_vec());
    for deflate in [false, true] {
        let z = parse_npz(&zip(&members, deflate), Path::new("a.npz")).unwrap();
        assert_eq!(z.get("X").unwrap().data, want.to_vec());
        assert_eq!(z.get("y").unwrap().data, vec![0.0, 1.0]);
    }
}

/// Runs both parsers; checks errors name the origin; returns the peak bytes allocated.
fn parse_all(bytes: &[u8]) -> usize {
    let origin = Path::new(ORIGIN);
    let ((a, z), peak) = peak_during(|| (parse_npy(bytes, origin), parse_npz(bytes, origin)));
    if let Ok(a) = &a {
        assert_eq!(a.data.len(), a.shape.iter().product::<usize>());
    }
    for e in [a.err(), z.err()].into_iter().flatten() {
        assert!(e.to_string().contains(ORIGIN), "{e}");
    }
    peak
}

/// What a parse may allocate: the input's content (inflated at most 1032:1) as `f64` (up to 8
/// bytes per input byte), twice for a growing `Vec`, plus 256 KiB for the inflater and messages.
fn allowed(bytes: &[u8]) -> usize {
    2 * 9 * 1032 * bytes.len() + (256 << 10)
}

fn valid_inputs() -> Vec<Vec<u8>> {
    let x = npy("<f8", "(2, 3)", &[0x3f; 48]);
    let y = npy("|u1", "(2,)", &[0, 1]);
    let members = [("X.npy", x.clone()), ("y.npy", y)];
    vec![x, zip(&members, false), zip(&members, true)]
}

proptest! {
    #![proptest_config(config(10_000, 0x4E_0001))]

    /// Arbitrary bytes, often behind a real magic: no panic, errors named, memory bounded.
    #[test]
    fn arbitrary_bytes_never_panic(
        prefix in prop_oneof![Just(b"\x93NUMPY\x01\x00".to_vec()), Just(b"PK\x03\x04".to_vec()), Just(vec![])],
        rest in vec(any::<u8>(), 0..128),
    ) {
        let bytes = [prefix, rest].concat();
        let peak = parse_all(&bytes);
        prop_assert!(peak <= allowed(&bytes), "{peak} bytes for {}", bytes.len());
    }

    /// Up to four mutations of a valid `.npy`, stored `.npz` or deflated `.npz`.
    #[test]
    fn mutated_files_never_panic(
        which in 0usize..3,
        muts in vec(mutation(vec![8, 20, 22, 26, 30, 42]), 1..5),
    ) {
        let bytes = mutate(&valid_inputs()[which], &muts);
        let peak = parse_all(&bytes);
        prop_assert!(peak <= allowed(&bytes), "{peak} bytes for {}", bytes.len());
    }
}
