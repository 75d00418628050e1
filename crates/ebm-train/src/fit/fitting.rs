//! The one training loop.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::config::{FitConfig, OnDivergence};
use super::fault::Fault;
use super::interrupt::Interrupt;
use super::learner::{Batches, Learner};
use super::order::epoch_order;
use super::progress::Progress;
use super::record::{MetricsLog, StepRecord};
use super::run_dir::RunDir;
use crate::error::TrainError;

/// The best validation score so far and the step that reached it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// The step.
    pub step: usize,
    /// Its score (higher is better).
    pub score: f64,
}

/// The loop's own state, saved in every checkpoint as `fit.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitState {
    /// Parameter steps done.
    pub step: usize,
    /// Seconds of training so far, over every session of the run.
    pub elapsed_seconds: f64,
    /// The best validation score, if the run validates.
    pub best: Option<Best>,
    /// Restores after divergence so far.
    pub restores: usize,
}

/// Why the loop returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every planned step is done.
    Finished,
    /// Interrupted (Ctrl-C): the step finished and a checkpoint was written.
    Interrupted,
    /// The wall-clock budget ran out; a checkpoint was written.
    Budget,
}

/// What a call of [`Fit::run`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOutcome {
    /// The loop's state at the end.
    pub state: FitState,
    /// The planned total of steps.
    pub total_steps: usize,
    /// Why it returned.
    pub stopped: Stopped,
}

type EpochHook<'a, L> = Box<dyn FnMut(&L, usize) -> Result<(), TrainError> + 'a>;
type Validator<'a, L> = Box<dyn FnMut(&L) -> Result<f64, TrainError> + 'a>;

/// The training loop, in the spirit of burn-train's learner: it owns seeded shuffling, one
/// metrics schema, progress with ETA, Ctrl-C, atomic checkpoints and exact resume, a wall-clock
/// budget, a step limit, the best model on a validation split, recovery from divergence and a
/// per-epoch hook for pictures; the [`Learner`] only takes steps.
///
/// Resuming is exact: the data order is a function of `(seed, epoch)` only, and the learner
/// saves its random state, so a run stopped at any point and resumed ends bit-identical to an
/// uninterrupted one.
pub struct Fit<'a, L> {
    run: &'a RunDir,
    config: FitConfig,
    resume: bool,
    interrupt: Interrupt,
    progress: bool,
    on_epoch: Vec<EpochHook<'a, L>>,
    validate: Option<Validator<'a, L>>,
    fault: Option<Fault>,
}

impl<'a, L: Learner> Fit<'a, L> {
    /// A loop writing into `run` with `config`; a fresh run unless [`Fit::resume`] is set.
    pub fn new(run: &'a RunDir, config: FitConfig) -> Self {
        Self {
            run,
            config,
            resume: false,
            interrupt: Interrupt::new(),
            progress: true,
            on_epoch: Vec::new(),
            validate: None,
            fault: Fault::from_env(),
        }
    }

