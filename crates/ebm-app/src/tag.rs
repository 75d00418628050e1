//! `ebm tag`: part-of-speech tagging with a linear-chain energy (crate `ebm-tag`).
//!
//! - `ebm tag train`: trains on the train split, selects the epoch by dev accuracy, writes a run
//!   directory.
//! - `ebm tag eval`: UPOS accuracy on the test split beside the most-frequent-tag baseline and,
//!   given their runs, the per-token softmax baseline and other objectives.
//! - `ebm tag [FILE]`: tags raw text, one sentence a line, whitespace-tokenised (stdin without
//!   `FILE`), and prints `token/TAG` pairs.
//!
//! ```text
//! runs/<name>/
//!   config.json     tagger shape, training settings, data paths
//!   vocab.json      word and tag vocabularies
//!   baseline.json   the most-frequent-tag tables (from the same training data)
//!   metrics.jsonl   one line per epoch: loss, dev accuracy, times
//!   model.bpk       the parameters of the best epoch on dev (written atomically)
//!   summary.json    best dev accuracy and epoch, training time
//!   eval.json       written by `ebm tag eval`
//! ```

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::{Args, Subcommand};
use ebm_core::device_from_word;
use ebm_tag::{
    Corpus, MostFrequentTag, NetConfig, Objective, Sentence, TagTrainer, Tagger, TaggerConfig,
    TrainSettings, Vocab, load_model, read_conllu,
};
use serde::{Deserialize, Serialize};

use crate::output::write_atomic;

/// `ebm tag`: a subcommand, or raw text to tag.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TagArgs {
    #[command(subcommand)]
    command: Option<TagCommand>,
    #[command(flatten)]
    raw: RawArgs,
}

#[derive(Debug, Subcommand)]
enum TagCommand {
    /// Train a tagger on the train split, select on dev, write a run directory.
    Train(TrainArgs),
    /// UPOS accuracy on the test split beside the baselines.
    Eval(EvalArgs),
}

/// Where the treebank is.
#[derive(Debug, Args, Clone)]
struct DataArgs {
    /// Folder with `*-train.conllu[.gz]`, `*-dev.conllu[.gz]`, `*-test.conllu[.gz]`.
    #[arg(long, default_value = "datasets/ud-en-ewt")]
    data: PathBuf,
    /// The training file (overrides the one in `--data`).
    #[arg(long)]
    train: Option<PathBuf>,
    /// The development file (overrides the one in `--data`).
    #[arg(long)]
    dev: Option<PathBuf>,
    /// The test file (overrides the one in `--data`).
    #[arg(long)]
    test: Option<PathBuf>,
}

impl DataArgs {
    fn split(&self, name: &str) -> Result<PathBuf> {
        let given = match name {
            "train" => &self.train,
            "dev" => &self.dev,
            _ => &self.test,
        };
        if let Some(p) = given {
            return Ok(p.clone());
        }
        let entries = std::fs::read_dir(&self.data).with_context(|| {
            format!(
                "reading the treebank folder {} (give --data or --{name})",
                self.data.display()
            )
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.ends_with(&format!("-{name}.conllu"))
                        || n.ends_with(&format!("-{name}.conllu.gz"))
                })
            })
            .collect();
        found.sort();
        found.into_iter().next().with_context(|| {
            format!(
                "no *-{name}.conllu[.gz] in {} (give --{name} FILE)",
                self.data.display()
            )
        })
    }

    fn read(&self, name: &str) -> Result<(PathBuf, Vec<Sentence>)> {
        let path = self.split(name)?;
        let sentences = read_conllu(&path).with_context(|| format!("reading the {name} split"))?;
        if sentences.is_empty() {
            bail!("{} has no sentences", path.display());
        }
        Ok((path, sentences))
    }
}

