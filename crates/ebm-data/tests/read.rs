//! Reading real and synthetic files: the repository's MNIST subset, IDX files raw and gzipped,
//! every bad-file case, and image folders.

use std::io::Write;
use std::path::{Path, PathBuf};

use ebm_data::{
    ColorMode, DataError, LoadOptions, class_names, load_images, mnist_4k_dir, pixel_to_unit,
    read_idx_dataset, read_idx_images, read_idx_labels, read_image_folder,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use image::{ImageBuffer, Luma, Rgb};
use tempfile::TempDir;

fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in [2051, n, rows, cols] {
        bytes.extend_from_slice(&u32::to_be_bytes(v));
    }
    bytes.extend((0..n * rows * cols).map(|i| (i * 37 % 256) as u8));
    bytes
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in [2049, labels.len() as u32] {
        bytes.extend_from_slice(&u32::to_be_bytes(v));
    }
    bytes.extend_from_slice(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Asserts that the message of `err` names the file `name`.
fn names(err: &DataError, name: &str) {
    let msg = err.to_string();
    assert!(msg.contains(name), "{msg:?} does not name {name}");
}

#[test]
fn mnist_4k_has_4000_digits_400_per_class_in_unit_range() {
    let set = load_images(mnist_4k_dir(), &LoadOptions::grey()).unwrap();
    assert_eq!(
        (set.n, set.channels, set.height, set.width),
        (4000, 1, 28, 28)
    );
    assert_eq!(set.images.len(), 4000 * 784);
    assert!(set.images.iter().all(|v| (-1.0..=1.0).contains(v)));
    let min = set.images.iter().copied().fold(f32::INFINITY, f32::min);
    let max = set.images.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert_eq!((min, max), (-1.0, 1.0));
    assert_eq!(set.label_counts(), Some(vec![400; 10]));

    // The images file on its own finds its labels beside it.
    let direct = load_images(
        mnist_4k_dir().join("images-idx3-ubyte.gz"),
        &LoadOptions::grey(),
    );
    assert_eq!(direct.unwrap(), set);

    // RGB repeats the grey plane; a requested size resizes.
    let rgb = load_images(mnist_4k_dir(), &LoadOptions::rgb().with_size(14, 14)).unwrap();
    assert_eq!(
        (rgb.n, rgb.channels, rgb.height, rgb.width),
        (4000, 3, 14, 14)
    );
    let first = rgb.image(0).unwrap();
    assert_eq!(first[..196], first[196..392]);
    assert_eq!(first[..196], first[392..]);
    assert_eq!(rgb.labels, set.labels);
}

#[test]
fn raw_and_gzipped_idx_read_the_same_whatever_the_name() {
    let dir = TempDir::new().unwrap();
    let raw = idx_images(3, 2, 5);
    let labels = idx_labels(&[7, 0, 3]);
    // Detection is by content: the raw file is named .gz and the gzipped one is not.
    let raw_path = write(dir.path(), "raw-images-idx3-ubyte.gz", &raw);
    let gz_path = write(dir.path(), "gz-images-idx3-ubyte", &gzip(&raw));
    let a = read_idx_images(&raw_path).unwrap();
    let b = read_idx_images(&gz_path).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.n, a.rows, a.cols), (3, 2, 5));
    assert_eq!(a.pixels, raw[16..]);
    let la = read_idx_labels(write(dir.path(), "l-raw", &labels)).unwrap();
    let lb = read_idx_labels(write(dir.path(), "l-gz", &gzip(&labels))).unwrap();
    assert_eq!((la.clone(), lb), (vec![7, 0, 3], vec![7, 0, 3]));

    let set = a.into_image_set(Some(la)).unwrap();
    assert_eq!(set.image(0).unwrap()[1], pixel_to_unit(37));
}

#[test]
fn idx_folder_prefers_train_files_and_finds_labels() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "train-images-idx3-ubyte", &idx_images(4, 3, 3));
    write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_labels(&[1, 2, 3, 4]),
    );
    write(
        dir.path(),
        "t10k-images-idx3-ubyte.gz",
        &gzip(&idx_images(2, 3, 3)),
    );
    write(
        dir.path(),
        "t10k-labels-idx1-ubyte.gz",
        &gzip(&idx_labels(&[5, 6])),
    );
    let train = load_images(dir.path(), &LoadOptions::grey()).unwrap();
    assert_eq!((train.n, train.labels.clone()), (4, Some(vec![1, 2, 3, 4])));
    let test = load_images(
        dir.path().join("t10k-images-idx3-ubyte.gz"),
        &LoadOptions::grey(),
    )
    .unwrap();
    assert_eq!((test.n, test.labels), (2, Some(vec![5, 6])));
}

