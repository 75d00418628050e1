//! The judge: a 10-way digit classifier (`ebm train-conditional --target judge`) that labels
//! generated samples, so a composition is scored by the fraction of its samples inside the set
//! of digits its expression means. Also the real images the negation caps are measured on.

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};
use ebm_core::ConditionalNet;
use ebm_core::neural::classify::{accuracy, classify};
use ebm_data::ImageSet;
use ebm_train::RunDir;

use crate::conditional_run::{SPLIT_SEED, digits, dims, load_conditional_run, load_split};

/// Real images for the negation caps: a seeded, stratified sample of at most this many.
const REFERENCE: usize = 256;

/// The judge classifier with its held-out accuracy, and real images of its data.
pub struct Judge {
    /// The classifier.
    pub net: ConditionalNet,
    /// Its accuracy on the held-out split of its data.
    pub held_out_accuracy: f64,
    /// The held-out split.
    pub test: ImageSet,
    /// The training split.
    pub train: ImageSet,
    /// Real training images, `[m, c, h, w]`.
    pub reference: Tensor<4>,
}

/// What the judge made of a batch of samples.
pub struct Verdict {
    /// Fraction of samples put in the intended set.
    pub in_set: f64,
    /// How many samples the judge gives each digit.
    pub histogram: [usize; 10],
}

impl Judge {
    /// The judge run `dir` on `device`.
    pub fn load(dir: &RunDir, device: &Device) -> Result<Self> {
        let (config, net) = load_conditional_run(dir, device).with_context(|| {
            format!(
                "loading the judge classifier from {} (train it with `ebm train-conditional --target judge`)",
                dir.root().display()
            )
        })?;
        if net.classes != 10 {
            bail!(
                "the judge in {} has {} classes, not 10",
                dir.root().display(),
                net.classes
            );
        }
        let (train, test) = load_split(&config.data, config.limit)?;
        let truth: Vec<usize> = digits(&test)?.iter().map(|&d| usize::from(d)).collect();
        let predicted = classify(&net, &test.images, dims(&test), device)?;
        let reference = if train.len() > REFERENCE {
            train.stratified(REFERENCE, SPLIT_SEED)?
        } else {
            train.clone()
        };
        let all: Vec<usize> = (0..reference.len()).collect();
        Ok(Self {
            held_out_accuracy: accuracy(&predicted, &truth),
            reference: reference.batch(&all, device)?,
            net,
            test,
            train,
        })
    }

    /// Labels host images `values` of shape `d` and counts those in `intended`.
    pub fn judge(
        &self,
        values: &[f32],
        d: [usize; 4],
        intended: &[u8],
        device: &Device,
    ) -> Result<Verdict> {
        let predicted = classify(&self.net, values, d, device)?;
        let mut histogram = [0usize; 10];
        for p in &predicted {
            histogram[(*p).min(9)] += 1;
        }
        let inside = predicted
            .iter()
            .filter(|&&p| intended.contains(&(p as u8)))
            .count();
        Ok(Verdict {
            in_set: inside as f64 / predicted.len().max(1) as f64,
            histogram,
        })
    }

    /// The fraction of the held-out images whose digit is in `intended`.
    pub fn data_frequency(&self, intended: &[u8]) -> f64 {
        let labels = self.test.labels.as_deref().unwrap_or(&[]);
        labels.iter().filter(|d| intended.contains(d)).count() as f64 / labels.len().max(1) as f64
    }
}
