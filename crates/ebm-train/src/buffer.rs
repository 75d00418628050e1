//! The replay buffer of persistent contrastive divergence.

use burn::tensor::{Device, Tensor, TensorData};
use ebm_core::SeededRng;
use serde::{Deserialize, Serialize};

use std::path::Path;

use crate::config::InitDistribution;
use crate::error::TrainError;
use crate::fit::durable::write_synced;

/// Past negatives kept on the host, `capacity` items of shape `item_dims`.
///
/// A batch of starts is drawn uniformly from the buffer, each start replaced by a fresh draw
/// ([`BufferFill`]) with probability `reinit_prob`; after sampling, the negatives overwrite the
/// slots they came from. The buffer starts full of fresh draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayBuffer {
    item_dims: Vec<usize>,
    capacity: usize,
    data: Vec<f32>,
}

impl ReplayBuffer {
    /// A full buffer of `capacity` fresh draws from `fill`.
    pub fn new(
        capacity: usize,
        item_dims: &[usize],
        fill: &BufferFill<'_>,
        rng: &mut SeededRng,
    ) -> Self {
        let item: usize = item_dims.iter().product();
        Self {
            item_dims: item_dims.to_vec(),
            capacity,
            data: fill.items(capacity, item, rng),
        }
    }

    /// Restores a buffer from its parts (for checkpoints); `None` if the sizes disagree.
    pub fn from_parts(capacity: usize, item_dims: Vec<usize>, data: Vec<f32>) -> Option<Self> {
        (data.len() == capacity * item_dims.iter().product::<usize>()).then_some(Self {
            item_dims,
            capacity,
            data,
        })
    }

    /// Capacity in items.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The shape of one item.
    pub fn item_dims(&self) -> &[usize] {
        &self.item_dims
    }

    /// Writes the contents to `path` as little-endian `f32`, synced (a checkpoint's `buffer.f32`).
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let bytes: Vec<u8> = self.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        write_synced(path, &bytes)
    }

    /// Reads back what [`ReplayBuffer::save`] wrote, for a buffer of `capacity` items of shape
    /// `item_dims`; a file of another size is an error naming it.
    pub fn load(path: &Path, capacity: usize, item_dims: Vec<usize>) -> Result<Self, TrainError> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::checkpoint(path, e))?;
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Self::from_parts(capacity, item_dims, data).ok_or_else(|| {
            let size = bytes.len();
            let reason = format!("size {size} bytes does not match the buffer's capacity");
            TrainError::checkpoint(path, reason)
        })
    }

    /// The raw contents, `[capacity, item...]` row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    fn item_len(&self) -> usize {
        self.item_dims.iter().product()
    }

    /// `n` starts: slots drawn uniformly, each replaced by a fresh draw from `fill` with
    /// probability `reinit_prob`. Returns the slots and the starts `[n, item...]`.
    pub fn sample<const D: usize>(
        &self,
        n: usize,
        reinit_prob: f64,
        fill: &BufferFill<'_>,
        rng: &mut SeededRng,
        device: &Device,
    ) -> (Vec<usize>, Tensor<D>) {
        let len = self.item_len();
        let mut fresh = |_: usize, rng: &mut SeededRng| fill.items(1, len, rng);
        self.sample_with(n, reinit_prob, &mut fresh, rng, device)
    }

    /// [`sample`](Self::sample) with the fresh draw for a slot made by `fresh(slot, rng)` (one
    /// item), e.g. from a distribution that depends on the slot's class.
    pub fn sample_with<const D: usize>(
        &self,
        n: usize,
        reinit_prob: f64,
        fresh: &mut dyn FnMut(usize, &mut SeededRng) -> Vec<f32>,
        rng: &mut SeededRng,
        device: &Device,
    ) -> (Vec<usize>, Tensor<D>) {
        let len = self.item_len();
        let mut out = Vec::with_capacity(n * len);
        let mut slots = Vec::with_capacity(n);
        for _ in 0..n {
            let slot = ((rng.uniform_f64() * self.capacity as f64) as usize).min(self.capacity - 1);
            slots.push(slot);
            if rng.uniform_f64() < reinit_prob {
                out.extend(fresh(slot, rng));
            } else {
                out.extend_from_slice(&self.data[slot * len..(slot + 1) * len]);
            }
        }
        (
            slots,
            Tensor::from_data(TensorData::new(out, self.batch_dims::<D>(n)), device),
        )
    }

    /// Replaces every slot's contents by `fresh(slot, rng)` (one item each).
    pub fn refill(
        &mut self,
        fresh: &mut dyn FnMut(usize, &mut SeededRng) -> Vec<f32>,
        rng: &mut SeededRng,
    ) {
        let len = self.item_len();
        for slot in 0..self.capacity {
            self.data[slot * len..(slot + 1) * len].copy_from_slice(&fresh(slot, rng));
        }
    }

    /// Writes `values` (`[slots.len(), item...]`, host order) back into `slots`.
    pub fn store(&mut self, slots: &[usize], values: &[f32]) {
        let len = self.item_len();
        for (i, &slot) in slots.iter().enumerate() {
            self.data[slot * len..(slot + 1) * len]
                .copy_from_slice(&values[i * len..(i + 1) * len]);
        }
    }

    /// `n` items from the buffer's first slots as a tensor (for sample grids).
    pub fn head<const D: usize>(&self, n: usize, device: &Device) -> Tensor<D> {
        let n = n.min(self.capacity);
        let len = self.item_len();
        Tensor::from_data(
            TensorData::new(self.data[..n * len].to_vec(), self.batch_dims::<D>(n)),
            device,
        )
    }

    fn batch_dims<const D: usize>(&self, n: usize) -> [usize; D] {
        let mut dims = [n; D];
        dims[1..].copy_from_slice(&self.item_dims);
        dims
    }
}