#[test]
fn idx_files_of_the_wrong_kind_give_the_right_error_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();

    // A labels file read as images: wrong magic.
    let p = write(d, "swapped.idx", &idx_labels(&[1, 2]));
    let e = read_idx_images(&p).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                found: 2049,
                expected: 2051,
                ..
            }
        ),
        "{e:?}"
    );
    names(&e, "swapped.idx");

    let mut junk = idx_images(1, 2, 2);
    junk[0] = 0x12;
    let p = write(d, "junk.idx", &junk);
    let e = read_idx_images(&p).unwrap_err();
    assert!(matches!(e, DataError::BadMagic { .. }), "{e:?}");
    names(&e, "junk.idx");

    // 32-bit floats (type 0x0D): unsupported element type.
    let mut floats = idx_images(1, 2, 2);
    floats[2] = 0x0D;
    let p = write(d, "floats.idx", &floats);
    let e = read_idx_images(&p).unwrap_err();
    assert!(
        matches!(e, DataError::UnsupportedElementType { code: 0x0D, .. }),
        "{e:?}"
    );
    names(&e, "floats.idx");
}

#[test]
fn cut_or_overlong_idx_files_give_the_right_error_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();

    // Truncated: in the data, in the header, and a cut gzip stream.
    let full = idx_images(50, 28, 28);
    let p = write(d, "short.idx", &full[..full.len() - 10]);
    let e = read_idx_images(&p).unwrap_err();
    assert!(
        matches!(e, DataError::Truncated { expected, found, decompressed: false, .. }
            if expected == full.len() as u64 && found == full.len() as u64 - 10),
        "{e:?}"
    );
    names(&e, "short.idx");
    let p = write(d, "tiny.idx", &full[..2]);
    let e = read_idx_images(&p).unwrap_err();
    assert!(
        matches!(e, DataError::Truncated { expected: 4, .. }),
        "{e:?}"
    );
    names(&e, "tiny.idx");
    let gz = gzip(&full);
    let p = write(d, "cut.idx.gz", &gz[..gz.len() / 2]);
    let e = read_idx_images(&p).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Truncated {
                decompressed: true,
                ..
            }
        ),
        "{e:?}"
    );
    names(&e, "cut.idx.gz");

    // Trailing bytes past what the header announces.
    let mut long = idx_images(1, 2, 2);
    long.push(0);
    let p = write(d, "long.idx", &long);
    let e = read_idx_images(&p).unwrap_err();
    assert!(matches!(e, DataError::Malformed { .. }), "{e:?}");
    names(&e, "long.idx");
}

#[test]
fn disagreeing_or_missing_idx_files_give_the_right_error_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();

    // Image and label counts that disagree.
    let imgs = write(d, "three-images", &idx_images(3, 2, 2));
    let labs = write(d, "four-labels", &idx_labels(&[0, 1, 2, 3]));
    let e = read_idx_dataset(&imgs, Some(&labs)).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                images: 3,
                labels: 4,
                ..
            }
        ),
        "{e:?}"
    );
    names(&e, "three-images");
    names(&e, "four-labels");

    // A missing path.
    let e = read_idx_images(d.join("nowhere-images")).unwrap_err();
    assert!(matches!(e, DataError::NotFound { .. }), "{e:?}");
    names(&e, "nowhere-images");
    let e = load_images(d.join("nowhere-dir"), &LoadOptions::grey()).unwrap_err();
    assert!(matches!(e, DataError::NotFound { .. }), "{e:?}");
    names(&e, "nowhere-dir");
}

fn rgb_png(dir: &Path, name: &str, w: u32, h: u32, color: [u8; 3]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ImageBuffer::from_pixel(w, h, Rgb(color))
        .save(&path)
        .unwrap();
    path
}

