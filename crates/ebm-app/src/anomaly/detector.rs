//! The tabular anomaly detector: its recipe, how it is fitted through the one training loop, and
//! how a fitted one is saved in and loaded from a run folder.

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::{
    Background, KdeSampler, MarginalKde, MlpEnergy, MlpEnergyConfig, RobustScaler, TabularEnergy,
};
use ebm_data::Table;
use ebm_train::fit::FitOutcome;
use ebm_train::{FitConfig, FnBatches, NceConfig, NceTrainer, RunDir, TrainError};
use serde::{Deserialize, Serialize};

use crate::args::fit_loop;

/// The one default recipe for every table, chosen on validation splits carved from the training
/// parts of the eight ADBench sets (never their test parts; see BENCHMARKS.md):
///
/// - columns standardised robustly (median, IQR / 1.349);
/// - the marginal expert: each column's KDE, Silverman's bandwidth, 1,024 grid points, mixed
///   with a broad background `0.99 KDE_j + 0.01 N(0, 5^2)` when scoring (the NCE noise is the
///   KDEs' alone);
/// - the dependency expert: an MLP energy, two hidden layers of 64 Swish units, trained by NCE
///   against draws from the marginal expert (one noise draw per row), 1,000 AdamW steps of 256
///   rows, learning rate 1e-3, weight decay 1e-4, gradient norm clipped at 10;
/// - `E = M + 0.3 f`: the dependency expert tempered, which beat `w = 1` (and `w = 0`, the
///   marginals alone) on the validation splits of contaminated training data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    /// Hidden widths of the dependency expert.
    pub hidden: Vec<usize>,
    /// NCE parameter steps.
    pub steps: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// AdamW's learning rate.
    pub lr: f64,
    /// AdamW's weight decay.
    pub weight_decay: f64,
    /// The weight `w` of the dependency expert.
    pub weight: f64,
    /// The factor on Silverman's bandwidth.
    pub bandwidth: f64,
    /// Grid points per column of the marginal expert.
    pub grid: usize,
    /// The broad component mixed into each column's density (none in detectors saved before
    /// it existed).
    #[serde(default)]
    pub background: Option<Background>,
}

impl Default for Recipe {
    fn default() -> Self {
        Self {
            hidden: vec![64, 64],
            steps: 1000,
            batch_size: 256,
            lr: 1e-3,
            weight_decay: 1e-4,
            weight: 0.3,
            bandwidth: 1.0,
            grid: 1024,
            background: Some(Background {
                weight: 0.01,
                scale: 5.0,
            }),
        }
    }
}

impl Recipe {
    /// The default recipe with the flags `--steps` and `--weight` applied where given, checked.
    pub fn with(steps: Option<usize>, weight: Option<f64>) -> Result<Self> {
        let mut recipe = Self::default();
        recipe.steps = steps.unwrap_or(recipe.steps);
        recipe.weight = weight.unwrap_or(recipe.weight);
        recipe.validate()?;
        Ok(recipe)
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.batch_size == 0 || self.grid < 2 {
            bail!("the recipe needs steps >= 1, batch size >= 1 and grid >= 2: {self:?}");
        }
        if !(self.bandwidth > 0.0 && self.bandwidth.is_finite()) {
            bail!("--bandwidth must be positive, got {}", self.bandwidth);
        }
        if !(self.weight >= 0.0 && self.weight.is_finite()) {
            bail!("--weight must be >= 0, got {}", self.weight);
        }
        if let Some(b) = self.background
            && !b.is_valid()
        {
            bail!("the background needs 0 < weight < 1 and a finite scale > 0: {b:?}");
        }
        Ok(())
    }

    /// The loop's settings for `rows` training rows: enough epochs to cover the steps.
    pub fn fit_config(&self, rows: usize, seed: u64) -> FitConfig {
        let batch = self.batch_size.min(rows).max(1);
        let mut fit = FitConfig::new(seed, batch, self.steps.div_ceil((rows / batch).max(1)));
        fit.max_steps = Some(self.steps);
        fit.checkpoint_every = self.steps;
        fit
    }
}

/// What a fitted detector keeps besides the network's weights (`detector.json` in its run).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detector {
    /// The feature columns, in order.
    pub columns: Vec<String>,
    /// The recipe it was fitted with.
    pub recipe: Recipe,
    /// The standardisation.
    pub scaler: RobustScaler,
    /// The marginal expert.
    pub marginal: MarginalKde,
    /// The alarm threshold: energies above it are flagged.
    pub threshold: Option<f64>,
    /// The false-alarm rate on the training rows that set the threshold.
    pub false_alarm: Option<f64>,
}

