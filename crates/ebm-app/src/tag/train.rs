//! `ebm tag train`: a tagger through the one training loop, the best epoch on dev kept in the
//! run's `best/`, exact resume.

use std::time::Instant;

use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::Args;
use ebm_tag::{
    Corpus, MostFrequentTag, NetConfig, Objective, Sentence, TagTrainer, TaggerConfig,
    TrainSettings, Vocab,
};
use ebm_train::{
    FitConfig, FitState, FnBatches, MetricsLog, RunDir, StepRecord, Stopped, TrainError,
};
use serde::Serialize;

use super::data::{DataArgs, read_sentences, sample_sentences};
use super::run::{Summary, TagRunConfig, read_run_config};
use crate::args::{FitArgs, RunArgs, fit_loop, set_flag};
use crate::output::write_json;

/// Arguments of `ebm tag train`. On `--resume` the saved settings hold; a flag that differs
/// from them is an error naming it.
#[derive(Debug, Args)]
pub struct TagTrainArgs {
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    fit: FitArgs,
    #[command(flatten)]
    data: DataArgs,
    /// `ml` (exact maximum likelihood), `cd-ffbs`, `cd-gibbs` (contrastive divergence), or
    /// `softmax` (the same network without transitions: the baseline) [default: ml]. The run
    /// folder defaults to `runs/tag-<objective>`.
    #[arg(long)]
    objective: Option<String>,
    /// Sentences per batch (of similar length) [default: 32].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Adam learning rate [default: 2e-3].
    #[arg(long)]
    lr: Option<f64>,
    /// Dropout on token inputs and the hidden layer [default: 0.25].
    #[arg(long)]
    dropout: Option<f32>,
    /// Probability of hiding a known word as unknown in training [default: 0.05].
    #[arg(long)]
    word_dropout: Option<f32>,
    /// The learning rate decays linearly to this fraction of `--lr` over the planned epochs
    /// [default: 0.1].
    #[arg(long)]
    lr_final: Option<f64>,
    /// Block Gibbs sweeps per negative (`cd-gibbs`) [default: 1].
    #[arg(long)]
    gibbs_sweeps: Option<usize>,
    /// Words seen fewer times than this in training are unknown to the word embedding
    /// [default: 2].
    #[arg(long)]
    min_count: Option<usize>,
    /// Hidden width of the window layer [default: 256].
    #[arg(long)]
    hidden: Option<usize>,
    /// Context half-width (window of 2w + 1 tokens) [default: 1]. With +-1 the transitions
    /// beat the same network without them on every seed measured; with +-2 the two tie (README).
    #[arg(long)]
    window: Option<usize>,
    /// Train on a seeded sample of this many training sentences (never a prefix).
    #[arg(long)]
    limit: Option<usize>,
}

/// The defaults: 12 epochs of batches of 32 sentences, a 30-minute budget, seed 0.
fn defaults(data: &DataArgs) -> Result<TagRunConfig> {
    let mut fit = FitConfig::new(0, 1, 12);
    fit.budget_seconds = Some(30.0 * 60.0);
    fit.checkpoint_every = 1000;
    Ok(TagRunConfig {
        tagger: TaggerConfig {
            net: NetConfig::new(0, 0),
            structured: true,
        },
        settings: TrainSettings {
            word_dropout: 0.05,
            lr_final: 0.1,
            ..TrainSettings::default()
        },
        train: data.split("train")?,
        dev: data.split("dev")?,
        min_count: 2,
        limit: None,
        train_sentences: 0,
        train_tokens: 0,
        vocab: Vocab::from_parts(Vec::new(), Vec::new()),
        fit,
    })
}

