//! The conditional energy `E(x, y) = -logit_y(x)` over class labels, from an image network with
//! one output per class, and the energies over `x` it induces.
//!
//! With `f(x) in R^K` the network's outputs (logits):
//!
//! ```text
//! E(x, y)  = -f_y(x)                                   joint energy, p(x, y) ∝ exp(f_y(x))
//! E_S(x)   = -log sum_{y in S} exp(f_y(x))             "the class is in S" (an OR over labels)
//! E(x)     = E_{all}(x) = -logsumexp_y f_y(x)          the marginal energy of x
//! p(y | x) = softmax(f(x))_y                            so argmin_y E(x, y) is the classifier
//! ```
//!
//! (Grathwohl et al. 2020's reading of a classifier as an energy model.) [`ClassEnergy`] is
//! `E_S` for a fixed set, [`LabelEnergy`] is `E(x_i, y_i)` with one label per item (for
//! sampling `x` given `y`). Both freeze the network's parameters in `energy_and_grad`.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::energy::{Energy, autodiff_energy_and_grad};
use crate::error::EnergyError;
use crate::neural::backbone::{CnnBackbone, CnnBackboneConfig};

/// Configuration of a [`ConditionalNet`]: the UvA tutorial's CNN ([`CnnBackbone`]) with
/// `classes` outputs.
#[derive(Config, Debug)]
pub struct ConditionalNetConfig {
    /// Number of classes `K` (outputs).
    pub classes: usize,
    /// Image channels.
    #[config(default = 1)]
    pub channels: usize,
    /// The width `h`.
    #[config(default = 16)]
    pub hidden: usize,
    /// Side of the square input images.
    #[config(default = 28)]
    pub image_size: usize,
}

impl ConditionalNetConfig {
    /// Builds the network on `device`, parameters drawn from `seed` (PyTorch's uniform fan-in
    /// initialisation, from our own [`SeededRng`](crate::SeededRng)). Fails when `classes < 2`,
    /// `hidden < 2`, `channels == 0` or `image_size == 0`.
    pub fn init(&self, device: &Device, seed: u64) -> Result<ConditionalNet, EnergyError> {
        if self.classes < 2 {
            return Err(EnergyError::InvalidParameter {
                energy: "ConditionalNet".into(),
                parameter: "classes".into(),
                reason: format!("need at least 2 classes, got {}", self.classes),
            });
        }
        let backbone = CnnBackboneConfig::new()
            .with_channels(self.channels)
            .with_hidden(self.hidden)
            .with_image_size(self.image_size)
            .with_outputs(self.classes)
            .init(device, seed)?;
        Ok(ConditionalNet {
            backbone,
            classes: self.classes,
        })
    }
}

/// An image network with one output per class: the logits `f(x)`, `[N, C, H, W] -> [N, K]`.
#[derive(Module, Debug)]
pub struct ConditionalNet {
    /// The CNN with `K` outputs.
    pub backbone: CnnBackbone,
    /// `K`.
    pub classes: usize,
}

impl ConditionalNet {
    /// The logits `f(x)`, `[N, K]`.
    pub fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        self.backbone.forward(x)
    }

    /// Image channels.
    pub fn channels(&self) -> usize {
        self.backbone.channels
    }

    /// Image side.
    pub fn image_size(&self) -> usize {
        self.backbone.image_size
    }

    /// The joint energy `E(x_i, y_i) = -f_{y_i}(x_i)` of a batch with one label per item, `[N]`.
    ///
    /// # Panics
    /// If `labels.len()` differs from the batch size or a label is `>= K` (checked by
    /// [`LabelEnergy::new`] and the trainers before they call this).
    pub fn joint_energy(&self, x: Tensor<4>, labels: &[usize]) -> Tensor<1> {
        let device = x.device();
        let logits = self.logits(x);
        let [n, k] = logits.dims();
        (logits * one_hot(labels, k, &device))
            .sum_dim(1)
            .reshape([n])
            .neg()
    }

    /// The marginal energy `E(x) = -logsumexp_y f_y(x)`, `[N]`.
    pub fn marginal_energy(&self, x: Tensor<4>) -> Tensor<1> {
        log_sum_exp_rows(self.logits(x)).neg()
    }

    /// Fails unless every label is `< K`; the error names `what`.
    pub fn check_labels(&self, what: &str, labels: &[usize]) -> Result<(), EnergyError> {
        match labels.iter().find(|&&y| y >= self.classes) {
            Some(y) => Err(EnergyError::InvalidParameter {
                energy: what.into(),
                parameter: "labels".into(),
                reason: format!("label {y} is out of range for {} classes", self.classes),
            }),
            None => Ok(()),
        }
    }
}

