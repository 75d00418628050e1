//! Fuzzing the image-folder reader: a folder holding one valid PNG and one mutated PNG or JPEG
//! (flipped bytes, truncations, huge dimensions in the header with its checksum fixed so that
//! the decoder believes them), read with grey, RGB and resizing options. No input may panic and
//! every error names the folder or the file at fault.

mod common;

use std::io::Cursor;
use std::path::Path;

use common::{config, mutate, mutation};
use ebm_data::{LoadOptions, read_image_folder};
use image::{ImageBuffer, ImageFormat, Luma, Rgb};
use proptest::collection::vec;
use proptest::prelude::*;

/// A small image encoded in `format`: RGB 3x2, or grey 4x4 when `grey`.
fn encoded(format: ImageFormat, grey: bool) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    if grey {
        ImageBuffer::from_fn(4, 4, |x, y| Luma([(x * 60 + y) as u8]))
            .write_to(&mut out, format)
            .expect("encoding a PNG");
    } else {
        ImageBuffer::from_fn(3, 2, |x, y| Rgb([(x * 80) as u8, (y * 120) as u8, 7]))
            .write_to(&mut out, format)
            .expect("encoding an image");
    }
    out.into_inner()
}

/// Where the width and height of a JPEG are: 5 bytes after its first SOF marker (`ff c0..c2`).
fn jpeg_dims_offset(jpeg: &[u8]) -> usize {
    jpeg.windows(2)
        .position(|w| w[0] == 0xFF && (0xC0..=0xC2).contains(&w[1]))
        .map_or(0, |p| p + 5)
}

/// Recomputes the CRC of a PNG's IHDR chunk (bytes 12..29, CRC at 29..33) after a mutation, so
/// that the decoder acts on mutated dimensions instead of rejecting the chunk.
fn fix_ihdr_crc(png: &mut [u8]) {
    if png.len() >= 33 && &png[12..16] == b"IHDR" {
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    }
}

/// A mutated image file: its extension and bytes.
fn mutated_image() -> impl Strategy<Value = (&'static str, Vec<u8>)> {
    let rgb_png = encoded(ImageFormat::Png, false);
    let grey_png = encoded(ImageFormat::Png, true);
    let jpeg = encoded(ImageFormat::Jpeg, false);
    let sof = jpeg_dims_offset(&jpeg);
    // PNG header words: width (16), height (20), depth/colour/... (24).
    let png =
        (prop_oneof![Just(rgb_png), Just(grey_png)], any::<bool>()).prop_flat_map(|(base, fix)| {
            vec(mutation(vec![16, 20, 24]), 1..4).prop_map(move |m| {
                let mut b = mutate(&base, &m);
                if fix {
                    fix_ihdr_crc(&mut b);
                }
                ("png", b)
            })
        });
    let jpg = vec(mutation(vec![sof, sof + 2]), 1..4).prop_map(move |m| ("jpg", mutate(&jpeg, &m)));
    let junk = vec(any::<u8>(), 0..64).prop_map(|b| ("png", b));
    prop_oneof![4 => png, 3 => jpg, 1 => junk]
}

fn options(which: usize) -> LoadOptions {
    match which % 4 {
        0 => LoadOptions::grey(),
        1 => LoadOptions::rgb(),
        2 => LoadOptions::grey().with_size(3, 2),
        _ => LoadOptions::rgb().with_size(2, 2),
    }
}

/// Reads a folder holding the valid `a.png` and the mutated `b.<ext>`; checks the outcome.
fn read_case(dir: &Path, ext: &str, bytes: &[u8], which: usize) -> Result<(), TestCaseError> {
    for old in ["b.png", "b.jpg"] {
        let _ = std::fs::remove_file(dir.join(old));
    }
    std::fs::write(dir.join(format!("b.{ext}")), bytes).expect("writing the image");
    match read_image_folder(dir, &options(which)) {
        Ok(set) => {
            prop_assert_eq!(set.n, 2);
            prop_assert_eq!(set.images.len(), set.n * set.image_len());
            prop_assert!(set.images.iter().all(|v| (-1.0..=1.0).contains(v)));
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.contains(&format!("b.{ext}")), "{}", msg);
        }
    }
    Ok(())
}

/// Cases of the test below: the full 10,000 run in seconds, since a JPEG may not announce far
/// more pixels than its size can hold (before that bound, four cases took 40 s between them).
const CASES: u32 = 10_000;

#[test]
fn mutated_images_never_panic() {
    let dir = tempfile::TempDir::new().expect("a temporary folder");
    std::fs::write(dir.path().join("a.png"), encoded(ImageFormat::Png, false))
        .expect("writing the valid image");
    let mut runner = proptest::test_runner::TestRunner::new(config(CASES, 0xF0_1DE7));
    let result = runner.run(&(mutated_image(), 0usize..4), |((ext, bytes), which)| {
        read_case(dir.path(), ext, &bytes, which)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn a_png_announcing_2_to_the_30_squared_pixels_is_refused_before_allocating() {
    let dir = tempfile::TempDir::new().expect("a temporary folder");
    let mut png = encoded(ImageFormat::Png, false);
    png[16..20].copy_from_slice(&(1u32 << 30).to_be_bytes());
    png[20..24].copy_from_slice(&(1u32 << 30).to_be_bytes());
    fix_ihdr_crc(&mut png);
    std::fs::write(dir.path().join("huge.png"), &png).expect("writing the image");
    let e = read_image_folder(dir.path(), &LoadOptions::grey()).unwrap_err();
    assert!(e.to_string().contains("huge.png"), "{e}");
}

#[test]
fn a_cut_jpeg_and_one_announcing_far_more_pixels_than_its_size_allow_are_errors() {
    let dir = tempfile::TempDir::new().expect("a temporary folder");
    let jpeg = encoded(ImageFormat::Jpeg, false);
    // Whole: reads.
    std::fs::write(dir.path().join("ok.jpg"), &jpeg).expect("writing the image");
    assert_eq!(
        read_image_folder(dir.path(), &LoadOptions::rgb())
            .unwrap()
            .n,
        1
    );
    // Cut before its end marker: the decoder would fill the rest with grey.
    std::fs::write(dir.path().join("ok.jpg"), &jpeg[..jpeg.len() - 4]).expect("writing");
    let e = read_image_folder(dir.path(), &LoadOptions::rgb()).unwrap_err();
    assert!(
        e.to_string().contains("ok.jpg") && e.to_string().contains("cut short"),
        "{e}"
    );
    // Whole, but announcing 60000x3000 pixels (540 MB of RGB from a few hundred bytes).
    let mut big = jpeg.clone();
    let at = jpeg_dims_offset(&big);
    big[at..at + 4].copy_from_slice(&[0xEA, 0x60, 0x0B, 0xB8]);
    std::fs::write(dir.path().join("ok.jpg"), &big).expect("writing");
    let t = std::time::Instant::now();
    let e = read_image_folder(dir.path(), &LoadOptions::rgb()).unwrap_err();
    assert!(e.to_string().contains("ok.jpg"), "{e}");
    assert!(t.elapsed().as_secs_f64() < 1.0, "{:?}", t.elapsed());
    // Negative control: 6x4 pixels (a few times what the data holds) still fit the budget.
    big[at..at + 4].copy_from_slice(&[0, 4, 0, 6]);
    std::fs::write(dir.path().join("ok.jpg"), &big).expect("writing");
    let set = read_image_folder(dir.path(), &LoadOptions::rgb()).unwrap();
    assert_eq!((set.height, set.width), (4, 6));
}
