//! The standard normal quantile `Phi^{-1}`, for rank normalisation.

/// The standard normal quantile `Phi^{-1}(p)` for `0 < p < 1` (Wichura's AS241, relative error
/// about `1e-16`); `-inf`/`+inf` at 0/1 and `NaN` outside `[0, 1]`.
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        return central(q);
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        tail(r - 1.6)
    } else {
        far_tail(r - 5.0)
    };
    if q < 0.0 { -val } else { val }
}

// The coefficients are quoted with all the digits Wichura published, as in R's qnorm.

/// AS241's rational approximation for `|q| <= 0.425`, `q = p - 1/2`.
#[allow(clippy::excessive_precision, clippy::inconsistent_digit_grouping)]
fn central(q: f64) -> f64 {
    let r = 0.180625 - q * q;
    q * (((((((r * 2509.080_928_730_122_7 + 33430.575_583_588_128) * r
        + 67265.770_927_008_700_853)
        * r
        + 45921.953_931_549_871_457)
        * r
        + 13731.693_765_509_461_125)
        * r
        + 1971.590_950_306_551_442_7)
        * r
        + 133.141_667_891_784_377_02)
        * r
        + 3.387_132_872_796_366_608)
        / (((((((r * 5226.495_278_852_854_561 + 28729.085_735_721_942_674) * r
            + 39307.895_800_092_710_610)
            * r
            + 21213.794_301_586_595_867)
            * r
            + 5394.196_021_424_751_077_1)
            * r
            + 687.187_007_492_057_908_95)
            * r
            + 42.313_330_701_600_911_252)
            * r
            + 1.0)
}

/// AS241's rational approximation in the tail for `sqrt(-log(min(p, 1-p))) <= 5`, at
/// `r = sqrt(-log(min(p, 1-p))) - 1.6`.
#[allow(clippy::excessive_precision, clippy::inconsistent_digit_grouping)]
fn tail(r: f64) -> f64 {
    (((((((r * 7.745_450_142_783_414_076_0e-4 + 0.022_723_844_989_269_184_583) * r
        + 0.241_780_725_177_450_611_77)
        * r
        + 1.270_458_252_452_368_382_58)
        * r
        + 3.647_848_324_763_204_605_04)
        * r
        + 5.769_497_221_460_691_405_5)
        * r
        + 4.630_337_846_156_545_295_9)
        * r
        + 1.423_437_110_749_683_577_34)
        / (((((((r * 1.050_750_071_644_416_843_24e-9 + 5.475_938_084_995_344_946_0e-4) * r
            + 0.015_198_666_563_616_457_2)
            * r
            + 0.148_103_976_427_480_074_59)
            * r
            + 0.689_767_334_985_100_004_55)
            * r
            + 1.676_384_830_183_803_849_4)
            * r
            + 2.053_191_626_637_758_821_87)
            * r
            + 1.0)
}

/// AS241's rational approximation in the far tail, at `r = sqrt(-log(min(p, 1-p))) - 5`.
#[allow(clippy::excessive_precision, clippy::inconsistent_digit_grouping)]
fn far_tail(r: f64) -> f64 {
    (((((((r * 2.010_334_399_292_288_132_65e-7 + 2.711_555_568_743_487_578_86e-5) * r
        + 0.001_242_660_947_388_078_438_6)
        * r
        + 0.026_532_189_526_576_123_093)
        * r
        + 0.296_560_571_828_504_891_23)
        * r
        + 1.784_826_539_917_291_335_8)
        * r
        + 5.463_784_911_164_114_369_9)
        * r
        + 6.657_904_643_501_103_777_2)
        / (((((((r * 2.044_263_103_389_939_785_41e-15 + 1.421_511_758_316_445_887_8e-7) * r
            + 1.846_318_317_510_054_681_8e-5)
            * r
            + 7.868_691_311_456_132_591e-4)
            * r
            + 0.014_875_361_290_850_615_025)
            * r
            + 0.136_929_880_922_735_805_31)
            * r
            + 0.599_832_206_555_887_937_69)
            * r
            + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_known_values() {
        let cases = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.841_344_746_068_542_9, 1.0),
            (0.001, -3.090_232_306_167_813_5),
            (1e-10, -6.361_340_902_404_056),
            (1.0 - 1e-6, 4.753_424_308_822_899),
        ];
        for (p, z) in cases {
            let got = normal_quantile(p);
            assert!(
                (got - z).abs() < 1e-9 * (1.0 + z.abs()),
                "p={p}: {got} vs {z}"
            );
        }
        assert!(normal_quantile(-0.1).is_nan());
    }
}
