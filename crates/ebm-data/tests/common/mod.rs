//! Shared pieces of the fuzz tests: byte mutations of a valid file, and a proptest config.

#![allow(dead_code)]

pub mod meter;

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// `cases` cases from a fixed seed, so that a run is reproducible (no `PROPTEST_RNG_SEED`
/// needed); failures are still saved under `proptest-regressions/` beside the test.
pub fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// One edit of a byte string; positions are taken modulo the current length.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// XOR the byte at a position with a non-zero mask.
    Flip(usize, u8),
    /// Overwrite the byte at a position.
    Set(usize, u8),
    /// Keep only the first bytes.
    Truncate(usize),
    /// Insert a byte before a position.
    Insert(usize, u8),
    /// Remove the byte at a position.
    Remove(usize),
    /// Append bytes.
    Append(Vec<u8>),
    /// Write a big-endian u32 at a byte offset (a header field such as a dimension).
    Word(usize, u32),
}

/// A u32 that is often an edge case: 0, 1, 2^31, u32::MAX, or small.
pub fn edgy_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(1 << 31),
        Just(u32::MAX),
        Just(65_536),
        0u32..16,
        any::<u32>(),
    ]
}

/// Any one [`Mutation`]; `word_offsets` are where [`Mutation::Word`] writes (header fields).
pub fn mutation(word_offsets: Vec<usize>) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Insert(i, v)),
        any::<usize>().prop_map(Mutation::Remove),
        proptest::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
        (proptest::sample::select(word_offsets), edgy_u32())
            .prop_map(|(o, v)| Mutation::Word(o, v)),
    ]
}

/// `bytes` after `mutations`, in order.
pub fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for m in mutations {
        let len = b.len();
        match m {
            Mutation::Flip(i, mask) if len > 0 => b[i % len] ^= mask,
            Mutation::Set(i, v) if len > 0 => b[i % len] = *v,
            Mutation::Truncate(i) => b.truncate(i % (len + 1)),
            Mutation::Insert(i, v) => b.insert(i % (len + 1), *v),
            Mutation::Remove(i) if len > 0 => {
                b.remove(i % len);
            }
            Mutation::Append(tail) => b.extend_from_slice(tail),
            Mutation::Word(o, v) if o + 4 <= len => b[*o..o + 4].copy_from_slice(&v.to_be_bytes()),
            _ => {}
        }
    }
    b
}

/// Gzips `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

/// Replaces the file at `path` by `bytes`, unlinking it first: overwriting a file in place
/// (truncate, write) makes ext4 flush it to disk, 5 ms a case on a busy disk; a new file does
/// not.
pub fn rewrite(path: &std::path::Path, bytes: &[u8]) {
    let _ = std::fs::remove_file(path);
    std::fs::write(path, bytes).expect("writing a test file");
}
