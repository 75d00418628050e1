//! One place that turns a user's word into a burn device.
//!
//! `cpu` is burn's pure-Rust `flex` backend and is always compiled in. The GPU backends are
//! behind Cargo features of this crate (and of every crate above it): `wgpu` (any GPU through
//! wgpu, including Mesa's software Vulkan driver), `vulkan` (wgpu's Vulkan path compiled to
//! SPIR-V) and `cuda`.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::DeviceError;

/// The backends a user can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// burn `flex` on the CPU (pure Rust, multi-threaded with rayon, SIMD).
    Cpu,
    /// burn `wgpu` on the best adapter wgpu finds (a GPU, or a software Vulkan driver).
    Wgpu,
    /// burn `wgpu` through Vulkan with SPIR-V kernels.
    Vulkan,
    /// burn `cuda` on NVIDIA GPUs.
    Cuda,
}

impl BackendKind {
    /// Every backend, in the order of the error messages.
    pub const ALL: [BackendKind; 4] = [Self::Cpu, Self::Wgpu, Self::Vulkan, Self::Cuda];

    /// The word a user types for this backend.
    pub fn word(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Vulkan => "vulkan",
            Self::Cuda => "cuda",
        }
    }

    /// The Cargo feature that compiles this backend in (`None` for the always-present CPU).
    pub fn feature(self) -> Option<&'static str> {
        match self {
            Self::Cpu => None,
            Self::Wgpu => Some("wgpu"),
            Self::Vulkan => Some("vulkan"),
            Self::Cuda => Some("cuda"),
        }
    }

    /// Whether this build has the backend compiled in.
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Cpu => true,
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Vulkan => cfg!(feature = "vulkan"),
            Self::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The default device of this backend, or an error naming the Cargo feature to enable.
    pub fn device(self) -> Result<Device, DeviceError> {
        if !self.is_compiled() {
            return Err(DeviceError::NotCompiled {
                backend: self.word().to_string(),
                feature: self.feature().unwrap_or_default().to_string(),
            });
        }
        Ok(match self {
            Self::Cpu => Device::flex(),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
            #[cfg(feature = "vulkan")]
            Self::Vulkan => Device::vulkan(burn::tensor::DeviceKind::DefaultDevice),
            #[cfg(feature = "cuda")]
            Self::Cuda => Device::cuda(0),
            #[allow(unreachable_patterns)]
            _ => unreachable!("is_compiled guards every backend that is not compiled in"),
        })
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

impl FromStr for BackendKind {
    type Err = DeviceError;

    /// Parses `cpu` (alias `flex`), `wgpu` (alias `gpu`), `vulkan` or `cuda`, in any case.
    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word.trim().to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Self::Cpu),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            "vulkan" => Ok(Self::Vulkan),
            "cuda" => Ok(Self::Cuda),
            _ => Err(DeviceError::Unknown(word.to_string())),
        }
    }
}

/// Resolves a user's word (`cpu`, `wgpu`, `vulkan`, `cuda`) to a device.
///
/// ```
/// let device = ebm_core::device_from_word("cpu").unwrap();
/// # let _ = device;
/// assert!(ebm_core::device_from_word("tpu").is_err());
/// ```
pub fn device_from_word(word: &str) -> Result<Device, DeviceError> {
    word.parse::<BackendKind>()?.device()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse_and_round_trip() {
        for kind in BackendKind::ALL {
            assert_eq!(kind.word().parse::<BackendKind>().unwrap(), kind);
        }
        assert_eq!(" CPU ".parse::<BackendKind>().unwrap(), BackendKind::Cpu);
        assert_eq!("flex".parse::<BackendKind>().unwrap(), BackendKind::Cpu);
    }

    #[test]
    fn unknown_word_is_an_error_listing_the_choices() {
        let err = device_from_word("tpu").unwrap_err();
        assert_eq!(err, DeviceError::Unknown("tpu".into()));
        assert!(err.to_string().contains("cpu"));
    }

    #[test]
    fn missing_backend_names_its_feature() {
        for kind in BackendKind::ALL {
            if !kind.is_compiled() {
                let msg = kind.device().unwrap_err().to_string();
                assert!(msg.contains(kind.feature().unwrap()), "{msg}");
                assert!(msg.contains("--features"), "{msg}");
            }
        }
        assert!(device_from_word("cpu").is_ok());
    }
}