    /// Continue from the run's latest checkpoint (an error if it has none). Without it, a run
    /// folder that already has checkpoints is an error.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Stop cleanly when `interrupt` is raised (e.g. [`Interrupt::on_ctrl_c`]).
    pub fn interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = interrupt;
        self
    }

    /// Show progress (default on).
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = show;
        self
    }

    /// Runs `hook(learner, epoch)` after every epoch (1-based), e.g. to draw samples; hooks
    /// run in the order they were added.
    pub fn on_epoch(mut self, hook: impl FnMut(&L, usize) -> Result<(), TrainError> + 'a) -> Self {
        self.on_epoch.push(Box::new(hook));
        self
    }

    /// Scores the learner on a validation split after every epoch (higher is better); the best
    /// state is kept in the run's `best/` checkpoint.
    pub fn validate(mut self, score: impl FnMut(&L) -> Result<f64, TrainError> + 'a) -> Self {
        self.validate = Some(Box::new(score));
        self
    }

    /// Trains `learner` on `data` until the plan, the budget or an interruption ends it.
    pub fn run<B>(
        mut self,
        learner: &mut L,
        data: &dyn Batches<B>,
    ) -> Result<FitOutcome, TrainError>
    where
        L: Learner<Batch = B>,
    {
        let (per_epoch, total) = self.config.plan(data.len())?;
        let mut state = self.start(learner)?;
        let mut log = MetricsLog::open(&self.run.metrics_path(), Some(state.step))?;
        let mut progress = self.progress.then(|| Progress::new(total, state.step));
        let session = Instant::now();
        let elapsed_before = state.elapsed_seconds;
        let mut order = (usize::MAX, Vec::new());
        while state.step < total {
            let epoch = state.step / per_epoch;
            if order.0 != epoch {
                order = (epoch, epoch_order(data.len(), self.config.seed, epoch));
            }
            let within = state.step % per_epoch;
            let bs = self.config.batch_size;
            let batch = data.batch(&order.1[within * bs..(within + 1) * bs])?;
            let t0 = Instant::now();
            let values = match learner.step(batch) {
                Ok(values) => values,
                Err(e) => {
                    state = self.recover(learner, e, &state, progress.as_ref())?;
                    log = MetricsLog::open(&self.run.metrics_path(), Some(state.step))?;
                    if let Some(p) = progress.as_mut() {
                        p.set_position(state.step);
                    }
                    continue;
                }
            };
            state.step += 1;
            state.elapsed_seconds = elapsed_before + session.elapsed().as_secs_f64();
            let seconds = t0.elapsed().as_secs_f64();
            if let Some(p) = progress.as_mut() {
                p.step(&learner.summary(&values));
            }
            let step = state.step;
            log.write(&StepRecord {
                step,
                epoch: epoch + 1,
                seconds,
                values,
            })?;
            if self.fault == Some(Fault::AfterStep(step)) {
                std::process::abort();
            }
            let end_of_epoch = step % per_epoch == 0;
            if end_of_epoch {
                self.end_epoch(learner, epoch + 1, &mut state)?;
            }
            let over_budget = self
                .config
                .budget_seconds
                .is_some_and(|b| state.elapsed_seconds >= b);
            let interrupted = self.interrupt.requested();
            if step % self.config.checkpoint_every == 0
                || end_of_epoch
                || step == total
                || interrupted
                || over_budget
            {
                self.checkpoint(learner, &state)?;
            }
            let stopped = match (interrupted, over_budget) {
                (true, _) => Stopped::Interrupted,
                (false, true) => Stopped::Budget,
                _ => continue,
            };
            return Ok(self.finish(progress, state, total, stopped));
        }
        Ok(self.finish(progress, state, total, Stopped::Finished))
    }

    /// The state to start from: a fresh run (checkpointed at step 0) or the latest checkpoint.
    fn start(&self, learner: &mut L) -> Result<FitState, TrainError> {
        let store = self.run.checkpoints();
        if self.resume {
            let loaded = store.load(|dir| learner.load(dir))?;
            return loaded
                .map(|(_, state)| state)
                .ok_or_else(|| TrainError::RunDir {
                    path: self.run.root().to_path_buf(),
                    reason: "has no checkpoint to resume from".into(),
                });
        }
        if store.exists() {
            return Err(TrainError::RunDir {
                path: self.run.root().to_path_buf(),
                reason: "already has checkpoints: continue it with --resume, or choose another run folder".into(),
            });
        }
        let state = FitState::default();
        self.checkpoint(learner, &state)?;
        Ok(state)
    }

    fn checkpoint(&self, learner: &L, state: &FitState) -> Result<(), TrainError> {
        let mut store = self.run.checkpoints();
        if let Some(Fault::InCheckpoint(step, stage)) = self.fault
            && step == state.step
        {
            store = store.abort_after(stage);
        }
        store
            .save(state.step, state, |dir| learner.save(dir))
            .map(|_| ())
    }

    /// Validation and the epoch hook.
    fn end_epoch(
        &mut self,
        learner: &L,
        epoch: usize,
        state: &mut FitState,
    ) -> Result<(), TrainError> {
        if let Some(score) = self.validate.as_mut() {
            let score = score(learner)?;
            if !score.is_finite() {
                return Err(TrainError::Diverged {
                    step: state.step,
                    what: "validation score".into(),
                    value: score,
                });
            }
            if state.best.is_none_or(|b| score > b.score) {
                state.best = Some(Best {
                    step: state.step,
                    score,
                });
                self.run
                    .best()
                    .save(state.step, &*state, |dir| learner.save(dir))?;
            }
        }
        for hook in &mut self.on_epoch {
            hook(learner, epoch)?;
        }
        Ok(())
    }

    /// After a failed step: restore the last checkpoint and damp the learner, if the policy
    /// allows and the failure is a divergence; otherwise the error.
    fn recover(
        &self,
        learner: &mut L,
        error: TrainError,
        state: &FitState,
        progress: Option<&Progress>,
    ) -> Result<FitState, TrainError> {
        let OnDivergence::Restore { max_restores } = self.config.on_divergence else {
            return Err(error);
        };
        if !error.is_divergence() || state.restores >= max_restores {
            return Err(error);
        }
        let (dir, mut restored): (_, FitState) = self
            .run
            .checkpoints()
            .load(|dir| learner.load(dir))?
            .ok_or(error)?;
        restored.restores = state.restores + 1;
        learner.damp(restored.restores)?;
        let message = format!(
            "diverged after step {}; restored {} (restore {} of {max_restores}), learning rate halved",
            state.step,
            dir.display(),
            restored.restores
        );
        match progress {
            Some(p) => p.println(&message),
            None => eprintln!("{message}"),
        }
        Ok(restored)
    }

    fn finish(
        &self,
        progress: Option<Progress>,
        state: FitState,
        total_steps: usize,
        stopped: Stopped,
    ) -> FitOutcome {
        if let Some(p) = progress {
            p.finish(match stopped {
                Stopped::Finished => "done",
                Stopped::Interrupted => "interrupted: checkpoint written, continue with --resume",
                Stopped::Budget => "time budget spent: checkpoint written",
            });
        }
        FitOutcome {
            state,
            total_steps,
            stopped,
        }
    }
}