#[test]
fn image_folder_round_trip_grey_rgb_and_resized() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    rgb_png(d, "a.png", 4, 3, [255, 0, 0]);
    rgb_png(d, "b.png", 4, 3, [255, 255, 255]);
    // A grey PNG read as RGB repeats its level.
    let grey = ImageBuffer::from_pixel(4, 3, Luma([0u8]));
    grey.save(d.join("c.png")).unwrap();
    write(d, "README.txt", b"not an image, skipped");
    write(d, ".hidden.png", b"skipped too");

    let rgb = read_image_folder(d, &LoadOptions::rgb()).unwrap();
    assert_eq!((rgb.n, rgb.channels, rgb.height, rgb.width), (3, 3, 3, 4));
    assert_eq!(rgb.labels, None);
    let a = rgb.image(0).unwrap();
    assert!(a[..12].iter().all(|v| *v == 1.0) && a[12..].iter().all(|v| *v == -1.0));
    assert!(rgb.image(1).unwrap().iter().all(|v| *v == 1.0));
    assert!(rgb.image(2).unwrap().iter().all(|v| *v == -1.0));

    let g = read_image_folder(d, &LoadOptions::grey()).unwrap();
    assert_eq!((g.n, g.channels, g.height, g.width), (3, 1, 3, 4));
    assert!(g.image(1).unwrap().iter().all(|v| *v == 1.0));
    // Pure red in luma (Rec. 709): about 0.2126 * 255.
    let red = g.image(0).unwrap()[0];
    assert!((red - pixel_to_unit(54)).abs() < 0.02, "{red}");

    let small = load_images(d, &LoadOptions::grey().with_size(2, 5)).unwrap();
    assert_eq!(
        (small.n, small.channels, small.height, small.width),
        (3, 1, 5, 2)
    );
    assert!(
        small
            .image(1)
            .unwrap()
            .iter()
            .all(|v| (*v - 1.0).abs() < 1e-6)
    );
}

#[test]
fn image_folder_labels_come_from_sorted_sub_folders() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    rgb_png(d, "zebra/1.png", 2, 2, [0, 0, 0]);
    rgb_png(d, "cat/2.png", 2, 2, [255, 255, 255]);
    rgb_png(d, "cat/1.png", 2, 2, [255, 255, 255]);
    // A JPEG is read too (lossy: compare loosely).
    let jpg = d.join("dog/1.jpg");
    std::fs::create_dir_all(jpg.parent().unwrap()).unwrap();
    ImageBuffer::from_pixel(2, 2, Rgb([128u8, 128, 128]))
        .save(&jpg)
        .unwrap();

    assert_eq!(
        class_names(d).unwrap(),
        Some(vec![
            "cat".to_string(),
            "dog".to_string(),
            "zebra".to_string()
        ])
    );
    let set = load_images(d, &LoadOptions::default()).unwrap();
    assert_eq!(set.labels, Some(vec![0, 0, 1, 2]));
    assert!(set.image(0).unwrap().iter().all(|v| *v == 1.0));
    assert!(set.image(2).unwrap().iter().all(|v| v.abs() < 0.05));
    assert!(set.image(3).unwrap().iter().all(|v| *v == -1.0));
    assert_eq!(set.channels, ColorMode::Grey.channels());
}

#[test]
fn bad_image_folders_give_the_right_error_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();

    let e = read_image_folder(d.join("absent"), &LoadOptions::grey()).unwrap_err();
    assert!(matches!(e, DataError::NotFound { .. }), "{e:?}");
    names(&e, "absent");

    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    write(&empty, "notes.txt", b"no images here");
    let e = read_image_folder(&empty, &LoadOptions::grey()).unwrap_err();
    assert!(matches!(e, DataError::EmptyFolder { .. }), "{e:?}");
    names(&e, "empty");
    let e = load_images(&empty, &LoadOptions::grey()).unwrap_err();
    assert!(
        matches!(e, DataError::EmptyFolder { idx: true, .. }),
        "{e:?}"
    );

    let broken = d.join("broken");
    rgb_png(&broken, "a.png", 2, 2, [1, 2, 3]);
    write(&broken, "b.png", b"this is not a PNG");
    let e = read_image_folder(&broken, &LoadOptions::grey()).unwrap_err();
    assert!(matches!(e, DataError::Decode { .. }), "{e:?}");
    names(&e, "b.png");

    let mixed = d.join("mixed");
    rgb_png(&mixed, "a.png", 4, 4, [0, 0, 0]);
    rgb_png(&mixed, "b.png", 4, 4, [0, 0, 0]);
    rgb_png(&mixed, "c.png", 5, 3, [0, 0, 0]);
    let e = read_image_folder(&mixed, &LoadOptions::grey()).unwrap_err();
    assert!(
        matches!(&e, DataError::MixedSizes { first_size: (4, 4), size: (5, 3), path, .. }
            if path.ends_with("c.png")),
        "{e:?}"
    );
    names(&e, "a.png");
    names(&e, "c.png");
    assert!(
        e.to_string().contains("5x3") && e.to_string().contains("4x4"),
        "{e}"
    );
    // With a requested size the same folder reads.
    let ok = read_image_folder(&mixed, &LoadOptions::grey().with_size(4, 4)).unwrap();
    assert_eq!(ok.n, 3);

    let e = read_image_folder(&mixed, &LoadOptions::grey().with_size(0, 4)).unwrap_err();
    assert!(matches!(e, DataError::InvalidArgument(_)), "{e:?}");
}