/// The run's settings: saved (`--resume`), from `--config`, or the defaults, with the flags
/// applied. `--max-steps` is part of the run's plan, as for every command: `--resume` alone
/// keeps it, `--resume --max-steps N` changes it.
fn settings(args: &TagTrainArgs, dir: &RunDir) -> Result<TagRunConfig> {
    let resume = args.fit.resume;
    // The vocabulary's index is rebuilt after reading (`read_run_config`).
    let mut c = match resume {
        true => read_run_config(dir)?,
        false => args.fit.base_config(dir, || defaults(&args.data))?,
    };
    let objective = args
        .objective
        .as_deref()
        .map(Objective::from_word)
        .transpose()?;
    let s = &mut c.settings;
    set_flag(resume, "--objective", &mut s.objective, objective)?;
    set_flag(resume, "--seed", &mut s.seed, args.fit.seed)?;
    set_flag(resume, "--batch-size", &mut s.batch_size, args.batch_size)?;
    set_flag(resume, "--lr", &mut s.lr, args.lr)?;
    set_flag(resume, "--dropout", &mut s.dropout, args.dropout)?;
    set_flag(
        resume,
        "--word-dropout",
        &mut s.word_dropout,
        args.word_dropout,
    )?;
    set_flag(resume, "--lr-final", &mut s.lr_final, args.lr_final)?;
    set_flag(
        resume,
        "--gibbs-sweeps",
        &mut s.gibbs_sweeps,
        args.gibbs_sweeps,
    )?;
    set_flag(resume, "--min-count", &mut c.min_count, args.min_count)?;
    set_flag(resume, "--hidden", &mut c.tagger.net.hidden, args.hidden)?;
    set_flag(resume, "--window", &mut c.tagger.net.window, args.window)?;
    set_flag(resume, "--limit", &mut c.limit, args.limit.map(Some))?;
    for (name, path) in [("train", &mut c.train), ("dev", &mut c.dev)] {
        if args.data.data.is_some() || args.data.given(name).is_some() {
            set_flag(
                resume,
                &format!("--{name}"),
                path,
                Some(args.data.split(name)?),
            )?;
        }
    }
    c.tagger.structured = c.settings.objective.structured();
    c.fit.seed = c.settings.seed;
    c.fit.batch_size = 1;
    args.fit.apply(&mut c.fit)?;
    c.settings.validate()?;
    Ok(c)
}

/// The training and dev corpora of a run.
struct TagData {
    train_sentences: Vec<Sentence>,
    train: Corpus,
    dev: Corpus,
}

/// Reads the data. A new run builds the vocabularies, the tagger's sizes and the learning-rate
/// schedule from it; a resumed run checks that the data is what it was trained on.
fn load_data(c: &mut TagRunConfig, resume: bool) -> Result<TagData> {
    let mut train_sentences = read_sentences(&c.train, "train")?;
    if let Some(limit) = c.limit {
        train_sentences = sample_sentences(train_sentences, limit.max(1), c.settings.seed);
    }
    if !resume {
        c.vocab = Vocab::build(&train_sentences, c.min_count)?;
        c.tagger.net.n_words = c.vocab.n_words();
        c.tagger.net.n_tags = c.vocab.n_tags();
    }
    let train = Corpus::new(&train_sentences, &c.vocab)?;
    let batches = train.length_batches(c.settings.batch_size).len();
    if resume && (train.len(), train.n_tokens()) != (c.train_sentences, c.train_tokens) {
        bail!(
            "{} now gives {} sentences ({} tokens); the run was trained on {} ({}): the data changed",
            c.train.display(),
            train.len(),
            train.n_tokens(),
            c.train_sentences,
            c.train_tokens
        );
    }
    if !resume {
        (c.train_sentences, c.train_tokens) = (train.len(), train.n_tokens());
        c.settings.total_steps = Some(c.fit.epochs * batches);
    }
    let dev = dev_corpus(c)?;
    Ok(TagData {
        train_sentences,
        train,
        dev,
    })
}

/// The dev sentences whose tags the training set knows (the others are reported and left out
/// of selection: their unseen tags cannot be predicted).
fn dev_corpus(c: &TagRunConfig) -> Result<Corpus> {
    let dev_sents = read_sentences(&c.dev, "dev")?;
    let (known, dropped): (Vec<Sentence>, Vec<Sentence>) = dev_sents
        .into_iter()
        .partition(|s| s.tags.iter().all(|t| c.vocab.tag_id(t).is_some()));
    if !dropped.is_empty() {
        eprintln!(
            "note: {} dev sentences carry tags unseen in training and are left out of selection",
            dropped.len()
        );
    }
    let dev = Corpus::new(&known, &c.vocab)?;
    if dev.is_empty() {
        bail!("no usable dev sentences in {}", c.dev.display());
    }
    Ok(dev)
}

