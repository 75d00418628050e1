//! A simple fitted base for class-conditional chains: one diagonal Gaussian per class, fitted
//! to the training images of that class (each pixel's mean and sd), draws clamped to the pixel
//! range `[-1, 1]`. Chains that start there begin near a blurred average digit of their class
//! instead of uniform noise (JEM++'s "informative initialisation", with a diagonal covariance):
//! [`ConditionalTrainer::with_base`](crate::ConditionalTrainer::with_base) fills and
//! re-initialises the replay buffer from it.

use ebm_core::SeededRng;

use crate::error::TrainError;

/// Per-class pixel means and sds.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassGaussians {
    means: Vec<Vec<f32>>,
    sds: Vec<Vec<f32>>,
}

impl ClassGaussians {
    /// Fits `classes` Gaussians to `images` (`item` values each) with labels `labels`; every
    /// class needs at least two images.
    pub fn fit(
        images: &[f32],
        labels: &[usize],
        item: usize,
        classes: usize,
    ) -> Result<Self, TrainError> {
        let bad = |reason: String| TrainError::config("informative_init", reason);
        let mut sum = vec![vec![0f64; item]; classes];
        let mut sq = vec![vec![0f64; item]; classes];
        let mut count = vec![0usize; classes];
        for (x, &y) in images.chunks(item).zip(labels) {
            if y >= classes {
                return Err(bad(format!("label {y} is not below the {classes} classes")));
            }
            count[y] += 1;
            for ((s, q), &v) in sum[y].iter_mut().zip(sq[y].iter_mut()).zip(x) {
                *s += f64::from(v);
                *q += f64::from(v) * f64::from(v);
            }
        }
        if let Some(y) = (0..classes).find(|&y| count[y] < 2) {
            return Err(bad(format!(
                "class {y} has {} training images; the base needs 2",
                count[y]
            )));
        }
        let stats = |y: usize| -> (Vec<f32>, Vec<f32>) {
            let n = count[y] as f64;
            (sum[y].iter().zip(&sq[y]))
                .map(|(s, q)| {
                    let m = s / n;
                    (m as f32, ((q / n - m * m).max(0.0)).sqrt() as f32)
                })
                .unzip()
        };
        let (means, sds) = (0..classes).map(stats).unzip();
        Ok(Self { means, sds })
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.means.len()
    }

    /// Values per image.
    pub fn item_len(&self) -> usize {
        self.means.first().map_or(0, Vec::len)
    }

    /// `m` draws of class `y`, clamped to `[-1, 1]`, concatenated.
    pub fn draw(&self, y: usize, m: usize, rng: &mut SeededRng) -> Vec<f32> {
        let (mean, sd) = (&self.means[y], &self.sds[y]);
        let z = rng.normal_vec(m * mean.len());
        z.chunks(mean.len())
            .flat_map(|z| {
                z.iter()
                    .zip(mean.iter().zip(sd))
                    .map(|(z, (m, s))| (m + s * z).clamp(-1.0, 1.0))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_each_class_and_draws_near_its_mean() {
        // Class 0: pixels 0.0 and 0.2 alternating; class 1: constant -0.5 (sd 0).
        let images = [0.0, 0.0, 0.2, 0.2, -0.5, -0.5, -0.5, -0.5];
        let base = ClassGaussians::fit(&images, &[0, 0, 1, 1], 2, 2).unwrap();
        assert_eq!(base.means, vec![vec![0.1, 0.1], vec![-0.5, -0.5]]);
        assert!((base.sds[0][0] - 0.1).abs() < 1e-6 && base.sds[1][0] == 0.0);
        let mut rng = SeededRng::new(0);
        assert_eq!(base.draw(1, 3, &mut rng), vec![-0.5; 6]);
        let d = base.draw(0, 4000, &mut rng);
        let mean = d.iter().sum::<f32>() / d.len() as f32;
        // 8000 draws of sd 0.1: the mean's standard error is 0.0011.
        assert!((mean - 0.1).abs() < 0.006, "{mean}");
        assert!(ClassGaussians::fit(&images, &[0, 0, 0, 1], 2, 2).is_err());
        assert!(ClassGaussians::fit(&images, &[0, 0, 5, 1], 2, 2).is_err());
    }
}
