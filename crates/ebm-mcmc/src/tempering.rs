//! Replica exchange (parallel tempering) over any kernel and any energy.
//!
//! `R` replicas of `N` chains sample `p_r(x) ∝ exp(-E(x) / T_r)` on a ladder of temperatures
//! `1 = T_0 < T_1 < ... < T_{R-1}`; only replica 0 samples the target. One step:
//!
//! 1. the kernel moves all `R N` chains at once, each row on its own tempered energy
//!    (`β_r E`, `β = 1 / T`; a per-chain step size lets hot replicas take longer steps);
//! 2. adjacent replicas propose to exchange their states, chain by chain: the even pairs
//!    `(0, 1), (2, 3), ...` on even steps, the odd pairs on odd steps (the deterministic
//!    even-odd scheme), each exchange accepted with probability
//!
//! ```text
//! min(1, exp((β_r - β_{r+1}) (E(x_r) - E(x_{r+1}))))
//! ```
//!
//! which keeps the product of the replicas' distributions invariant, so each replica's marginal
//! stays exact. Hot replicas cross the barriers between modes; exchanges carry their states
//! down, so the cold chains visit every mode in proportion to its mass where a single chain
//! stays in the mode it started in. The cached energies and gradients are exchanged with the
//! states and rescaled, so an exchange costs no evaluation.

use burn::tensor::{Int, Tensor, TensorData};
use ebm_core::{Energy, SeededRng};

use crate::error::McmcError;
use crate::kernel::{ChainState, Kernel, StepInfo};

/// The inverse temperatures `β_r = 1 / T_r` of the replicas, `β_0 = 1` first, decreasing.
#[derive(Debug, Clone, PartialEq)]
pub struct Ladder {
    betas: Vec<f64>,
}

impl Ladder {
    /// The ladder of the temperatures `temperatures` (the first must be 1, each above the last).
    pub fn new(temperatures: &[f64]) -> Result<Self, McmcError> {
        let bad = |reason: String| McmcError::invalid("replica exchange", "temperatures", reason);
        if temperatures.first() != Some(&1.0) {
            return Err(bad(format!(
                "must start at 1 (the target), got {temperatures:?}"
            )));
        }
        if temperatures
            .windows(2)
            .any(|w| !(w[1] > w[0] && w[1].is_finite()))
        {
            return Err(bad(format!(
                "must increase and be finite, got {temperatures:?}"
            )));
        }
        Ok(Self {
            betas: temperatures.iter().map(|t| 1.0 / t).collect(),
        })
    }

    /// `replicas` temperatures spaced geometrically from 1 to `t_max`.
    pub fn geometric(replicas: usize, t_max: f64) -> Result<Self, McmcError> {
        if replicas < 2 || !(t_max > 1.0 && t_max.is_finite()) {
            return Err(McmcError::invalid(
                "replica exchange",
                "ladder",
                format!(
                    "needs at least 2 replicas and a finite t_max > 1, got {replicas} and {t_max}"
                ),
            ));
        }
        let ts: Vec<f64> = (0..replicas)
            .map(|r| t_max.powf(r as f64 / (replicas - 1) as f64))
            .collect();
        Self::new(&ts)
    }

    /// The number of replicas `R`.
    pub fn replicas(&self) -> usize {
        self.betas.len()
    }

    /// The temperatures `T_r`.
    pub fn temperatures(&self) -> Vec<f64> {
        self.betas.iter().map(|b| 1.0 / b).collect()
    }
}

/// The energy of all replicas at once: row `r N + i` is chain `i` of replica `r`, on `β_r E`.
struct LadderEnergy<'a, const D: usize, E: ?Sized> {
    inner: &'a E,
    /// `β` per row, `[R N]`.
    beta: Tensor<1>,
}

impl<const D: usize, E: Energy<D> + ?Sized> LadderEnergy<'_, D, E> {
    /// `β` per row, shaped `[R N, 1, ...]` to scale a batch of rank `D`.
    fn beta_rows(&self) -> Tensor<D> {
        let mut shape = [1usize; D];
        shape[0] = self.beta.dims()[0];
        self.beta.clone().reshape(shape)
    }
}

