//! [`KernelSpec`]: one serialisable description of any kernel of this crate, built into an
//! [`AnyKernel`] by [`KernelSpec::build`].
//!
//! It is the one place where a kernel's name or configuration becomes a kernel: training configs
//! (`ebm-train`'s `SamplerConfig` is this type), AIS transitions and the command line all go
//! through it. In JSON it is tagged by `kind`:
//!
//! ```text
//! {"kind": "mala", "eps": 0.1}
//! {"kind": "hmc", "eps": 0.1, "leapfrog": 10, "jitter": 0.5}
//! {"kind": "nuts", "eps": 0.1, "max_depth": 10}
//! {"kind": "rwm", "sigma": 0.5}
//! {"kind": "ula", "eps": 0.01}
//! {"kind": "sgld", "step_size": 10.0, "noise": 0.005, "grad_clip": 0.03, "domain": [-1.0, 1.0]}
//! ```
//!
//! As a word (the command line, [`FromStr`] and [`KernelSpec::parse`]) it is
//! `NAME[:KEY=VALUE,...]`, for example `mala`, `mala:eps=0.05`, `hmc:eps=0.2,leapfrog=20`, `nuts:max_depth=8` or
//! `sgld:step_size=10,noise=0.005,grad_clip=0.03,domain=-1..1` (`grad_clip=none` and
//! `domain=none` remove them). Keys left out keep their defaults:
//!
//! | kernel | defaults |
//! |---|---|
//! | `rwm` | `sigma = 1 / sqrt(d)` (`d = 1`, so `sigma = 1`, through [`FromStr`]) |
//! | `ula` | `eps = 0.01` |
//! | `mala` | `eps = 0.1` |
//! | `hmc` | `eps = 0.1`, `leapfrog = 10`, `jitter = 0.5` (a spec without `jitter` in JSON, as written before it existed, reads as 0) |
//! | `nuts` | `eps = 0.1`, `max_depth = 10` |
//! | `sgld` | `step_size = 10`, `noise = 0.005`, no gradient clip, no domain (the UvA tutorial's steps) |
//!
//! [`Display`](fmt::Display) writes the same syntax with every key, so a spec reads back as
//! itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::any::AnyKernel;
use crate::error::McmcError;
use crate::hmc::Hmc;
use crate::kernel::StepSize;
use crate::mala::Mala;
use crate::nuts::Nuts;
use crate::rwm::Rwm;
use crate::sgld::Sgld;
use crate::ula::Ula;

/// Any kernel of this crate with its parameters (one step size shared by all chains).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KernelSpec {
    /// Clipped SGLD ([`Sgld`]; a biased heuristic, the image-EBM default).
    Sgld {
        /// Gradient step `eta`.
        step_size: f64,
        /// Noise scale `sigma` (`>= 0`).
        noise: f64,
        /// Input-gradient clamp `c` (none if absent).
        grad_clip: Option<f64>,
        /// Domain clamp `[lo, hi]` (none if absent).
        domain: Option<(f64, f64)>,
    },
    /// Unadjusted Langevin ([`Ula`]) with step `eps`.
    Ula {
        /// Step size.
        eps: f64,
    },
    /// Metropolis-adjusted Langevin ([`Mala`]) with step `eps`.
    Mala {
        /// Step size.
        eps: f64,
    },
    /// HMC ([`Hmc`]) with `leapfrog` steps of size `eps`.
    Hmc {
        /// Step size.
        eps: f64,
        /// Leapfrog steps per proposal (`>= 1`).
        leapfrog: usize,
        /// The fraction by which the number of steps is jittered, in `[0, 1]`.
        #[serde(default)]
        jitter: f64,
    },
    /// NUTS ([`Nuts`]) with step `eps` and at most `2^max_depth - 1` leapfrog steps.
    Nuts {
        /// Step size.
        eps: f64,
        /// Maximum tree depth (`1..=20`).
        max_depth: usize,
    },
    /// Random-walk Metropolis ([`Rwm`]) with proposal scale `sigma`.
    Rwm {
        /// Proposal scale.
        sigma: f64,
    },
}

