//! B-spline particle shapes (OSIRIS interpolation orders 1 to 4).
//!
//! A particle at position `x` (in cell units, grid nodes at the integers)
//! spreads onto node `i` with weight `S_O(x - i)`, where `S_O` is the
//! B-spline of order `O`: the top-hat of width one convolved `O` times with
//! itself (Birdsall & Langdon, *Plasma Physics via Computer Simulation*,
//! 1991, section 8-8; Hockney & Eastwood, *Computer Simulation Using
//! Particles*, 1988, section 5-3). `S_O` covers `O + 1` nodes, sums to one,
//! has zero first moment and variance `(O + 1) / 12` cell^2. The same shape
//! is used for charge/current deposition and for field gathering. Order 0
//! (nearest grid point) exists only for the energy-conserving electrostatic
//! gather, which uses the shape's derivative `S_O' = S_{O-1}(x + 1/2) - S_{O-1}(x - 1/2)`.

/// Length of the fixed-size weight arrays: order 4 needs 5 nodes, the
/// Esirkepov window one more.
pub const MAX_W: usize = 6;

/// Offset added before truncating to an integer: every position the code
/// evaluates a shape at is above `-OFFSET`, and truncation of a positive
/// number is `floor` without a libm call on baseline x86-64.
const OFFSET: f64 = 16.0;

#[inline(always)]
fn floor_i(x: f64) -> isize {
    (x + OFFSET) as isize - OFFSET as isize
}

/// First node and weights of the order-`O` B-spline at position `x` (cell
/// units). Weights `w[0..=O]` belong to nodes `first..=first + O`; entries
/// past `O` are zero.
///
/// Order 1: `[1 - d, d]`, `d = x - floor(x)`.
/// Order 2: `[(1/2 - d)^2 / 2, 3/4 - d^2, (1/2 + d)^2 / 2]`, `d = x - round(x)`.
/// Order 3: `[(1 - d)^3, 4 - 6 d^2 + 3 d^3, 1 + 3 d + 3 d^2 - 3 d^3, d^3] / 6`.
/// Order 4: `[(1 - 2d)^4 / 384, (19 - 44 d + 24 d^2 + 16 d^3 - 16 d^4) / 96,
/// 115/192 - 5 d^2 / 8 + d^4 / 4, (19 + 44 d + 24 d^2 - 16 d^3 - 16 d^4) / 96, (1 + 2d)^4 / 384]`.
#[inline(always)]
pub fn weights<const O: usize>(x: f64) -> (isize, [f64; MAX_W]) {
    let mut w = [0.0; MAX_W];
    match O {
        0 => {
            let i = floor_i(x + 0.5);
            w[0] = 1.0;
            (i, w)
        }
        1 => {
            let i = floor_i(x);
            let d = x - i as f64;
            w[0] = 1.0 - d;
            w[1] = d;
            (i, w)
        }
        2 => {
            let i = floor_i(x + 0.5);
            let d = x - i as f64;
            let (a, b) = (0.5 - d, 0.5 + d);
            w[0] = 0.5 * a * a;
            w[1] = 0.75 - d * d;
            w[2] = 0.5 * b * b;
            (i - 1, w)
        }
        3 => {
            let i = floor_i(x);
            let d = x - i as f64;
            let (d2, d3) = (d * d, d * d * d);
            let e = 1.0 - d;
            const S: f64 = 1.0 / 6.0;
            w[0] = S * e * e * e;
            w[1] = S * (4.0 - 6.0 * d2 + 3.0 * d3);
            w[2] = S * (1.0 + 3.0 * d + 3.0 * d2 - 3.0 * d3);
            w[3] = S * d3;
            (i - 1, w)
        }
        4 => {
            let i = floor_i(x + 0.5);
            let d = x - i as f64;
            let (d2, d3) = (d * d, d * d * d);
            let d4 = d2 * d2;
            let (a, b) = (1.0 - 2.0 * d, 1.0 + 2.0 * d);
            let (a2, b2) = (a * a, b * b);
            const S96: f64 = 1.0 / 96.0;
            w[0] = a2 * a2 / 384.0;
            w[1] = S96 * (19.0 - 44.0 * d + 24.0 * d2 + 16.0 * d3 - 16.0 * d4);
            w[2] = 115.0 / 192.0 - 0.625 * d2 + 0.25 * d4;
            w[3] = S96 * (19.0 + 44.0 * d + 24.0 * d2 - 16.0 * d3 - 16.0 * d4);
            w[4] = b2 * b2 / 384.0;
            (i - 2, w)
        }
        _ => unreachable!("shape order {O} is not implemented"),
    }
}

/// Runtime-order version of [`weights`], for code off the hot path.
///
/// # Panics
/// If `order > 4` (decks are validated before any shape is evaluated).
pub fn weights_dyn(order: usize, x: f64) -> (isize, [f64; MAX_W]) {
    match order {
        0 => weights::<0>(x),
        1 => weights::<1>(x),
        2 => weights::<2>(x),
        3 => weights::<3>(x),
        4 => weights::<4>(x),
        _ => panic!("shape order {order} is not in 0..=4"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The B-spline of order `O` by its defining recursion (de Boor):
    /// `S_O(t) = ((O+1)/2 + t) / O * S_{O-1}(t + 1/2) + ((O+1)/2 - t) / O * S_{O-1}(t - 1/2)`.
    fn bspline(o: usize, t: f64) -> f64 {
        if o == 0 {
            return if (-0.5..0.5).contains(&t) { 1.0 } else { 0.0 };
        }
        let h = (o as f64 + 1.0) / 2.0;
        ((h + t) * bspline(o - 1, t + 0.5) + (h - t) * bspline(o - 1, t - 0.5)) / o as f64
    }

    #[test]
    fn weights_match_the_recursive_definition_and_moments() {
        for o in 1..=4 {
            for k in 0..200 {
                let x = -0.7 + 0.013 * k as f64 + 3.0;
                let (first, w) = weights_dyn(o, x);
                let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
                for (m, &wm) in w.iter().enumerate().take(o + 1) {
                    let node = (first + m as isize) as f64;
                    // Independent route: the recursive B-spline. Round-off only.
                    assert!((wm - bspline(o, x - node)).abs() < 1e-13, "order {o} x {x} node {node}");
                    s0 += wm;
                    s1 += wm * (node - x);
                    s2 += wm * (node - x) * (node - x);
                }
                assert!(w[o + 1..].iter().all(|&v| v == 0.0));
                assert!((s0 - 1.0).abs() < 1e-14);
                assert!(s1.abs() < 1e-13);
                // B-splines reproduce linear functions exactly, not quadratics:
                // the sampled second moment only lies within (O + 1) / 12 +- 1/4.
                assert!((s2 - (o as f64 + 1.0) / 12.0).abs() <= 0.25, "order {o}: {s2}");
            }
        }
    }

    #[test]
    fn floor_handles_negative_positions() {
        assert_eq!(floor_i(-0.25), -1);
        assert_eq!(floor_i(-3.0), -3);
        assert_eq!(floor_i(2.999), 2);
        let (first, w) = weights::<0>(1.49);
        assert_eq!((first, w[0]), (1, 1.0));
    }
}
