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
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::silu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ebm_core::{CnnEnergyConfig, Energy, EnergyError, SeededRng, autodiff_energy_and_grad};

use crate::broadcast::log_sum_exp_rows;
use crate::error::PoeError;

/// Configuration of a [`ConditionalNet`]: the UvA tutorial's CNN with `classes` outputs.
///
/// ```text
/// Conv(C -> h/2, k5, s2, p4) -> Swish -> Conv(h/2 -> h, k3, s2, p1) -> Swish
/// -> Conv(h -> 2h, k3, s2, p1) -> Swish -> Conv(2h -> 2h, k3, s2, p1) -> Swish
/// -> Flatten -> Linear(-> 2h) -> Swish -> Linear(2h -> classes)
/// ```
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
    /// initialisation, from our own [`SeededRng`]). Fails when `classes < 2`, `hidden < 2`,
    /// `channels == 0` or `image_size == 0`.
    pub fn init(&self, device: &Device, seed: u64) -> Result<ConditionalNet, PoeError> {
        if self.classes < 2 || self.hidden < 2 || self.channels == 0 || self.image_size == 0 {
            return Err(PoeError::invalid(
                "ConditionalNet",
                "classes / hidden / channels / image_size",
                format!(
                    "need classes >= 2, hidden >= 2, channels >= 1, image_size >= 1, got {}, {}, {}, {}",
                    self.classes, self.hidden, self.channels, self.image_size
                ),
            ));
        }
        let layers = CnnEnergyConfig::new()
            .with_channels(self.channels)
            .with_hidden(self.hidden)
            .with_image_size(self.image_size);
        let (convs, hidden, output) =
            layers.init_layers(self.classes, device, &mut SeededRng::new(seed));
        Ok(ConditionalNet {
            convs,
            hidden,
            output,
            classes: self.classes,
            channels: self.channels,
            image_size: self.image_size,
        })
    }
}

/// An image network with one output per class: the logits `f(x)`, `[N, C, H, W] -> [N, K]`.
#[derive(Module, Debug)]
pub struct ConditionalNet {
    /// The four convolutions, each followed by Swish.
    pub convs: Vec<Conv2d>,
    /// Flattened features to `2h`, followed by Swish.
    pub hidden: Linear,
    /// `2h` to the `K` logits.
    pub output: Linear,
    /// `K`.
    pub classes: usize,
    /// Image channels.
    pub channels: usize,
    /// Image side.
    pub image_size: usize,
}

impl ConditionalNet {
    /// The logits `f(x)`, `[N, K]`.
    pub fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        let h = self.convs.iter().fold(x, |h, conv| silu(conv.forward(h)));
        let [n, c, hh, ww] = h.dims();
        let h = silu(self.hidden.forward(h.reshape([n, c * hh * ww])));
        self.output.forward(h)
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

    fn check(&self, name: &str, dims: [usize; 4]) -> Result<(), EnergyError> {
        let (c, s) = (self.channels, self.image_size);
        if dims[1..] != [c, s, s] {
            return Err(EnergyError::Shape {
                energy: name.to_string(),
                expected: format!("[N, {c}, {s}, {s}]"),
                got: dims.to_vec(),
            });
        }
        Ok(())
    }
}

/// `[n, k]` one-hot rows of `labels`.
pub(crate) fn one_hot(labels: &[usize], k: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0.0f32; labels.len() * k];
    for (i, &y) in labels.iter().enumerate() {
        v[i * k + y] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, [labels.len(), k]), device)
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
    ) -> Result<Self, PoeError> {
        let k = net.classes;
        let mut seen = vec![false; k];
        if classes.is_empty() {
            return Err(PoeError::invalid(
                "ClassEnergy",
                "classes",
                "needs at least one class",
            ));
        }
        for &c in classes {
            if c >= k || seen[c] {
                return Err(PoeError::invalid(
                    "ClassEnergy",
                    "classes",
                    format!("class {c} is out of range 0..{k} or repeated"),
                ));
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
        self.net.check(&self.name, dims)
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
    pub fn new(net: ConditionalNet, labels: Vec<usize>) -> Result<Self, PoeError> {
        if let Some(y) = labels.iter().find(|&&y| y >= net.classes) {
            return Err(PoeError::Batch(format!(
                "label {y} is out of range for {} classes",
                net.classes
            )));
        }
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
        self.net.check("E(x | y)", dims)?;
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
