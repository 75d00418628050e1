//! The unary network `u(x, t) in R^K`: per-token features, then a window of context.
//!
//! ```text
//! r_t = relu(W_tok [e_word(w_t); e_1(f_t1); ...; e_F(f_tF)] + b_tok)           token vector, d_token
//! h_t = relu(W_hid [r_(t-w); ...; r_t; ...; r_(t+w)] + b_hid)                   window +-w, hidden
//! u(x, t) = W_out h_t + b_out                                                   K tag scores
//! ```
//!
//! `e_word` is a learned word embedding (id 0 padding, id 1 unknown), `e_k(f_tk)` the embedding
//! row of the `k`-th hashed character feature ([`crate::features`]), and `r` is zero outside the
//! sentence. Dropout (with masks from our [`SeededRng`], not burn's global RNG) is applied to the
//! token input and to `h` during training. The window layer is a 1-D convolution of width
//! `2w + 1` written as shifted slices and one matrix product.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ebm_core::SeededRng;
use ebm_core::neural::init::{linear, seeded_id, with_id};
use serde::{Deserialize, Serialize};

use crate::error::TagError;
use crate::features::{Batch, N_FEATURES};

/// The shape of a [`UnaryNet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Word ids (vocabulary size, with padding and unknown).
    pub n_words: usize,
    /// Tags `K`.
    pub n_tags: usize,
    /// Rows of the hashed feature table.
    pub buckets: usize,
    /// Word embedding width.
    pub d_word: usize,
    /// Width of each hashed feature's embedding.
    pub d_feat: usize,
    /// Token vector width.
    pub d_token: usize,
    /// Context half-width `w` (window `2w + 1`).
    pub window: usize,
    /// Hidden width of the window layer.
    pub hidden: usize,
}

impl NetConfig {
    /// The default shape for `n_words` words and `n_tags` tags.
    pub fn new(n_words: usize, n_tags: usize) -> Self {
        Self {
            n_words,
            n_tags,
            buckets: 1 << 15,
            d_word: 64,
            d_feat: 24,
            d_token: 128,
            window: 1,
            hidden: 256,
        }
    }

    /// Checks every width is positive.
    pub fn validate(&self) -> Result<(), TagError> {
        let all = [
            self.n_words,
            self.n_tags,
            self.buckets,
            self.d_word,
            self.d_feat,
            self.d_token,
            self.hidden,
        ];
        if all.contains(&0) || self.buckets < 2 || self.n_words < 2 {
            return Err(TagError::invalid(
                "network shape",
                format!("all widths must be positive (buckets >= 2, words >= 2): {self:?}"),
            ));
        }
        Ok(())
    }

    /// Builds the network on `device` with weights drawn from `rng`: embeddings `N(0, 0.1^2)`,
    /// linear layers uniform on `+-1/sqrt(fan_in)`.
    pub fn init(&self, device: &Device, rng: &mut SeededRng) -> Result<UnaryNet, TagError> {
        self.validate()?;
        let embed = |rows: usize, cols: usize, rng: &mut SeededRng| {
            let id = seeded_id(rng);
            let v: Vec<f32> = rng
                .normal_vec(rows * cols)
                .iter()
                .map(|x| 0.1 * x)
                .collect();
            with_id(
                Param::from_tensor(Tensor::from_data(TensorData::new(v, [rows, cols]), device)),
                id,
            )
        };
        let d_in = self.d_word + N_FEATURES * self.d_feat;
        Ok(UnaryNet {
            words: embed(self.n_words, self.d_word, rng),
            feats: embed(self.buckets, self.d_feat, rng),
            token: linear(d_in, self.d_token, rng, device),
            hidden: linear(
                (2 * self.window + 1) * self.d_token,
                self.hidden,
                rng,
                device,
            ),
            output: linear(self.hidden, self.n_tags, rng, device),
        })
    }
}

/// The unary network (see the module docs).
#[derive(Module, Debug)]
pub struct UnaryNet {
    /// Word embedding `[n_words, d_word]`.
    pub words: Param<Tensor<2>>,
    /// Hashed feature embedding `[buckets, d_feat]`.
    pub feats: Param<Tensor<2>>,
    /// Token layer.
    pub token: Linear,
    /// Window layer.
    pub hidden: Linear,
    /// Output layer, to `K` scores.
    pub output: Linear,
}

/// Dropout with a host-drawn mask: keeps each entry with probability `1 - p`, scaled by `1/(1-p)`.
pub fn dropout(x: Tensor<2>, p: f32, rng: &mut SeededRng) -> Tensor<2> {
    if p <= 0.0 {
        return x;
    }
    let dims = x.dims();
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = rng
        .uniform_vec(dims[0] * dims[1], 0.0, 1.0)
        .into_iter()
        .map(|u| if u < p { 0.0 } else { keep })
        .collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, dims), &x.device());
    x * mask
}

impl UnaryNet {
    /// Context half-width `w`.
    pub fn window(&self) -> usize {
        let d_token = self.token.weight.dims()[1];
        (self.hidden.weight.dims()[0] / d_token - 1) / 2
    }

    /// Tags `K`.
    pub fn n_tags(&self) -> usize {
        self.output.weight.dims()[1]
    }

    /// The unary scores `[B, S, K]` of a batch; `dropout` is `Some((p, rng))` in training.
    pub fn forward(
        &self,
        batch: &Batch,
        device: &Device,
        mut dropout_rng: Option<(f32, &mut SeededRng)>,
    ) -> Tensor<3> {
        let (b, s) = (batch.batch, batch.seq);
        let n = b * s;
        let ids =
            |v: &[i64]| Tensor::<1, Int>::from_data(TensorData::new(v.to_vec(), [v.len()]), device);
        let w = self.words.val().select(0, ids(&batch.words));
        let d_feat = self.feats.dims()[1];
        let f = self
            .feats
            .val()
            .select(0, ids(&batch.feats))
            .reshape([n, N_FEATURES * d_feat]);
        let mut x = Tensor::cat(vec![w, f], 1);
        if let Some((p, rng)) = dropout_rng.as_mut() {
            x = dropout(x, *p, rng);
        }
        let d_token = self.token.weight.dims()[1];
        let mask = Tensor::<2>::from_data(TensorData::new(batch.mask(), [n, 1]), device);
        let r = (relu(self.token.forward(x)) * mask).reshape([b, s, d_token]);
        let win = self.window();
        let padded = if win > 0 {
            let z = Tensor::<3>::zeros([b, win, d_token], device);
            Tensor::cat(vec![z.clone(), r, z], 1)
        } else {
            r
        };
        let ctx: Vec<Tensor<3>> = (0..2 * win + 1)
            .map(|o| padded.clone().slice([0..b, o..o + s, 0..d_token]))
            .collect();
        let ctx = Tensor::cat(ctx, 2).reshape([n, (2 * win + 1) * d_token]);
        let mut h = relu(self.hidden.forward(ctx));
        if let Some((p, rng)) = dropout_rng.as_mut() {
            h = dropout(h, *p, rng);
        }
        self.output.forward(h).reshape([b, s, self.n_tags()])
    }
}
