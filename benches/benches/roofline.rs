//! The machine's measured ceilings, for the roofline tables in BENCHMARKS.md.
//!
//! `cargo bench -p ebm-benches --bench roofline`. Each id measures one resource, with criterion's
//! throughput set so that its `elem/s` or `B/s` is the ceiling itself:
//!
//! - `roofline/gemm_512_t1`, `gemm_512_t2`: a 512 x 512 x 512 `f32` product with the `gemm` crate
//!   (the one the host CNN and MLP kernels call), on one thread and on two; elements are FLOPs
//!   (`2 m n k`), so `elem/s` is FLOP/s.
//! - `roofline/gemm_conv1_t1`, `gemm_conv2_t1`: the forward GEMMs of the default CNN's first two
//!   layers for one SGLD step of a 128-image batch (im2col rows x output channels x patch length:
//!   32,768 x 16 x 25 and 8,192 x 32 x 144), to show how far those shapes are from the square one.
//! - `roofline/triad_64m_t2`: the STREAM triad `a = b + s c` over three 64 MiB `f32` arrays on
//!   both threads (12 bytes per element moved, write-allocate not counted): memory bandwidth.
//! - `roofline/triad_400k_t2`: the same over three 400 KiB arrays, the size of one `[1024, 100]`
//!   batch of chains: bandwidth from the caches that a MALA step on that batch works in.
//! - `roofline/normal_102400`: 102,400 standard normal draws (one MALA step's noise for 1,024
//!   chains in 100 dimensions) with [`SeededRng::normal_vec_parallel`]; elements are draws.
//!   `normal_102400_ziggurat`: the same count by the ziggurat generator it replaced.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use ebm_core::SeededRng;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// `dst = lhs rhs` for row-major `lhs[m, k]`, `rhs[k, n]` with the `gemm` crate.
#[allow(unsafe_code)]
fn gemm(m: usize, n: usize, k: usize, lhs: &[f32], rhs: &[f32], dst: &mut [f32], threads: usize) {
    assert!(lhs.len() >= m * k && rhs.len() >= k * n && dst.len() >= m * n);
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the lengths are checked above; the strides describe row-major matrices of exactly
    // those sizes, and `dst` is a distinct mutable borrow.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn bench_gemm(c: &mut Criterion, id: &str, (m, n, k): (usize, usize, usize), threads: usize) {
    let mut rng = SeededRng::new(0);
    let lhs = rng.normal_vec(m * k);
    let rhs = rng.normal_vec(k * n);
    let mut dst = vec![0.0f32; m * n];
    let mut group = c.benchmark_group("roofline");
    group.throughput(Throughput::Elements((2 * m * n * k) as u64));
    group.bench_function(id, |b| {
        b.iter(|| gemm(m, n, k, &lhs, &rhs, &mut dst, threads));
    });
    group.finish();
    black_box(&dst);
}

fn bench_triad(c: &mut Criterion, id: &str, bytes_per_array: usize) {
    let len = bytes_per_array / 4;
    let (x, y) = (vec![1.0f32; len], vec![2.0f32; len]);
    let mut out = vec![0.0f32; len];
    let chunk = len.div_ceil(rayon::current_num_threads()).max(1);
    let mut group = c.benchmark_group("roofline");
    group.throughput(Throughput::Bytes((12 * len) as u64));
    group.bench_function(id, |b| {
        b.iter(|| {
            out.par_chunks_mut(chunk)
                .zip(x.par_chunks(chunk).zip(y.par_chunks(chunk)))
                .for_each(|(o, (x, y))| {
                    o.iter_mut()
                        .zip(x.iter().zip(y))
                        .for_each(|(o, (x, y))| *o = x + 3.0 * y);
                });
            black_box(&out);
        });
    });
    group.finish();
}

/// The normal draws of the samplers ([`SeededRng::normal_vec_parallel`]: ChaCha8 words, Box-Muller
/// in SIMD lanes), and for reference the generator it replaced: the same blocks and streams with
/// `rand_distr`'s ziggurat, one call per draw.
fn bench_normals(c: &mut Criterion) {
    let n = 102_400;
    let mut rng = SeededRng::new(0);
    let mut group = c.benchmark_group("roofline");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("normal_102400", |b| {
        b.iter(|| black_box(rng.normal_vec_parallel(n)));
    });
    group.bench_function("normal_102400_ziggurat", |b| {
        b.iter(|| {
            let mut out = vec![0.0f32; n];
            out.par_chunks_mut(ebm_core::rng::PARALLEL_BLOCK)
                .enumerate()
                .for_each(|(k, block)| {
                    let mut rng = ChaCha8Rng::seed_from_u64(7);
                    rng.set_stream(k as u64);
                    block
                        .iter_mut()
                        .for_each(|v| *v = rng.sample(StandardNormal));
                });
            black_box(out)
        });
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    bench_gemm(&mut c, "gemm_512_t1", (512, 512, 512), 1);
    bench_gemm(&mut c, "gemm_512_t2", (512, 512, 512), 2);
    bench_gemm(&mut c, "gemm_conv1_t1", (32_768, 16, 25), 1);
    bench_gemm(&mut c, "gemm_conv2_t1", (8_192, 32, 144), 1);
    bench_triad(&mut c, "triad_64m_t2", 64 << 20);
    bench_triad(&mut c, "triad_400k_t2", 400 << 10);
    bench_normals(&mut c);
    c.final_summary();
}