impl<const D: usize, E: Energy<D> + ?Sized> Energy<D> for LadderEnergy<'_, D, E> {
    fn energy(&self, x: Tensor<D>) -> Tensor<1> {
        self.inner.energy(x) * self.beta.clone()
    }

    fn name(&self) -> String {
        format!("{} on a temperature ladder", self.inner.name())
    }

    fn energy_and_grad(&self, x: Tensor<D>) -> (Tensor<1>, Tensor<D>) {
        let (e, g) = self.inner.energy_and_grad(x);
        (e * self.beta.clone(), g * self.beta_rows())
    }
}

/// What the exchanges of one step did.
#[derive(Debug, Clone, PartialEq)]
pub struct SwapInfo {
    /// The pairs `(r, r + 1)` that proposed this step (even or odd).
    pub pairs: Vec<usize>,
    /// For each of them, the mean acceptance probability over the chains.
    pub accept_prob: Vec<f64>,
    /// For each of them, how many chains exchanged.
    pub swapped: Vec<usize>,
}

/// The state of every replica, and the step count that sets which pairs exchange next.
#[derive(Debug, Clone)]
pub struct TemperingState<const D: usize> {
    /// All `R N` chains, replica-major, with energies and gradients on their own rung.
    pub chains: ChainState<D>,
    /// Steps taken.
    pub step: usize,
}

/// Replica exchange of `chains` chains per replica on `ladder`, moved by `kernel`.
#[derive(Debug, Clone)]
pub struct ReplicaExchange<K> {
    /// The kernel that moves every chain (its per-chain step sizes, if any, are per row).
    pub kernel: K,
    ladder: Ladder,
    chains: usize,
}

impl<K> ReplicaExchange<K> {
    /// The sampler; `chains` chains per replica (at least 1).
    pub fn new(kernel: K, ladder: Ladder, chains: usize) -> Result<Self, McmcError> {
        if chains == 0 {
            return Err(McmcError::invalid(
                "replica exchange",
                "chains",
                "must be at least 1",
            ));
        }
        Ok(Self {
            kernel,
            ladder,
            chains,
        })
    }

    /// The ladder.
    pub fn ladder(&self) -> &Ladder {
        &self.ladder
    }

    /// `β` of every row, `[R N]`, on `device`.
    fn betas(&self, device: &burn::tensor::Device) -> Tensor<1> {
        let rows: Vec<f32> = self
            .ladder
            .betas
            .iter()
            .flat_map(|&b| std::iter::repeat_n(b as f32, self.chains))
            .collect();
        Tensor::from_data(
            TensorData::new(rows, [self.ladder.replicas() * self.chains]),
            device,
        )
    }

    /// The positions of replica 0 (the target's samples), `[N, ...]`.
    pub fn cold<const D: usize>(&self, state: &TemperingState<D>) -> Tensor<D> {
        state.chains.position.clone().narrow(0, 0, self.chains)
    }
}

