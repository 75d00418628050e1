//! Which command trained a run folder, told from its `config.json`: each kind of run saves its
//! own settings type, and each has fields no other has.

use anyhow::{Context, Result, bail};
use ebm_train::RunDir;
use serde_json::Value;

/// The kinds of trained run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// `ebm train`: the CNN energy on images by persistent CD.
    Image,
    /// `ebm train-conditional`: the conditional energy `E(x, y)` (or the judge classifier).
    Conditional,
    /// `ebm toy`: an MLP energy on a 2-D toy density.
    Toy,
    /// `ebm rbm train`: a restricted Boltzmann machine.
    Rbm,
    /// `ebm tag train`: the part-of-speech tagger.
    Tagger,
    /// `ebm anomaly fit`: the tabular anomaly detector.
    Anomaly,
}

impl RunKind {
    /// The kind of the settings `config`, if it is one of a trained run.
    pub fn of_config(config: &Value) -> Option<Self> {
        let has = |keys: &[&str]| keys.iter().all(|k| config.get(k).is_some());
        [
            (Self::Image, &["model", "fresh_steps"][..]),
            (Self::Conditional, &["target", "net"]),
            (Self::Toy, &["dataset", "hidden", "grid"]),
            (Self::Rbm, &["holdout", "threshold"]),
            (Self::Tagger, &["tagger"]),
            (Self::Anomaly, &["recipe", "false_alarm"]),
        ]
        .into_iter()
        .find(|(_, keys)| has(keys))
        .map(|(kind, _)| kind)
    }

    /// The kind of the run in `dir` (from its `config.json`).
    pub fn of_run(dir: &RunDir) -> Result<Self> {
        let config = read_config_value(dir)?;
        match Self::of_config(&config) {
            Some(kind) => Ok(kind),
            None => bail!(
                "{} is not the settings of a trained run (train, train-conditional, toy, rbm train, tag train or anomaly fit)",
                dir.config_path().display()
            ),
        }
    }

    /// The command that trains this kind of run.
    pub fn command(self) -> &'static str {
        match self {
            Self::Image => "train",
            Self::Conditional => "train-conditional",
            Self::Toy => "toy",
            Self::Rbm => "rbm train",
            Self::Tagger => "tag train",
            Self::Anomaly => "anomaly fit",
        }
    }

    /// A short name (`image`, `conditional`, ...), as written into exported files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Conditional => "conditional",
            Self::Toy => "toy",
            Self::Rbm => "rbm",
            Self::Tagger => "tagger",
            Self::Anomaly => "anomaly",
        }
    }

    /// The kind called `name` (see [`RunKind::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Image,
            Self::Conditional,
            Self::Toy,
            Self::Rbm,
            Self::Tagger,
            Self::Anomaly,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// The run's `config.json` as JSON; an error naming the file when it is missing or damaged.
pub fn read_config_value(dir: &RunDir) -> Result<Value> {
    dir.read_config()
        .with_context(|| format!("reading the settings of {}", dir.root().display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_told_from_its_settings_and_by_name() {
        let cases = [
            (r#"{"model":{},"fresh_steps":256}"#, RunKind::Image),
            (r#"{"target":"digit","net":{}}"#, RunKind::Conditional),
            (
                r#"{"dataset":"moons","hidden":[8],"grid":100}"#,
                RunKind::Toy,
            ),
            (r#"{"holdout":0.2,"threshold":0.5}"#, RunKind::Rbm),
            (r#"{"tagger":{}}"#, RunKind::Tagger),
            (r#"{"recipe":{},"false_alarm":0.01}"#, RunKind::Anomaly),
        ];
        for (json, kind) in cases {
            let v: Value = serde_json::from_str(json).unwrap();
            assert_eq!(RunKind::of_config(&v), Some(kind));
            assert_eq!(RunKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(RunKind::of_config(&serde_json::json!({"x": 1})), None);
    }
}