/// The fresh items of a replay buffer: draws from the initial distribution, or, each with
/// probability `share`, uniform noise on `[lo, hi]` instead.
#[derive(Debug, Clone, Copy)]
pub struct BufferFill<'a> {
    init: &'a InitDistribution,
    noise: Option<(f64, (f64, f64))>,
}

impl<'a> BufferFill<'a> {
    /// Draws from `init`, a share of them (`Some((share, (lo, hi)))`) uniform noise on `[lo, hi]`.
    pub fn new(init: &'a InitDistribution, noise: Option<(f64, (f64, f64))>) -> Self {
        Self { init, noise }
    }

    /// Draws from `init` alone.
    pub fn init(init: &'a InitDistribution) -> Self {
        Self::new(init, None)
    }

    /// `n` items of `len` values. Without noise, one [`draw`] of `n * len` values; with it, item
    /// by item, one uniform draw choosing noise or `init` before each.
    pub fn items(&self, n: usize, len: usize, rng: &mut SeededRng) -> Vec<f32> {
        let Some((share, (lo, hi))) = self.noise else {
            return draw(self.init, n * len, rng);
        };
        let mut out = Vec::with_capacity(n * len);
        for _ in 0..n {
            if rng.uniform_f64() < share {
                out.extend(rng.uniform_vec(len, lo as f32, hi as f32));
            } else {
                out.extend(draw(self.init, len, rng));
            }
        }
        out
    }
}

/// `n` draws from the initial distribution.
pub fn draw(init: &InitDistribution, n: usize, rng: &mut SeededRng) -> Vec<f32> {
    match init {
        InitDistribution::Uniform { lo, hi } => rng.uniform_vec(n, *lo, *hi),
        InitDistribution::Normal { std } => {
            rng.normal_vec(n).into_iter().map(|z| z * std).collect()
        }
        InitDistribution::Mixture(m) => m.draw(n, rng),
    }
}