impl<K> ReplicaExchange<K> {
    /// The state of the replicas at `position` (`[R N, ...]`, replica-major).
    pub fn init<const D: usize, E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        position: Tensor<D>,
    ) -> Result<TemperingState<D>, McmcError>
    where
        K: Kernel<D>,
    {
        let rows = self.ladder.replicas() * self.chains;
        if position.dims()[0] != rows {
            return Err(McmcError::invalid(
                "replica exchange",
                "position",
                format!(
                    "{} rows for {} replicas x {} chains",
                    position.dims()[0],
                    self.ladder.replicas(),
                    self.chains
                ),
            ));
        }
        let ladder = LadderEnergy {
            inner: energy,
            beta: self.betas(&position.device()),
        };
        Ok(TemperingState {
            chains: self.kernel.init(&ladder, position),
            step: 0,
        })
    }

    /// One kernel step of every chain, then one round of exchanges.
    pub fn step<const D: usize, E: Energy<D> + ?Sized>(
        &self,
        energy: &E,
        state: TemperingState<D>,
        rng: &mut SeededRng,
    ) -> Result<(TemperingState<D>, StepInfo, SwapInfo), McmcError>
    where
        K: Kernel<D>,
    {
        let device = state.chains.position.device();
        let ladder = LadderEnergy {
            inner: energy,
            beta: self.betas(&device),
        };
        let (moved, info) = self.kernel.step(&ladder, state.chains, rng);
        let (chains, swaps) = self.exchange(&ladder, moved, state.step % 2, rng)?;
        Ok((
            TemperingState {
                chains,
                step: state.step + 1,
            },
            info,
            swaps,
        ))
    }

    /// The exchanges of the pairs starting at `parity`, applied to the tempered state.
    fn exchange<const D: usize, E: Energy<D> + ?Sized>(
        &self,
        ladder: &LadderEnergy<'_, D, E>,
        state: ChainState<D>,
        parity: usize,
        rng: &mut SeededRng,
    ) -> Result<(ChainState<D>, SwapInfo), McmcError> {
        let (n, betas) = (self.chains, &self.ladder.betas);
        let tempered = state
            .energy
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| {
                McmcError::invalid("replica exchange", "energies", format!("unreadable: {e:?}"))
            })?;
        // Untempered energies E = (β E) / β, row by row.
        let e = |row: usize| f64::from(tempered[row]) / betas[row / n];
        let mut perm: Vec<i64> = (0..(betas.len() * n) as i64).collect();
        let mut info = SwapInfo {
            pairs: Vec::new(),
            accept_prob: Vec::new(),
            swapped: Vec::new(),
        };
        for r in (parity..betas.len().saturating_sub(1)).step_by(2) {
            let (mut prob_sum, mut swapped) = (0.0, 0);
            for i in 0..n {
                let (a, b) = (r * n + i, (r + 1) * n + i);
                let log_alpha = (betas[r] - betas[r + 1]) * (e(a) - e(b));
                let prob = if log_alpha.is_nan() {
                    0.0
                } else {
                    log_alpha.exp().min(1.0)
                };
                prob_sum += prob;
                if rng.uniform_f64() < prob {
                    perm.swap(a, b);
                    swapped += 1;
                }
            }
            info.pairs.push(r);
            info.accept_prob.push(prob_sum / n as f64);
            info.swapped.push(swapped);
        }
        Ok((self.permute(ladder, state, perm), info))
    }

    /// The state with its rows permuted by `perm`, energies and gradients moved to their new
    /// rung: divided by the old `β`, multiplied by the new one.
    fn permute<const D: usize, E: Energy<D> + ?Sized>(
        &self,
        ladder: &LadderEnergy<'_, D, E>,
        state: ChainState<D>,
        perm: Vec<i64>,
    ) -> ChainState<D> {
        let device = state.position.device();
        let rows = perm.len();
        let index = Tensor::<1, Int>::from_data(TensorData::new(perm, [rows]), &device);
        let beta = ladder.beta.clone();
        let beta_rows = ladder.beta_rows();
        let energy = (state.energy / beta.clone()).select(0, index.clone()) * beta;
        let grad = state
            .grad
            .map(|g| (g / beta_rows.clone()).select(0, index.clone()) * beta_rows);
        ChainState {
            position: state.position.select(0, index),
            energy,
            grad,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::StepSize;
    use crate::mala::Mala;
    use burn::tensor::Device;
    use ebm_core::GaussianMixture;

    /// Two modes at -4 and +4 (sd 0.5) with masses 0.3 and 0.7, separated by a barrier of
    /// about 30 nats.
    fn target(device: &Device) -> GaussianMixture {
        GaussianMixture::new(
            &[0.3, 0.7],
            &[vec![-4.0], vec![4.0]],
            &[vec![0.25], vec![0.25]],
            device,
        )
        .unwrap()
    }

    /// The cold chains' mass in the left mode: the mean over chains of each chain's fraction of
    /// draws below 0, with its standard error over chains (independent chains), after
    /// `warmup` steps; every chain starts in the right mode.
    fn left_mass(ladder: Ladder, chains: usize, warmup: usize, draws: usize) -> (f64, f64) {
        let device = Device::default();
        let energy = target(&device);
        let steps: Vec<f64> = ladder
            .temperatures()
            .iter()
            .flat_map(|t| std::iter::repeat_n(0.05 * t.min(50.0), chains))
            .collect();
        let kernel = Mala::new(StepSize::PerChain(steps)).unwrap();
        let rows = ladder.replicas() * chains;
        let pt = ReplicaExchange::new(kernel, ladder, chains).unwrap();
        let start = Tensor::<2>::from_data(TensorData::new(vec![4.0f32; rows], [rows, 1]), &device);
        let mut state = pt.init(&energy, start).unwrap();
        let mut rng = SeededRng::new(7);
        let mut left = vec![0usize; chains];
        for t in 0..warmup + draws {
            state = pt.step(&energy, state, &mut rng).unwrap().0;
            if t >= warmup {
                let x = pt.cold(&state).into_data().try_to_vec::<f32>().unwrap();
                for (l, x) in left.iter_mut().zip(x) {
                    *l += usize::from(x < 0.0);
                }
            }
        }
        let f: Vec<f64> = left.iter().map(|&l| l as f64 / draws as f64).collect();
        let mean = f.iter().sum::<f64>() / chains as f64;
        let var = f.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (chains - 1) as f64;
        (mean, (var / chains as f64).sqrt())
    }

    #[test]
    fn the_cold_chains_find_both_modes_in_proportion_where_a_single_chain_does_not() {
        let ladder = Ladder::geometric(8, 100.0).unwrap();
        let (mass, se) = left_mass(ladder, 32, 200, 1500);
        let z = (mass - 0.3) / se;
        println!("replica exchange: left mass {mass:.3} ± {se:.3} (exact 0.3)");
        assert!(se < 0.05, "too little power: se {se}");
        assert!(
            z.abs() < 4.5,
            "left mass {mass:.3} ± {se:.3}, exact 0.3 (z {z:.1})"
        );
        // Negative control: the same kernel without the hot replicas (a ladder whose top is
        // barely above 1) never leaves the right mode, and the same check rejects it.
        let (mass, se) = left_mass(Ladder::new(&[1.0, 1.01]).unwrap(), 32, 200, 1500);
        let z = (mass - 0.3) / se.max(1e-3);
        println!("without hot replicas: left mass {mass:.3} ± {se:.3}");
        assert!(
            z.abs() > 4.5,
            "a single temperature found the left mode: {mass} ± {se}"
        );
    }

    #[test]
    fn exchanges_are_reported_and_ladders_are_checked() {
        let device = Device::default();
        let energy = target(&device);
        let pt = ReplicaExchange::new(
            Mala::new(StepSize::Shared(0.05)).unwrap(),
            Ladder::geometric(3, 9.0).unwrap(),
            4,
        )
        .unwrap();
        assert_eq!(pt.ladder().temperatures().len(), 3);
        let x = SeededRng::new(1).normal([12, 1], &device);
        let mut rng = SeededRng::new(2);
        let s = pt.init(&energy, x).unwrap();
        let (s, _, even) = pt.step(&energy, s, &mut rng).unwrap();
        let (_, _, odd) = pt.step(&energy, s, &mut rng).unwrap();
        assert_eq!((even.pairs, odd.pairs), (vec![0], vec![1]));
        assert!(even.accept_prob[0] > 0.0 && even.accept_prob[0] <= 1.0);
        assert!(Ladder::new(&[2.0, 3.0]).is_err() && Ladder::new(&[1.0, 1.0]).is_err());
        assert!(
            pt.init(&energy, SeededRng::new(1).normal([5, 1], &device))
                .is_err()
        );
    }
}