#[derive(Debug, Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// `ml` (exact maximum likelihood), `cd-ffbs`, `cd-gibbs` (contrastive divergence), or
    /// `softmax` (the same network without transitions: the baseline).
    #[arg(long, default_value = "ml")]
    objective: String,
    /// The run directory is `<runs>/<name>` (default name: `tag-<objective>`).
    #[arg(long)]
    name: Option<String>,
    /// The folder of run directories.
    #[arg(long, default_value = "runs")]
    runs: PathBuf,
    /// Epochs at most.
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    /// Wall-clock budget in minutes: training stops at the first batch past it.
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Sentences per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Dropout on token inputs and the hidden layer.
    #[arg(long, default_value_t = 0.25)]
    dropout: f32,
    /// Probability of hiding a known word as unknown in training.
    #[arg(long, default_value_t = 0.05)]
    word_dropout: f32,
    /// The learning rate decays linearly to this fraction of `--lr` over the epochs.
    #[arg(long, default_value_t = 0.1)]
    lr_final: f64,
    /// Block Gibbs sweeps per negative (`cd-gibbs`).
    #[arg(long, default_value_t = 1)]
    gibbs_sweeps: usize,
    /// Words seen fewer times than this in training are unknown to the word embedding.
    #[arg(long, default_value_t = 2)]
    min_count: usize,
    /// Hidden width of the window layer.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Context half-width (window of 2w + 1 tokens). 1 by default: with +-1 the transitions
    /// beat the same network without them on every seed measured; with +-2 the two tie (README).
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Only the first this many training sentences.
    #[arg(long)]
    limit: Option<usize>,
    /// Seed of initialisation, batch order, dropout and negatives.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// `cpu`, `wgpu`, `vulkan` or `cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// The run directory of the structured tagger.
    #[arg(long, default_value = "runs/tag-ml")]
    run: PathBuf,
    /// The run directory of the per-token softmax baseline (`ebm tag train --objective softmax`);
    /// default: `tag-softmax` beside `--run`, if present.
    #[arg(long)]
    softmax_run: Option<PathBuf>,
    /// Further runs to report beside (for example the CD objectives).
    #[arg(long)]
    also: Vec<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// `cpu`, `wgpu`, `vulkan` or `cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Debug, Args)]
struct RawArgs {
    /// Text to tag, one sentence a line (standard input if absent).
    input: Option<PathBuf>,
    /// The run directory of the tagger.
    #[arg(long, default_value = "runs/tag-ml")]
    run: PathBuf,
    /// `cpu`, `wgpu`, `vulkan` or `cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// `config.json` of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunConfig {
    tagger: TaggerConfig,
    settings: TrainSettings,
    train: PathBuf,
    dev: PathBuf,
    min_count: usize,
    epochs: usize,
    minutes: f64,
    limit: Option<usize>,
    train_sentences: usize,
    train_tokens: usize,
}

/// One line of `metrics.jsonl`.
#[derive(Debug, Serialize)]
struct EpochMetrics {
    epoch: usize,
    steps: usize,
    train_loss: f64,
    dev_accuracy: f64,
    epoch_seconds: f64,
    sample_seconds: f64,
    elapsed_seconds: f64,
    tokens_per_second: f64,
    best: bool,
}

