//! Axis ranges and tick labels.

/// The step plotters puts between the ticks of a linear axis over
/// `[lo, hi]` when asked for at most `n`: the smallest 1, 2 or 5 times a
/// power of ten that gives no more than `n` multiples inside the interval.
pub(crate) fn tick_step(lo: f64, hi: f64, n: usize) -> f64 {
    let n = n.max(1) as f64;
    let span = (hi - lo).abs();
    if !(span > 0.0 && span.is_finite()) {
        return 0.0;
    }
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    let mut decade = 10f64.powf((span / n).log10().floor());
    loop {
        for m in [1.0, 2.0, 5.0] {
            let step = m * decade;
            if (hi / step).floor() - (lo / step).ceil() + 1.0 <= n {
                return step;
            }
        }
        decade *= 10.0;
    }
}

/// The ticks of a linear axis over `[lo, hi]` with at most about `n` of
/// them, as [`tick_step`] places them.
pub(crate) fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let step = tick_step(lo, hi, n);
    if step <= 0.0 {
        return vec![lo];
    }
    let (first, last) = ((lo.min(hi) / step).ceil() as i64, (lo.max(hi) / step).floor() as i64);
    (first..=last).map(|k| k as f64 * step).collect()
}

/// How the tick labels of one linear axis are written: every label with the
/// same number of digits, in scientific notation when the values are very
/// small or very large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TickFormat {
    scientific: bool,
    digits: usize,
    step: f64,
}

impl TickFormat {
    /// The format for an axis over `[lo, hi]` with at most about `n` ticks.
    pub(crate) fn new(lo: f64, hi: f64, n: usize) -> Self {
        let step = tick_step(lo, hi, n);
        if step <= 0.0 {
            return Self { scientific: false, digits: 2, step: 0.0 };
        }
        let magnitude = lo.abs().max(hi.abs());
        let scientific = !(1e-3..1e5).contains(&magnitude);
        // The 1e-9 keep exact powers of ten (log10 = -2.9999999999999996)
        // on the right side of floor and ceil.
        let digits = if scientific {
            (magnitude.log10() + 1e-9).floor() - (step.log10() + 1e-9).floor()
        } else {
            -(step.log10() + 1e-9).floor()
        };
        Self { scientific, digits: digits.clamp(0.0, 6.0) as usize, step }
    }

    /// The label of the tick at `v`, with more digits than planned if the
    /// planned ones would misstate it.
    pub(crate) fn label(&self, v: f64) -> String {
        if v.abs() <= 1e-9 * self.step {
            return "0".into();
        }
        let write = |digits: usize| {
            if self.scientific { format!("{v:.digits$e}") } else { format!("{v:.digits$}") }
        };
        let tolerance = 1e-6 * self.step.max(f64::MIN_POSITIVE);
        (self.digits..=12)
            .map(write)
            .find(|s| s.parse::<f64>().is_ok_and(|w| (w - v).abs() <= tolerance))
            .unwrap_or_else(|| write(12))
    }
}

/// `[lo, hi]` widened by `frac` of its span on each side; an empty or
/// inverted interval is widened around its value instead.
pub(crate) fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if hi > lo {
        let d = frac * (hi - lo);
        (lo - d, hi + d)
    } else {
        let d = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        (lo - d, hi + d)
    }
}

/// The smallest range of whole decades `[10^a, 10^b]`, `b > a`, holding the
/// positive values `lo <= hi`, as the exponents `(a, b)`.
pub(crate) fn decades(lo: f64, hi: f64) -> (i32, i32) {
    let a = lo.log10().floor() as i32;
    let b = (hi.log10().ceil() as i32).max(a + 1);
    (a, b)
}

/// `10^k` written with a superscript exponent: `1`, `10`, `10²`, `10⁻³`.
pub(crate) fn power_of_ten(k: i32) -> String {
    const SUPERSCRIPT: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    match k {
        0 => "1".into(),
        1 => "10".into(),
        _ => {
            let mut s = String::from("10");
            if k < 0 {
                s.push('⁻');
            }
            s.extend(k.unsigned_abs().to_string().bytes().map(|b| SUPERSCRIPT[usize::from(b - b'0')]));
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels() {
        let f = TickFormat::new(-5.0, 5.0, 6);
        assert_eq!((f.label(-4.0), f.label(0.0), f.label(2.0)), ("-4".into(), "0".into(), "2".into()));
        let f = TickFormat::new(0.0, 0.45, 6);
        assert_eq!(f.label(0.1), "0.1");
        assert_eq!(f.label(0.15), "0.15", "more digits rather than a wrong label");
        let f = TickFormat::new(0.0, 7.14, 8);
        assert_eq!(f.label(3.0), "3");
        let f = TickFormat::new(-3e-4, 3e-4, 6);
        assert_eq!((f.label(2e-4), f.label(-1e-4)), ("2e-4".into(), "-1e-4".into()));
        let f = TickFormat::new(0.0, 2.5e-4, 6);
        assert_eq!(f.label(1.5e-4), "1.5e-4");
        let f = TickFormat::new(0.0, 2.5e-3, 6);
        assert_eq!(f.label(1.5e-3), "0.0015");
        let f = TickFormat::new(0.0, 1e4, 6);
        assert_eq!(f.label(8e3), "8000");
        assert_eq!(f.label(1e-20), "0");
    }

    #[test]
    fn steps_and_ticks() {
        assert_eq!(tick_step(0.0, 7.14, 8), 1.0);
        assert_eq!(tick_step(-5.0, 5.0, 7), 2.0);
        assert_eq!(tick_step(0.0, 0.45, 6), 0.1);
        assert_eq!(ticks(-5.0, 5.0, 7), vec![-4.0, -2.0, 0.0, 2.0, 4.0]);
        assert_eq!(tick_step(1.0, 1.0, 5), 0.0);
    }

    #[test]
    fn ranges() {
        assert_eq!(padded(0.0, 10.0, 0.1), (-1.0, 11.0));
        assert_eq!(padded(0.0, 0.0, 0.1), (-1.0, 1.0));
        assert_eq!(decades(0.02, 3.0), (-2, 1));
        assert_eq!(decades(1.0, 1.0), (0, 1));
        assert_eq!(power_of_ten(-3), "10⁻³");
        assert_eq!(power_of_ten(12), "10¹²");
    }
}
