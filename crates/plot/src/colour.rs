//! Colour maps and the value-to-colour scales built on them.

use plotters::style::RGBColor;

/// A colour map: a piecewise-linear path through anchor colours, `t` in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ColourMap {
    /// Blue through near-white to red, for signed quantities (zero is
    /// near-white, so the sign reads at a glance).
    Diverging,
    /// Dark violet through teal to yellow, monotonic in lightness, for
    /// non-negative quantities (samples of viridis, which is CC0).
    Sequential,
}

const DIVERGING: [(u8, u8, u8); 7] = [
    (23, 45, 120),
    (52, 110, 185),
    (150, 195, 225),
    (247, 247, 247),
    (240, 165, 135),
    (200, 60, 50),
    (110, 10, 25),
];

const SEQUENTIAL: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 45, 123),
    (59, 82, 139),
    (44, 114, 142),
    (33, 145, 140),
    (40, 174, 128),
    (94, 201, 98),
    (173, 220, 48),
    (253, 231, 37),
];

impl ColourMap {
    fn anchors(self) -> &'static [(u8, u8, u8)] {
        match self {
            Self::Diverging => &DIVERGING,
            Self::Sequential => &SEQUENTIAL,
        }
    }

    /// The colour at `t`, clamped to `[0, 1]`.
    pub(crate) fn at(self, t: f64) -> RGBColor {
        let a = self.anchors();
        let s = t.clamp(0.0, 1.0) * (a.len() - 1) as f64;
        let k = (s.floor() as usize).min(a.len() - 2);
        let w = s - k as f64;
        let mix = |p: u8, q: u8| (f64::from(p) + w * (f64::from(q) - f64::from(p))).round() as u8;
        let (p, q) = (a[k], a[k + 1]);
        RGBColor(mix(p.0, q.0), mix(p.1, q.1), mix(p.2, q.2))
    }
}

/// Values `[lo, hi]` mapped onto a colour map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ColourScale {
    pub(crate) map: ColourMap,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
}

impl ColourScale {
    /// A diverging scale symmetric about zero covering `max |value|` of all
    /// `values` (`[-1, 1]` when they are all zero).
    pub(crate) fn symmetric<'a>(values: impl IntoIterator<Item = &'a f64>) -> Self {
        let m = values.into_iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let m = if m > 0.0 { m } else { 1.0 };
        Self { map: ColourMap::Diverging, lo: -m, hi: m }
    }

    /// A sequential scale from `min(0, min value)` to the largest value
    /// (to `1` above the low end when all values are equal).
    pub(crate) fn sequential<'a>(values: impl IntoIterator<Item = &'a f64>) -> Self {
        let (lo, hi) =
            values.into_iter().fold((0.0_f64, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Self { map: ColourMap::Sequential, lo, hi }
    }

    /// The colour of `value` (clamped to the scale).
    pub(crate) fn colour(&self, value: f64) -> RGBColor {
        self.map.at((value - self.lo) / (self.hi - self.lo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_middle() {
        assert_eq!(ColourMap::Sequential.at(0.0), RGBColor(68, 1, 84));
        assert_eq!(ColourMap::Sequential.at(1.0), RGBColor(253, 231, 37));
        assert_eq!(ColourMap::Sequential.at(7.0), RGBColor(253, 231, 37), "clamped");
        assert_eq!(ColourMap::Diverging.at(0.5), RGBColor(247, 247, 247));
        let s = ColourScale::symmetric(&[-0.5, 2.0]);
        assert_eq!((s.lo, s.hi), (-2.0, 2.0));
        assert_eq!(s.colour(0.0), RGBColor(247, 247, 247));
        let z = ColourScale::sequential(&[0.0, 0.0]);
        assert_eq!((z.lo, z.hi), (0.0, 1.0));
    }
}