/// `summary.json` of a run.
#[derive(Debug, Serialize, Deserialize)]
struct Summary {
    objective: Objective,
    best_dev_accuracy: f64,
    best_epoch: usize,
    epochs_done: usize,
    steps: usize,
    train_seconds: f64,
    stopped_by_budget: bool,
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    write_atomic(path, |tmp| {
        std::fs::write(tmp, &text).with_context(|| format!("writing {}", tmp.display()))
    })
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// A trained run read back.
struct LoadedRun {
    config: RunConfig,
    vocab: Vocab,
    model: Tagger,
}

fn load_run(dir: &Path, device: &Device) -> Result<LoadedRun> {
    if !dir.is_dir() {
        bail!(
            "run directory {} does not exist (train one with `ebm tag train`)",
            dir.display()
        );
    }
    let config: RunConfig = read_json(&dir.join("config.json"))?;
    let vocab = read_json::<Vocab>(&dir.join("vocab.json"))?.reindex();
    let model = load_model(&config.tagger, &dir.join("model.bpk"), device)
        .with_context(|| format!("loading the tagger of {}", dir.display()))?;
    Ok(LoadedRun {
        config,
        vocab,
        model,
    })
}

/// Runs `ebm tag ...`.
pub fn run(args: TagArgs) -> Result<()> {
    match args.command {
        Some(TagCommand::Train(a)) => train(a),
        Some(TagCommand::Eval(a)) => eval(a),
        None => tag_raw(args.raw),
    }
}

fn train(args: TrainArgs) -> Result<()> {
    let objective = Objective::from_word(&args.objective)?;
    if args.epochs == 0 || args.minutes.is_nan() || args.minutes <= 0.0 {
        bail!(
            "--epochs must be >= 1 and --minutes > 0 (got {} and {})",
            args.epochs,
            args.minutes
        );
    }
    let device = device_from_word(&args.device)?;
    let (train_path, mut train_sents) = args.data.read("train")?;
    if let Some(limit) = args.limit {
        train_sents.truncate(limit.max(1));
    }
    let (dev_path, dev_sents) = args.data.read("dev")?;
    let vocab = Vocab::build(&train_sents, args.min_count)?;
    let train = Corpus::new(&train_sents, &vocab)?;
    // Dev tags outside the training tag set cannot be predicted; keep them countable as errors
    // by mapping sentences with such tags out (reported).
    let (dev_known, dropped): (Vec<Sentence>, Vec<Sentence>) = dev_sents
        .into_iter()
        .partition(|s| s.tags.iter().all(|t| vocab.tag_id(t).is_some()));
    if !dropped.is_empty() {
        eprintln!(
            "note: {} dev sentences carry tags unseen in training and are left out of selection",
            dropped.len()
        );
    }
    let dev = Corpus::new(&dev_known, &vocab)?;
    if dev.is_empty() {
        bail!("no usable dev sentences in {}", dev_path.display());
    }
    let mut net = NetConfig::new(vocab.n_words(), vocab.n_tags());
    net.hidden = args.hidden;
    net.window = args.window;
    let tagger = TaggerConfig {
        net,
        structured: objective.structured(),
    };
    let settings = TrainSettings {
        objective,
        lr: args.lr,
        batch_size: args.batch_size,
        dropout: args.dropout,
        gibbs_sweeps: args.gibbs_sweeps,
        grad_clip: 5.0,
        seed: args.seed,
        word_dropout: args.word_dropout,
        total_steps: Some(args.epochs * train.length_batches(args.batch_size).len()),
        lr_final: args.lr_final,
    };
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("tag-{}", args.objective));
    let dir = args.runs.join(&name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = RunConfig {
        tagger: tagger.clone(),
        settings: settings.clone(),
        train: train_path.clone(),
        dev: dev_path.clone(),
        min_count: args.min_count,
        epochs: args.epochs,
        minutes: args.minutes,
        limit: args.limit,
        train_sentences: train.len(),
        train_tokens: train.n_tokens(),
    };
    write_json(&dir.join("config.json"), &config)?;
    write_json(&dir.join("vocab.json"), &vocab)?;
    write_json(
        &dir.join("baseline.json"),
        &MostFrequentTag::fit(&train_sents),
    )?;
    let metrics_path = dir.join("metrics.jsonl");
    let mut metrics = std::fs::File::create(&metrics_path)
        .with_context(|| format!("creating {}", metrics_path.display()))?;
    eprintln!(
        "training {} on {} sentences ({} tokens, {} words, {} tags) from {}; dev {} sentences; run {}",
        args.objective,
        train.len(),
        train.n_tokens(),
        vocab.n_words(),
        vocab.n_tags(),
        train_path.display(),
        dev.len(),
        dir.display()
    );
    let mut trainer = TagTrainer::new(tagger.clone(), settings.clone(), &device)?;
    let buckets = tagger.net.buckets;
    let batches = train.length_batches(settings.batch_size);
    let start = Instant::now();
    let budget = args.minutes * 60.0;
    let (mut best, mut best_epoch, mut epochs_done) = (-1.0f64, 0usize, 0usize);
    let mut stopped_by_budget = false;
    for epoch in 1..=args.epochs {
        let t0 = Instant::now();
        let mut order: Vec<usize> = (0..batches.len()).collect();
        // Fisher-Yates with the run's stream.
        for i in (1..order.len()).rev() {
            let j = (trainer.rng().uniform_f64() * (i + 1) as f64) as usize % (i + 1);
            order.swap(i, j);
        }
        let (mut loss_sum, mut tokens, mut sample_seconds) = (0.0, 0usize, 0.0);
        for (done, &bi) in order.iter().enumerate() {
            let batch = train.batch(&batches[bi], &vocab, buckets)?;
            let report = trainer.step(&batch)?;
            loss_sum += report.loss * report.tokens as f64;
            tokens += report.tokens;
            sample_seconds += report.sample_seconds;
            if (done + 1) % 100 == 0 {
                eprintln!(
                    "epoch {epoch} batch {}/{} loss {:.4} ({:.0} tokens/s, {:.0} s elapsed)",
                    done + 1,
                    order.len(),
                    loss_sum / tokens as f64,
                    tokens as f64 / t0.elapsed().as_secs_f64(),
                    start.elapsed().as_secs_f64()
                );
            }
            if start.elapsed().as_secs_f64() > budget {
                stopped_by_budget = true;
                break;
            }
        }
        let epoch_seconds = t0.elapsed().as_secs_f64();
        let model = trainer.eval_model();
        let (correct, total) = model.accuracy(&dev, &vocab, &device, tagger.structured)?;
        let acc = correct as f64 / total.max(1) as f64;
        let improved = acc > best;
        if improved {
            best = acc;
            best_epoch = epoch;
            trainer.save_model(&dir.join("model.bpk"))?;
        }
        epochs_done = epoch;
        let line = EpochMetrics {
            epoch,
            steps: trainer.steps(),
            train_loss: loss_sum / tokens.max(1) as f64,
            dev_accuracy: acc,
            epoch_seconds,
            sample_seconds,
            elapsed_seconds: start.elapsed().as_secs_f64(),
            tokens_per_second: tokens as f64 / epoch_seconds,
            best: improved,
        };
        writeln!(metrics, "{}", serde_json::to_string(&line)?)
            .and_then(|_| metrics.flush())
            .with_context(|| format!("writing {}", metrics_path.display()))?;
        eprintln!(
            "epoch {epoch}: loss {:.4}, dev accuracy {:.2}%{} ({:.0} s, {:.0} s elapsed)",
            line.train_loss,
            100.0 * acc,
            if improved { " (best)" } else { "" },
            epoch_seconds,
            line.elapsed_seconds
        );
        if stopped_by_budget {
            eprintln!("stopping: the {} minute budget is spent", args.minutes);
            break;
        }
    }
    let summary = Summary {
        objective,
        best_dev_accuracy: best,
        best_epoch,
        epochs_done,
        steps: trainer.steps(),
        train_seconds: start.elapsed().as_secs_f64(),
        stopped_by_budget,
    };
    write_json(&dir.join("summary.json"), &summary)?;
    println!(
        "{}: best dev accuracy {:.2}% at epoch {best_epoch} of {epochs_done}, {:.0} s; run {}",
        args.objective,
        100.0 * best,
        summary.train_seconds,
        dir.display()
    );
    Ok(())
}

/// One row of the evaluation table.
#[derive(Debug, Serialize)]
struct EvalRow {
    model: String,
    accuracy: f64,
    correct: usize,
    tokens: usize,
    train_seconds: Option<f64>,
    eval_seconds: f64,
    /// Against the first run (`--run`), token by token: how many this model gets right that the
    /// first gets wrong (`wins`), the reverse (`losses`), and McNemar's statistic
    /// `z = (wins - losses) / sqrt(wins + losses)` (|z| > 1.96: different at the 5% level).
    paired: Option<Paired>,
}

/// A paired comparison of two taggers on the same tokens (see [`EvalRow::paired`]).
#[derive(Debug, Serialize)]
struct Paired {
    wins: usize,
    losses: usize,
    z: f64,
}

impl Paired {
    fn new(this: &[bool], first: &[bool]) -> Self {
        let wins = this.iter().zip(first).filter(|&(a, b)| *a && !*b).count();
        let losses = this.iter().zip(first).filter(|&(a, b)| !*a && *b).count();
        let z = (wins as f64 - losses as f64) / ((wins + losses) as f64).sqrt().max(1.0);
        Self { wins, losses, z }
    }
}

fn eval(args: EvalArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    let (test_path, test_sents) = args.data.read("test")?;
    let main = load_run(&args.run, &device)?;
    let baseline: MostFrequentTag = read_json(&args.run.join("baseline.json"))?;
    let mut rows = Vec::new();
    let t0 = Instant::now();
    let (c, n) = baseline.accuracy(&test_sents);
    rows.push(EvalRow {
        model: "most-frequent-tag".into(),
        accuracy: c as f64 / n.max(1) as f64,
        correct: c,
        tokens: n,
        train_seconds: None,
        eval_seconds: t0.elapsed().as_secs_f64(),
        paired: None,
    });
    let mut first_hits: Vec<bool> = Vec::new();
    let mut runs = vec![args.run.clone()];
    // The softmax baseline: as given, else `tag-softmax` beside the run if it was trained.
    let softmax_run = args.softmax_run.clone().or_else(|| {
        let sibling = args.run.parent()?.join("tag-softmax");
        (sibling.join("model.bpk").is_file() && sibling != args.run).then_some(sibling)
    });
    if softmax_run.is_none() {
        eprintln!(
            "note: no softmax baseline run (train one with `ebm tag train --objective softmax`, or give --softmax-run)"
        );
    }
    runs.extend(softmax_run);
    runs.extend(args.also.iter().cloned());
    for (i, dir) in runs.iter().enumerate() {
        let loaded = if i == 0 {
            None
        } else {
            Some(load_run(dir, &device)?)
        };
        let run = loaded.as_ref().unwrap_or(&main);
        let t0 = Instant::now();
        let structured = run.config.tagger.structured;
        let forms: Vec<Vec<String>> = test_sents.iter().map(|s| s.forms.clone()).collect();
        let pred = run
            .model
            .predict(&forms, &run.vocab, &device, structured, 256)?;
        let hits: Vec<bool> = pred
            .iter()
            .zip(&test_sents)
            .flat_map(|(p, s)| p.iter().zip(&s.tags).map(|(a, b)| run.vocab.tags[*a] == *b))
            .collect();
        let correct = hits.iter().filter(|&&h| h).count();
        let tokens = hits.len();
        let paired = if i == 0 {
            first_hits = hits;
            None
        } else {
            Some(Paired::new(&hits, &first_hits))
        };
        let summary: Option<Summary> = read_json(&dir.join("summary.json")).ok();
        let objective = serde_json::to_value(run.config.settings.objective)?;
        rows.push(EvalRow {
            model: format!("{} ({})", objective.as_str().unwrap_or("?"), dir.display()),
            accuracy: correct as f64 / tokens.max(1) as f64,
            correct,
            tokens,
            train_seconds: summary.map(|s| s.train_seconds),
            eval_seconds: t0.elapsed().as_secs_f64(),
            paired,
        });
    }
    println!("UPOS accuracy on {}:", test_path.display());
    for r in &rows {
        println!(
            "  {:<48} {:>6.2}%  ({}/{}){}",
            r.model,
            100.0 * r.accuracy,
            r.correct,
            r.tokens,
            r.train_seconds
                .map(|s| format!("  trained {s:.0} s"))
                .unwrap_or_default()
        );
        if let Some(p) = &r.paired {
            println!(
                "      vs the first: {} tokens right where it is wrong, {} wrong where it is right, McNemar z = {:+.2}",
                p.wins, p.losses, p.z
            );
        }
    }
    write_json(&args.run.join("eval.json"), &rows)?;
    Ok(())
}

fn tag_raw(args: RawArgs) -> Result<()> {
    let device = device_from_word(&args.device)?;
    let run = load_run(&args.run, &device)?;
    let lines: Vec<String> = match &args.input {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .map(str::to_string)
            .collect(),
        None => std::io::stdin()
            .lock()
            .lines()
            .collect::<std::io::Result<_>>()
            .context("reading standard input")?,
    };
    let forms: Vec<Vec<String>> = lines
        .iter()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    let pred = run.model.predict(
        &forms,
        &run.vocab,
        &device,
        run.config.tagger.structured,
        64,
    )?;
    let mut out = std::io::stdout().lock();
    for (f, p) in forms.iter().zip(&pred) {
        let pairs: Vec<String> = f
            .iter()
            .zip(p)
            .map(|(w, t)| format!("{w}/{}", run.vocab.tags[*t]))
            .collect();
        writeln!(out, "{}", pairs.join(" ")).context("writing standard output")?;
    }
    Ok(())
}
