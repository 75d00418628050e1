//! A kernel's mass matrix as device tensors, built once rather than on every step.

use std::sync::{Arc, Mutex};

use burn::tensor::Device;

use crate::mass::{InverseMass, Metric};

/// The [`Metric`] of a kernel's [`InverseMass`], built on the first step on a device and reused
/// by every later step (the host-side work - square roots, the inverse Cholesky factor - and the
/// uploads happen once, not per step). The mass changes only between adaptation windows, through
/// `with_inverse_mass` / `set_inverse_mass`, which start a fresh cache. Any two caches compare
/// equal: a cache holds nothing its kernel's mass does not determine.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetricCache(Arc<Mutex<Option<(Device, Metric)>>>);

impl MetricCache {
    /// The metric of `mass` on `device`, from the cache when it was built there.
    pub(crate) fn get(&self, mass: &InverseMass, device: &Device) -> Metric {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((built_on, metric)) = slot.as_ref()
            && built_on == device
        {
            return metric.clone();
        }
        let metric = Metric::new(mass, device);
        *slot = Some((device.clone(), metric.clone()));
        metric
    }
}

impl PartialEq for MetricCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