/// `[n, k]` one-hot rows of `labels`.
pub fn one_hot(labels: &[usize], k: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0.0f32; labels.len() * k];
    for (i, &y) in labels.iter().enumerate() {
        v[i * k + y] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, [labels.len(), k]), device)
}

/// `log sum_k exp(a_k)` along axis 1 of `[N, K]`, stable (the row maximum is taken out first).
pub fn log_sum_exp_rows(a: Tensor<2>) -> Tensor<1> {
    let [n, _] = a.dims();
    let m = a.clone().max_dim(1).detach();
    ((a - m.clone()).exp().sum_dim(1).log() + m).reshape([n])
}

/// `E_S(x) = -log sum_{y in S} exp(f_y(x))`: the energy of "the class of `x` is in `S`".
///
/// A single class gives the conditional expert `E(x, y) = -f_y(x)`; all classes give the
/// marginal energy of `x`. As a function of `x` alone it is an [`Energy`], so it samples and
/// composes like any other.
#[derive(Debug, Clone)]
pub struct ClassEnergy {
    net: ConditionalNet,
    classes: Vec<usize>,
    name: String,
}

impl ClassEnergy {
    /// `E_S` for the classes `S` of `net` (non-empty, each `< K`, no repeats).
    pub fn new(
        net: ConditionalNet,
        classes: &[usize],
        name: impl Into<String>,
    ) -> Result<Self, EnergyError> {
        let k = net.classes;
        let bad = |reason: String| EnergyError::InvalidParameter {
            energy: "ClassEnergy".into(),
            parameter: "classes".into(),
            reason,
        };
        if classes.is_empty() {
            return Err(bad("needs at least one class".into()));
        }
        let mut seen = vec![false; k];
        for &c in classes {
            if c >= k || seen[c] {
                return Err(bad(format!("class {c} is out of range 0..{k} or repeated")));
            }
            seen[c] = true;
        }
        Ok(Self {
            net,
            classes: classes.to_vec(),
            name: name.into(),
        })
    }

    /// The marginal energy `-logsumexp_y f_y(x)` of `net`.
    pub fn marginal(net: ConditionalNet, name: impl Into<String>) -> Self {
        let classes = (0..net.classes).collect();
        Self {
            net,
            classes,
            name: name.into(),
        }
    }

    /// The classes `S`.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }
}

impl Energy<4> for ClassEnergy {
    fn energy(&self, x: Tensor<4>) -> Tensor<1> {
        let device = x.device();
        let logits = self.net.logits(x);
        let idx: Vec<i64> = self.classes.iter().map(|&c| c as i64).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [self.classes.len()]), &device);
        log_sum_exp_rows(logits.select(1, idx)).neg()
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn check_input(&self, dims: [usize; 4]) -> Result<(), EnergyError> {
        self.net.backbone.check_input(&self.name, dims)
    }

    fn energy_and_grad(&self, x: Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        let frozen = Self {
            net: self.net.valid(),
            classes: self.classes.clone(),
            name: String::new(),
        };
        autodiff_energy_and_grad(&frozen, x)
    }
}

/// `E(x_i, y_i) = -f_{y_i}(x_i)` with one fixed label per item: the energy of `x` given `y`
/// for a batch of chains with different labels (how the trainer samples negatives).
#[derive(Debug, Clone)]
pub struct LabelEnergy {
    net: ConditionalNet,
    labels: Vec<usize>,
}

impl LabelEnergy {
    /// The energy of item `i` given label `labels[i]` (each `< K`).
    pub fn new(net: ConditionalNet, labels: Vec<usize>) -> Result<Self, EnergyError> {
        net.check_labels("E(x | y)", &labels)?;
        Ok(Self { net, labels })
    }
}

impl Energy<4> for LabelEnergy {
    fn energy(&self, x: Tensor<4>) -> Tensor<1> {
        self.net.joint_energy(x, &self.labels)
    }

    fn name(&self) -> String {
        "E(x | y)".into()
    }

    fn check_input(&self, dims: [usize; 4]) -> Result<(), EnergyError> {
        self.net.backbone.check_input("E(x | y)", dims)?;
        if dims[0] != self.labels.len() {
            return Err(EnergyError::Shape {
                energy: "E(x | y)".into(),
                expected: format!("a batch of {} (one per label)", self.labels.len()),
                got: dims.to_vec(),
            });
        }
        Ok(())
    }

    fn energy_and_grad(&self, x: Tensor<4>) -> (Tensor<1>, Tensor<4>) {
        let frozen = Self {
            net: self.net.valid(),
            labels: self.labels.clone(),
        };
        autodiff_energy_and_grad(&frozen, x)
    }
}