/// A named parameter of a spec, borrowed for reading or writing its value as text.
enum Slot<'a> {
    Real(&'a mut f64),
    Count(&'a mut usize),
    Optional(&'a mut Option<f64>),
    Domain(&'a mut Option<(f64, f64)>),
}

impl Slot<'_> {
    /// Sets the value from its text form.
    fn set(&mut self, text: &str) -> Result<(), String> {
        let real = |t: &str| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{t}` is not a number"))
        };
        let none = text.trim().eq_ignore_ascii_case("none");
        match self {
            Slot::Real(v) => **v = real(text)?,
            Slot::Count(v) => {
                **v = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not a whole number"))?
            }
            Slot::Optional(v) => **v = if none { None } else { Some(real(text)?) },
            Slot::Domain(v) if none => **v = None,
            Slot::Domain(v) => {
                let (lo, hi) = text
                    .split_once("..")
                    .ok_or_else(|| format!("`{text}` is not a range `LO..HI`"))?;
                **v = Some((real(lo)?, real(hi)?));
            }
        }
        Ok(())
    }

    /// The value as text (`none` for an absent option).
    fn show(&self) -> String {
        match self {
            Slot::Real(v) => v.to_string(),
            Slot::Count(v) => v.to_string(),
            Slot::Optional(v) => v.map_or("none".into(), |c| c.to_string()),
            Slot::Domain(v) => v.map_or("none".into(), |(lo, hi)| format!("{lo}..{hi}")),
        }
    }
}

impl KernelSpec {
    /// Every kernel's name, in the order of [`KernelSpec::defaults`].
    pub const NAMES: [&'static str; 6] = [
        Rwm::NAME,
        Ula::NAME,
        Mala::NAME,
        Hmc::NAME,
        Nuts::NAME,
        Sgld::NAME,
    ];

    /// Every kernel with its default parameters for `dim` dimensions (see the module docs).
    pub fn defaults(dim: usize) -> [KernelSpec; 6] {
        [
            KernelSpec::Rwm {
                sigma: 1.0 / (dim.max(1) as f64).sqrt(),
            },
            KernelSpec::Ula { eps: 0.01 },
            KernelSpec::Mala { eps: 0.1 },
            KernelSpec::Hmc {
                eps: 0.1,
                leapfrog: 10,
                jitter: 0.5,
            },
            KernelSpec::Nuts {
                eps: 0.1,
                max_depth: Nuts::MAX_DEPTH,
            },
            KernelSpec::Sgld {
                step_size: 10.0,
                noise: 0.005,
                grad_clip: None,
                domain: None,
            },
        ]
    }

    /// Parses `NAME[:KEY=VALUE,...]` (module docs), with the defaults for `dim` dimensions for
    /// keys left out. The name is case-insensitive. Fails on an unknown name or key, a bad value,
    /// or parameters the kernel rejects ([`KernelSpec::validate`]).
    pub fn parse(text: &str, dim: usize) -> Result<Self, McmcError> {
        let bad = |parameter: &str, reason: String| {
            McmcError::invalid(&format!("kernel spec `{text}`"), parameter, reason)
        };
        let (name, options) = match text.trim().split_once(':') {
            Some((name, options)) => (name.trim(), Some(options)),
            None => (text.trim(), None),
        };
        let mut spec = Self::defaults(dim)
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let names = Self::NAMES.join(", ");
                bad("kind", format!("unknown kernel `{name}`; expected {names}"))
            })?;
        for option in options.into_iter().flat_map(|o| o.split(',')) {
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| bad(option.trim(), "expected `key=value`".into()))?;
            let mut slots = spec.slots();
            let keys: Vec<&str> = slots.iter().map(|(k, _)| *k).collect();
            let keys = keys.join(", ");
            let (_, slot) = slots
                .iter_mut()
                .find(|(k, _)| *k == key.trim())
                .ok_or_else(|| bad(key.trim(), format!("not a parameter of {name}: {keys}")))?;
            slot.set(value).map_err(|reason| bad(key.trim(), reason))?;
        }
        spec.validate()?;
        Ok(spec)
    }

    /// The kernel's name (`"mala"`, ...), the same as its [`Kernel::name`](crate::Kernel::name).
    pub fn name(&self) -> &'static str {
        match self {
            KernelSpec::Sgld { .. } => Sgld::NAME,
            KernelSpec::Ula { .. } => Ula::NAME,
            KernelSpec::Mala { .. } => Mala::NAME,
            KernelSpec::Hmc { .. } => Hmc::NAME,
            KernelSpec::Nuts { .. } => Nuts::NAME,
            KernelSpec::Rwm { .. } => Rwm::NAME,
        }
    }

    /// Whether the kernel has an accept/reject step (MALA, HMC, NUTS, RWM), so that it leaves
    /// `exp(-E)/Z` invariant and its acceptance rate means something; ULA and SGLD do not.
    pub fn is_adjusted(&self) -> bool {
        matches!(
            self,
            KernelSpec::Mala { .. }
                | KernelSpec::Hmc { .. }
                | KernelSpec::Nuts { .. }
                | KernelSpec::Rwm { .. }
        )
    }

    /// Whether the kernel has a mass matrix that warm-up can adapt (MALA, HMC, NUTS).
    pub fn has_mass_matrix(&self) -> bool {
        matches!(
            self,
            KernelSpec::Mala { .. } | KernelSpec::Hmc { .. } | KernelSpec::Nuts { .. }
        )
    }

    /// Checks every parameter by building the kernel: the error names the one at fault.
    pub fn validate(&self) -> Result<(), McmcError> {
        self.build().map(drop)
    }

    /// The kernel, with a step size shared by all chains.
    pub fn build(&self) -> Result<AnyKernel, McmcError> {
        let shared = StepSize::Shared;
        Ok(match *self {
            KernelSpec::Sgld {
                step_size,
                noise,
                grad_clip,
                domain,
            } => {
                let mut k = Sgld::new(shared(step_size), noise)?;
                if let Some(c) = grad_clip {
                    k = k.with_grad_clip(c)?;
                }
                if let Some((lo, hi)) = domain {
                    k = k.with_domain(lo, hi)?;
                }
                k.into()
            }
            KernelSpec::Ula { eps } => Ula::new(shared(eps))?.into(),
            KernelSpec::Mala { eps } => Mala::new(shared(eps))?.into(),
            KernelSpec::Hmc {
                eps,
                leapfrog,
                jitter,
            } => Hmc::new(shared(eps), leapfrog)?.with_jitter(jitter)?.into(),
            KernelSpec::Nuts { eps, max_depth } => Nuts::new(shared(eps), max_depth)?.into(),
            KernelSpec::Rwm { sigma } => Rwm::new(shared(sigma))?.into(),
        })
    }

    /// The step size that adaptation tunes: SGLD's `step_size`, `eps`, or RWM's `sigma`.
    pub fn step_size(&self) -> f64 {
        let mut copy = *self;
        *copy.step_mut()
    }

    /// The spec with its adaptable step size (see [`KernelSpec::step_size`]) replaced by `h`.
    pub fn with_step_size(mut self, h: f64) -> Self {
        *self.step_mut() = h;
        self
    }

    /// The spec with HMC's leapfrog steps set to `n`; other kernels have none and come back
    /// unchanged.
    pub fn with_leapfrog(mut self, n: usize) -> Self {
        if let KernelSpec::Hmc { leapfrog, .. } = &mut self {
            *leapfrog = n;
        }
        self
    }

    /// The box that positions are clamped to (SGLD's `domain`; `None` for other kernels).
    pub fn domain(&self) -> Option<(f64, f64)> {
        match self {
            KernelSpec::Sgld { domain, .. } => *domain,
            _ => None,
        }
    }

    fn step_mut(&mut self) -> &mut f64 {
        match self {
            KernelSpec::Sgld { step_size, .. } => step_size,
            KernelSpec::Ula { eps }
            | KernelSpec::Mala { eps }
            | KernelSpec::Hmc { eps, .. }
            | KernelSpec::Nuts { eps, .. } => eps,
            KernelSpec::Rwm { sigma } => sigma,
        }
    }

    /// The parameters by key, in the order [`Display`](fmt::Display) writes them.
    fn slots(&mut self) -> Vec<(&'static str, Slot<'_>)> {
        match self {
            KernelSpec::Sgld {
                step_size,
                noise,
                grad_clip,
                domain,
            } => vec![
                ("step_size", Slot::Real(step_size)),
                ("noise", Slot::Real(noise)),
                ("grad_clip", Slot::Optional(grad_clip)),
                ("domain", Slot::Domain(domain)),
            ],
            KernelSpec::Ula { eps } | KernelSpec::Mala { eps } => vec![("eps", Slot::Real(eps))],
            KernelSpec::Hmc {
                eps,
                leapfrog,
                jitter,
            } => vec![
                ("eps", Slot::Real(eps)),
                ("leapfrog", Slot::Count(leapfrog)),
                ("jitter", Slot::Real(jitter)),
            ],
            KernelSpec::Nuts { eps, max_depth } => vec![
                ("eps", Slot::Real(eps)),
                ("max_depth", Slot::Count(max_depth)),
            ],
            KernelSpec::Rwm { sigma } => vec![("sigma", Slot::Real(sigma))],
        }
    }
}

impl FromStr for KernelSpec {
    type Err = McmcError;

    /// [`KernelSpec::parse`] with the defaults for `d = 1`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text, 1)
    }
}

impl fmt::Display for KernelSpec {
    /// `NAME:KEY=VALUE,...` with every key, which [`KernelSpec::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut copy = *self;
        let options: Vec<String> = copy
            .slots()
            .iter()
            .map(|(key, slot)| format!("{key}={}", slot.show()))
            .collect();
        write!(f, "{}:{}", self.name(), options.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_with_defaults_and_read_back() {
        assert_eq!(
            "mala".parse::<KernelSpec>().unwrap(),
            KernelSpec::Mala { eps: 0.1 }
        );
        assert_eq!(
            KernelSpec::parse("RWM", 4).unwrap(),
            KernelSpec::Rwm { sigma: 0.5 }
        );
        let hmc: KernelSpec = "hmc:leapfrog=3, eps=0.2".parse().unwrap();
        assert_eq!(
            hmc,
            KernelSpec::Hmc {
                eps: 0.2,
                leapfrog: 3,
                jitter: 0.5
            }
        );
        let nuts: KernelSpec = "nuts:max_depth=6".parse().unwrap();
        assert_eq!(
            nuts,
            KernelSpec::Nuts {
                eps: 0.1,
                max_depth: 6
            }
        );
        let sgld: KernelSpec = "sgld:grad_clip=0.03,domain=-1..1".parse().unwrap();
        assert_eq!(sgld.domain(), Some((-1.0, 1.0)));
        for spec in KernelSpec::defaults(3).into_iter().chain([hmc, sgld]) {
            assert_eq!(spec.to_string().parse::<KernelSpec>().unwrap(), spec);
        }
    }

    #[test]
    fn bad_words_name_the_fault() {
        let err = |s: &str| s.parse::<KernelSpec>().unwrap_err().to_string();
        assert!(
            err("nutz").contains("unknown kernel `nutz`"),
            "{}",
            err("nutz")
        );
        assert!(err("nuts:max_depth=0").contains("max_depth"));
        assert!(err("hmc:jitter=2").contains("jitter"));
        assert!(
            err("mala:sigma=1").contains("`sigma`"),
            "{}",
            err("mala:sigma=1")
        );
        assert!(err("mala:eps").contains("key=value"));
        assert!(err("mala:eps=abc").contains("not a number"));
        assert!(err("mala:eps=-1").contains("step_size"));
        assert!(err("hmc:leapfrog=0").contains("leapfrog"));
        assert!(err("sgld:domain=1..-1").contains("domain"));
        assert!(err("sgld:domain=1").contains("LO..HI"));
    }
}