/// Runs `ebm tag train`.
pub fn train(args: TagTrainArgs) -> Result<()> {
    let device = args.run.device.device()?;
    let resume = args.fit.resume;
    let dir = args.run.dir(&format!(
        "tag-{}",
        args.objective.as_deref().unwrap_or("ml")
    ));
    if !resume && dir.checkpoints().exists() {
        bail!(
            "run {} already has checkpoints: continue it with --resume, or choose another --run",
            dir.root().display()
        );
    }
    let mut config = settings(&args, &dir)?;
    let data = load_data(&mut config, resume)?;
    dir.write_config(&config)?;
    if !resume {
        write_json(
            &dir.file("baseline.json"),
            &MostFrequentTag::fit(&data.train_sentences),
        )?;
    }
    eprintln!(
        "training {} on {} sentences ({} tokens, {} words, {} tags) from {}; dev {} sentences; run {}",
        config.settings.objective.word(),
        data.train.len(),
        data.train.n_tokens(),
        config.vocab.n_words(),
        config.vocab.n_tags(),
        config.train.display(),
        data.dev.len(),
        dir.root().display()
    );
    let mut trainer = TagTrainer::new(config.tagger.clone(), config.settings.clone(), &device)?;
    let stopped = fit(&dir, &config, &data, &device, resume, &mut trainer)?;
    finish(&dir, &config, &data, stopped)
}

/// One line of `dev.jsonl`.
#[derive(Serialize)]
struct DevRecord {
    dev_accuracy: f64,
}

/// Trains through the loop: the items are the length-bucketed batches; after every epoch the
/// dev accuracy is logged and the best epoch kept in `best/`.
fn fit(
    dir: &RunDir,
    c: &TagRunConfig,
    data: &TagData,
    device: &Device,
    resume: bool,
    trainer: &mut TagTrainer,
) -> Result<(FitState, Stopped)> {
    let batches = data.train.length_batches(c.settings.batch_size);
    let buckets = c.tagger.net.buckets;
    let items = FnBatches::new(batches.len(), |idx: &[usize]| {
        let sentences: Vec<usize> = idx
            .iter()
            .flat_map(|&i| batches[i].iter().copied())
            .collect();
        data.train
            .batch(&sentences, &c.vocab, buckets)
            .map_err(|e| TrainError::hook("building a batch", e))
    });
    let at = dir
        .checkpoints()
        .load::<FitState>(|_| Ok(()))?
        .map_or(0, |(_, s)| s.step);
    let mut dev_log = MetricsLog::open(&dir.file("dev.jsonl"), Some(at))?;
    let per_epoch = batches.len();
    let validate = |t: &TagTrainer| -> Result<f64, TrainError> {
        let t0 = Instant::now();
        let (correct, total) = t
            .eval_model()
            .accuracy(&data.dev, &c.vocab, device, c.tagger.structured)
            .map_err(|e| TrainError::hook("dev accuracy", e))?;
        let dev_accuracy = correct as f64 / total.max(1) as f64;
        let (step, epoch) = (t.steps(), t.steps().div_ceil(per_epoch));
        let seconds = t0.elapsed().as_secs_f64();
        dev_log.write(&StepRecord {
            step,
            epoch,
            seconds,
            values: DevRecord { dev_accuracy },
        })?;
        eprintln!("epoch {epoch}: dev accuracy {:.2}%", 100.0 * dev_accuracy);
        Ok(dev_accuracy)
    };
    let outcome = fit_loop(dir, c.fit.clone(), resume)
        .validate(validate)
        .run(trainer, &items)?;
    Ok((outcome.state, outcome.stopped))
}

/// Writes `summary.json` and says how the run ended.
fn finish(
    dir: &RunDir,
    c: &TagRunConfig,
    data: &TagData,
    (state, stopped): (FitState, Stopped),
) -> Result<()> {
    let per_epoch = data.train.length_batches(c.settings.batch_size).len();
    let best_epoch = state.best.map(|b| b.step.div_ceil(per_epoch));
    let summary = Summary {
        objective: c.settings.objective,
        best_dev_accuracy: state.best.map(|b| b.score),
        best_epoch,
        steps: state.step,
        stopped: format!("{stopped:?}").to_lowercase(),
        train_seconds: state.elapsed_seconds,
    };
    write_json(&dir.file("summary.json"), &summary)?;
    crate::report::refresh(dir);
    if stopped != Stopped::Finished {
        println!("stopped at step {}: continue with --resume", state.step);
    }
    match (summary.best_dev_accuracy, best_epoch) {
        (Some(acc), Some(epoch)) => println!(
            "{}: best dev accuracy {:.2}% at epoch {epoch} of {}, {:.0} s; run {}",
            c.settings.objective.word(),
            100.0 * acc,
            state.step.div_ceil(per_epoch),
            summary.train_seconds,
            dir.root().display()
        ),
        _ => println!("no epoch finished yet; run {}", dir.root().display()),
    }
    Ok(())
}