/// Where and how a fit runs.
pub struct Session<'a> {
    /// The run folder of the loop (checkpoints, metrics).
    pub run: &'a RunDir,
    /// Continue from the run's last checkpoint.
    pub resume: bool,
    /// Show the loop's progress.
    pub progress: bool,
    /// The device.
    pub device: &'a Device,
}

/// Fits the detector on the rows of `table` (its labels unused) through the one training loop,
/// with the network's initialisation, data order and noise from `seed`.
pub fn fit(
    table: &Table,
    recipe: &Recipe,
    seed: u64,
    session: &Session<'_>,
) -> Result<(Detector, TabularEnergy, FitOutcome)> {
    recipe.validate()?;
    let (values, rows, cols, device) = (&table.values, table.rows, table.cols, session.device);
    let scaler = RobustScaler::fit(values, rows, cols);
    let z = scaler.transform(values);
    let marginal = MarginalKde::fit(&z, rows, cols, recipe.bandwidth, recipe.grid);
    let noise = KdeSampler::new(&marginal, z.clone(), rows);
    let marginal = match recipe.background {
        None => marginal,
        Some(b) => marginal
            .with_background(b)
            .context("the recipe's background was checked")?,
    };
    let net = MlpEnergyConfig::new(cols)
        .with_hidden(recipe.hidden.clone())
        .init(&device.clone().autodiff(), seed)?;
    let config = NceConfig {
        seed: seed ^ 0x6e63_655f_6e6f_6973,
        noise_ratio: 1,
        lr: recipe.lr,
        weight_decay: recipe.weight_decay,
        grad_clip_norm: Some(10.0),
    };
    let mut trainer = NceTrainer::new(net, noise, config)?;
    let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
    let ad = device.clone().autodiff();
    let batches = FnBatches::new(rows, |idx: &[usize]| -> Result<Tensor<2>, TrainError> {
        let data: Vec<f32> = idx
            .iter()
            .flat_map(|&i| &z32[i * cols..(i + 1) * cols])
            .copied()
            .collect();
        Ok(Tensor::from_data(
            TensorData::new(data, [idx.len(), cols]),
            &ad,
        ))
    });
    let outcome = fit_loop(session.run, recipe.fit_config(rows, seed), session.resume)
        .progress(session.progress)
        .run(&mut trainer, &batches)?;
    let energy = TabularEnergy::new(
        scaler.clone(),
        marginal.clone(),
        trainer.model().valid(),
        recipe.weight,
    )?;
    let detector = Detector {
        columns: table.columns.clone(),
        recipe: recipe.clone(),
        scaler,
        marginal,
        threshold: None,
        false_alarm: None,
    };
    Ok((detector, energy, outcome))
}

impl Detector {
    /// Writes `detector.json` into the run.
    pub fn save(&self, run: &RunDir) -> Result<()> {
        let path = run.file("detector.json");
        let json = serde_json::to_vec(self)?;
        ebm_train::fit::durable::write_atomic(&path, &json)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The detector of a fitted run, with its network from the run's latest checkpoint.
    pub fn load(run: &RunDir, device: &Device) -> Result<(Self, TabularEnergy)> {
        let path = run.file("detector.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (fit the run with `ebm anomaly fit` first)",
                path.display()
            )
        })?;
        let detector: Detector = serde_json::from_str(&text)
            .with_context(|| format!("{} is corrupt", path.display()))?;
        let ckpt = run
            .checkpoints()
            .latest()
            .with_context(|| format!("{} has no checkpoint", run.root().display()))?;
        let model_path = ckpt.join("model.bpk");
        let record = ebm_train::read_module_record(&model_path)?;
        let net: MlpEnergy = MlpEnergyConfig::new(detector.columns.len())
            .with_hidden(detector.recipe.hidden.clone())
            .init(device, 0)?
            .try_load_record(record)
            .with_context(|| format!("{} does not fit the detector", model_path.display()))?;
        let energy = TabularEnergy::new(
            detector.scaler.clone(),
            detector.marginal.clone(),
            net,
            detector.recipe.weight,
        )?;
        Ok((detector, energy))
    }
}
