//! Fuzzing what a run folder holds, as `--resume` and the commands read it back: the `latest`
//! pointer, the loop's `fit.json`, the trainer's `state.json`, the replay buffer, the weights and
//! optimiser records, `config.json` and `metrics.jsonl`. Each case replaces one file of a real
//! run folder by arbitrary bytes or by a mutation of the original, then reads the run back. No
//! input may panic, in any thread (a panic hook counts them; burn reads records lazily, so a
//! failure could surface in one of its threads); what loads must be a run of the same shape. Memory stays bounded: the allocator below refuses any single allocation over 256 MiB
//! (a length read from a file and trusted), which aborts the test process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ebm_core::burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{MlpEnergy, MlpEnergyConfig, SeededRng};
use ebm_train::{
    CheckpointStore, Fit, FitConfig, FitState, FnBatches, Learner, MetricsLog, RunDir, TrainConfig,
    TrainError, Trainer,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// Refuses any single allocation over 256 MiB (Rust then aborts the process): a reader that
/// trusts a length field fails here instead of exhausting the machine.
struct Capped;

const CAP: usize = 256 << 20;

// SAFETY: every call is forwarded to `System` unchanged, except that sizes over the cap get a
// null pointer, which the `GlobalAlloc` contract allows. A global allocator cannot be written
// without `unsafe`; this one is in a test only.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > CAP {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > CAP {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

type Cd = Trainer<2, MlpEnergy>;

fn model() -> MlpEnergy {
    MlpEnergyConfig::new(2)
        .with_hidden(vec![8])
        .init(&Device::flex().autodiff(), 0)
        .unwrap()
}

fn recipe() -> TrainConfig {
    let mut c = TrainConfig::uva_images();
    c.batch_size = 8;
    c.sampler_steps = 2;
    c.negatives = ebm_train::NegativeConfig::Persistent {
        capacity: 16,
        reinit_prob: 0.05,
        reinit_noise: 0.0,
    };
    c
}

/// A real run folder: `config.json`, three steps of metrics, checkpoints at steps 0 and 3.
fn make_run(root: &Path) -> RunDir {
    let run = RunDir::new(root);
    run.write_config(&recipe()).unwrap();
    let mut rng = SeededRng::new(1);
    let data: Vec<f32> = (0..48).map(|_| rng.normal_f64() as f32).collect();
    let batches = FnBatches::new(24, |idx: &[usize]| -> Result<Tensor<2>, TrainError> {
        let v: Vec<f32> = idx
            .iter()
            .flat_map(|&i| [data[2 * i], data[2 * i + 1]])
            .collect();
        Ok(Tensor::from_data(
            TensorData::new(v, [idx.len(), 2]),
            &Device::flex(),
        ))
    });
    let mut fit = FitConfig::new(1, 8, 1);
    fit.checkpoint_every = 3;
    let mut trainer = Cd::new(model(), recipe(), &[2]).unwrap();
    Fit::new(&run, fit)
        .progress(false)
        .run(&mut trainer, &batches)
        .unwrap();
    run
}

/// Reads the run back as `--resume` and the commands do; `Ok(true)` if every part loaded,
/// `Ok(false)` if no checkpoint was found.
fn read_back(run: &RunDir) -> Result<bool, TrainError> {
    run.read_config::<TrainConfig>()?;
    MetricsLog::read(&run.metrics_path())?;
    let mut trainer = Cd::new(model(), recipe(), &[2])?;
    let loaded = run
        .checkpoints()
        .load::<FitState>(|dir| trainer.load(dir))?;
    if loaded.is_none() {
        return Ok(false);
    }
    // What loads is a run of this shape: a buffer of 16 items of 2.
    let buffer = trainer.buffer().expect("a persistent trainer has a buffer");
    assert_eq!(buffer.data().len(), 32);
    Ok(true)
}

/// The files a case may replace, relative to the run folder.
fn targets(run: &RunDir) -> Vec<PathBuf> {
    let ckpt = CheckpointStore::new(run.root().join("checkpoints"))
        .latest()
        .unwrap();
    let mut files: Vec<PathBuf> = ["fit.json", "state.json", "buffer.f32", "model.bpk"]
        .iter()
        .map(|f| ckpt.join(f))
        .collect();
    files.extend([
        ckpt.join("optimizer.bpk"),
        run.root().join("checkpoints/latest"),
        run.config_path(),
        run.metrics_path(),
    ]);
    files
}

/// Puts `bytes` at `path` through a new file and a rename, as the checkpoint store writes.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("fuzz-tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Up to six byte edits (flip, insert, remove, truncate) of `original`.
fn mutate(original: &[u8], edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut b = original.to_vec();
    for &(kind, at, value) in edits {
        let len = b.len();
        match kind % 4 {
            0 if len > 0 => b[at % len] ^= value.max(1),
            1 => b.insert(at % (len + 1), value),
            2 if len > 0 => {
                b.remove(at % len);
            }
            _ => b.truncate(at % (len + 1)),
        }
    }
    b
}

/// A case: which file, and its new bytes: arbitrary, or these edits of the original.
type Case = (usize, Option<Vec<u8>>, Vec<(u8, usize, u8)>);

/// The strategy of [`Case`]s.
fn case() -> impl Strategy<Value = Case> {
    let arbitrary = prop_oneof![Just(None), vec(any::<u8>(), 0..512).prop_map(Some)];
    (0usize..8, arbitrary, vec(any::<(u8, usize, u8)>(), 1..7))
}

/// Panics in any thread (burn's own included) since the hook was installed.
static PANICS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn a_damaged_run_folder_is_an_error_never_a_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path());
    assert!(read_back(&run).expect("the undamaged run reads back"));
    let files = targets(&run);
    let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let config = Config {
        cases: 10_000,
        rng_seed: RngSeed::Fixed(0xF0_22_C4),
        failure_persistence: None,
        ..Config::default()
    };
    let (loaded, refused) = (Cell::new(0usize), Cell::new(0usize));
    let mut runner = TestRunner::new(config);
    runner
        .run(&case(), |(which, arbitrary, edits)| {
            let bytes = arbitrary.unwrap_or_else(|| mutate(&originals[which], &edits));
            replace(&files[which], &bytes);
            match read_back(&run) {
                Ok(true) => loaded.set(loaded.get() + 1),
                Ok(false) => {}
                Err(e) => {
                    refused.set(refused.get() + 1);
                    prop_assert!(!e.to_string().is_empty());
                }
            }
            replace(&files[which], &originals[which]);
            Ok(())
        })
        .unwrap();
    // Both outcomes occur, so the cases reach past the first check of every reader.
    let (loaded, refused) = (loaded.get(), refused.get());
    eprintln!("{loaded} cases loaded, {refused} refused with an error");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a reader panicked");
    assert!(
        loaded > 100 && refused > 1_000,
        "{loaded} loaded, {refused} refused"
    );
}