/// A tensor of fresh draws from the initial distribution.
pub fn draw_tensor<const D: usize>(
    init: &InitDistribution,
    dims: [usize; D],
    rng: &mut SeededRng,
    device: &Device,
) -> Tensor<D> {
    let n = dims.iter().product();
    Tensor::from_data(TensorData::new(draw(init, n, rng), dims), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_then_sample_without_reinit_returns_what_was_stored() {
        let init = InitDistribution::Uniform { lo: -1.0, hi: 1.0 };
        let mut rng = SeededRng::new(0);
        let mut buf = ReplayBuffer::new(10, &[2], &BufferFill::init(&init), &mut rng);
        let values: Vec<f32> = (0..20).map(|i| 10.0 + i as f32).collect();
        buf.store(&(0..10).collect::<Vec<_>>(), &values);
        let (slots, x) =
            buf.sample::<2>(5, 0.0, &BufferFill::init(&init), &mut rng, &Device::flex());
        let x = x.into_data().try_to_vec::<f32>().unwrap();
        for (i, s) in slots.iter().enumerate() {
            assert_eq!(&x[i * 2..i * 2 + 2], &values[s * 2..s * 2 + 2]);
        }
        // With reinit_prob = 1 every start is fresh, inside [-1, 1).
        let (_, x) = buf.sample::<2>(50, 1.0, &BufferFill::init(&init), &mut rng, &Device::flex());
        assert!(
            x.into_data()
                .try_to_vec::<f32>()
                .unwrap()
                .iter()
                .all(|v| (-1.0..1.0).contains(v))
        );
        assert!(ReplayBuffer::from_parts(3, vec![2], vec![0.0; 5]).is_none());
    }

    #[test]
    fn fresh_draws_come_from_the_slot_closure_and_sample_is_sample_with_the_init() {
        let init = InitDistribution::Uniform { lo: -1.0, hi: 1.0 };
        let mut rng = SeededRng::new(3);
        let buf = ReplayBuffer::new(6, &[2], &BufferFill::init(&init), &mut rng);
        let device = Device::flex();
        // Every start fresh: each is [slot, slot] from the closure.
        let mut by_slot = |slot: usize, _: &mut SeededRng| vec![slot as f32; 2];
        let (slots, x) = buf.sample_with::<2>(8, 1.0, &mut by_slot, &mut rng, &device);
        let v = x.into_data().try_to_vec::<f32>().unwrap();
        for (i, &s) in slots.iter().enumerate() {
            assert_eq!(&v[2 * i..2 * i + 2], &[s as f32, s as f32]);
        }
        // `sample` is `sample_with` drawing from the init distribution: same seed, same starts.
        let fill = BufferFill::init(&init);
        let (a, xa) = buf.sample::<2>(8, 0.5, &fill, &mut SeededRng::new(9), &device);
        let mut from_init = |_: usize, rng: &mut SeededRng| draw(&init, 2, rng);
        let (b, xb) = buf.sample_with::<2>(8, 0.5, &mut from_init, &mut SeededRng::new(9), &device);
        assert_eq!(a, b);
        assert_eq!(xa.into_data(), xb.into_data());
        let mut full = buf.clone();
        full.refill(&mut by_slot, &mut rng);
        assert_eq!(
            full.data(),
            &[0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0]
        );
    }

    /// The share of noise items in `n` fresh items of 3 values from a fill with `noise`: the
    /// init puts every value near 0, the noise in [2, 3).
    fn noise_share(noise: Option<(f64, (f64, f64))>, n: usize) -> f64 {
        let init = InitDistribution::Normal { std: 1e-3 };
        let items = BufferFill::new(&init, noise).items(n, 3, &mut SeededRng::new(5));
        assert_eq!(items.len(), n * 3);
        let is_noise = |item: &[f32]| item.iter().all(|v| (2.0..3.0).contains(v));
        let is_init = |item: &[f32]| item.iter().all(|v| v.abs() < 0.01);
        assert!(items.chunks(3).all(|i| is_noise(i) || is_init(i)));
        items.chunks(3).filter(|i| is_noise(i)).count() as f64 / n as f64
    }

    #[test]
    fn a_share_of_the_fresh_items_is_uniform_noise() {
        // 4,000 items: the share's Monte-Carlo sd is sqrt(0.3 * 0.7 / 4000) = 0.0072; 4 sd.
        let share = noise_share(Some((0.3, (2.0, 3.0))), 4000);
        assert!((share - 0.3).abs() < 0.03, "noise share {share}");
        // Negative control: a tenth of the share is outside the tolerance.
        let share = noise_share(Some((0.03, (2.0, 3.0))), 4000);
        assert!((share - 0.3).abs() > 0.03, "noise share {share}");
        assert_eq!(noise_share(None, 100), 0.0);
        // Without noise the fill is one draw from the init: the same values as `draw`.
        let init = InitDistribution::Uniform { lo: -1.0, hi: 1.0 };
        let fill = BufferFill::init(&init).items(4, 5, &mut SeededRng::new(1));
        assert_eq!(fill, draw(&init, 20, &mut SeededRng::new(1)));
    }
}
