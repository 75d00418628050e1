//! The UvA deep-learning tutorial's `CNNModel` (tutorial 8, "Deep Energy-Based Generative
//! Models") from a PyTorch file into [`CnnEnergy`].
//!
//! The tutorial's network is `cnn_layers = Sequential(Conv, Swish, Conv, Swish, Conv, Swish,
//! Conv, Swish, Flatten, Linear, Swish, Linear)`, so its keys are `cnn_layers.{0,2,4,6}` (the
//! convolutions), `cnn_layers.9` (the hidden linear) and `cnn_layers.11` (the output); a
//! Lightning checkpoint of its `DeepEnergyModel` nests them as `state_dict` / `cnn.cnn_layers.*`.
//! burn-store's PyTorch adapter transposes the linear weights. The tutorial's network outputs a
//! score, `-E(x)` (its loss is `fake_out.mean() - real_out.mean()`); ours outputs `E(x)`, so the
//! output layer is negated.

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::module::Param;
use burn::store::{ModuleSnapshot, PytorchStore};
use burn::tensor::Device;
use ebm_core::CnnEnergy;

use super::models::check_complete;
use crate::run::ModelSpec;

/// The tutorial's keys and ours.
const KEYS: [(&str, &str); 6] = [
    ("0", "convs.0"),
    ("2", "convs.1"),
    ("4", "convs.2"),
    ("6", "convs.3"),
    ("9", "hidden"),
    ("11", "output"),
];

/// The store reading the file at `path`, with the tutorial's keys mapped to ours (a
/// Lightning checkpoint's `state_dict` and `cnn.` prefix are looked through).
fn store(path: &Path, lightning: bool) -> PytorchStore {
    let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
    if lightning {
        store = store.with_top_level_key("state_dict");
    }
    for (theirs, ours) in KEYS {
        store = store.with_key_remapping(
            format!(r"^(cnn\.)?cnn_layers\.{theirs}\."),
            format!("{ours}."),
        );
    }
    store
}

/// The shape of the network in the file (channels and width from the first convolution's
/// weight `[h/2, c, 5, 5]`), and whether it is a Lightning checkpoint.
fn inspect(path: &Path, image_size: usize) -> Result<(ModelSpec, bool)> {
    let reader = burn::store::pytorch_reader::PytorchReader::new(path).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a PyTorch file burn can read: {e}",
            path.display()
        )
    })?;
    let mut keys = reader.keys();
    keys.sort();
    let first = keys
        .iter()
        .find(|k| k.ends_with("cnn_layers.0.weight"))
        .with_context(|| {
            format!(
                "{} has no `cnn_layers.0.weight`: not the UvA tutorial's CNNModel (keys: {})",
                path.display(),
                keys.iter().take(12).cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
    let shape = reader
        .get(first)
        .map(|t| t.shape().to_vec())
        .unwrap_or_default();
    let [c1, channels, 5, 5] = shape[..] else {
        bail!(
            "{}: `{first}` has shape {shape:?}, expected [h/2, channels, 5, 5]",
            path.display()
        );
    };
    let spec = ModelSpec {
        channels,
        image_size,
        hidden: 2 * c1,
    };
    Ok((spec, first.starts_with("state_dict.")))
}

/// The CNN energy of the PyTorch file at `path` (a `state_dict` of the tutorial's `CNNModel`,
/// or a Lightning checkpoint of its `DeepEnergyModel`) on `device`, for images of side
/// `image_size`.
pub fn import_uva(
    path: &Path,
    image_size: usize,
    device: &Device,
) -> Result<(ModelSpec, CnnEnergy)> {
    let (spec, lightning) = inspect(path, image_size)?;
    let mut model = spec.build(device, 0)?;
    let result = model
        .load_from(&mut store(path, lightning))
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    check_complete(&result, path)?;
    let out = &mut model.backbone.output;
    out.weight = Param::from_tensor(-out.weight.val());
    if let Some(bias) = out.bias.as_mut() {
        *bias = Param::from_tensor(-bias.val());
    }
    Ok((spec, model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Tensor, TensorData};
    use ebm_core::Energy;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/uva")
            .join(name)
    }

    fn npy_f64(name: &str) -> (Vec<f64>, Vec<usize>) {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
        let values = match npy.dtype() {
            npyz::DType::Plain(t) if t.size_field() == 4 => npy
                .into_vec::<f32>()
                .unwrap()
                .into_iter()
                .map(f64::from)
                .collect(),
            _ => npy.into_vec::<f64>().unwrap(),
        };
        (values, shape)
    }

    /// Our energies of the fixture's inputs with the weights of `file`, beside PyTorch's.
    fn energies(file: &str) -> (Vec<f64>, Vec<f64>) {
        let device = Device::default();
        let (spec, model) = import_uva(&fixture(file), 28, &device).unwrap();
        assert_eq!((spec.channels, spec.hidden), (1, 8));
        let (x, shape) = npy_f64("inputs.npy");
        let x: Vec<f32> = x.into_iter().map(|v| v as f32).collect();
        let x = Tensor::<4>::from_data(TensorData::new(x, shape), &device);
        let ours: Vec<f64> = model
            .energy(x)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect();
        (ours, npy_f64("energies.npy").0)
    }

    /// The relative error `|ours - theirs| / max(|theirs|, 0.1 * mean |theirs|)`, largest over
    /// the inputs (the floor keeps an energy that happens to be near zero from dividing by it).
    fn worst_relative(ours: &[f64], theirs: &[f64]) -> f64 {
        let scale = 0.1 * theirs.iter().map(|v| v.abs()).sum::<f64>() / theirs.len() as f64;
        ours.iter()
            .zip(theirs)
            .map(|(a, b)| (a - b).abs() / b.abs().max(scale))
            .fold(0.0, f64::max)
    }

    #[test]
    fn the_tutorials_state_dict_gives_pytorchs_energies() {
        let (ours, theirs) = energies("cnn.pt");
        assert_eq!(ours.len(), 16);
        let worst = worst_relative(&ours, &theirs);
        let plain: Vec<String> = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| format!("{b:.3}: {:.1e}", ((a - b) / b).abs()))
            .collect();
        println!("worst relative error against PyTorch (float64): {worst:.2e}");
        println!("plain |a - b| / |b| per energy: {}", plain.join(", "));
        assert!(
            worst < 1e-5,
            "worst relative error {worst:e}: {ours:?} vs {theirs:?}"
        );
    }

    #[test]
    fn a_lightning_checkpoint_gives_the_same_energies() {
        let (ours, theirs) = energies("lightning.pt");
        assert!(worst_relative(&ours, &theirs) < 1e-5);
    }

    #[test]
    fn the_comparison_fails_without_the_sign_flip() {
        // Negative control: the tutorial's raw output (a score, -E) is far from the energies.
        let (ours, theirs) = energies("cnn.pt");
        let score: Vec<f64> = ours.iter().map(|e| -e).collect();
        assert!(worst_relative(&score, &theirs) > 0.1);
    }

    #[test]
    fn a_file_of_another_network_is_an_error_naming_it() {
        let err = import_uva(&fixture("inputs.npy"), 28, &Device::default()).unwrap_err();
        assert!(err.to_string().contains("inputs.npy"), "{err}");
    }
}
