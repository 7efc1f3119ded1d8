//! Gauss-Legendre quadrature, composite and adaptive, for the wave-number
//! integrals of the collision coefficients.

use std::sync::OnceLock;

/// Points of the Gauss-Legendre rule used on every panel.
const ORDER: usize = 16;

/// Nodes and weights of the `ORDER`-point Gauss-Legendre rule on `[-1, 1]`,
/// by Newton's iteration on `P_n` with the three-term recurrence (Golub &
/// Welsch would do as well; Davis & Rabinowitz, *Methods of Numerical
/// Integration*, 1984, section 2.7), computed once.
fn rule() -> &'static ([f64; ORDER], [f64; ORDER]) {
    static R: OnceLock<([f64; ORDER], [f64; ORDER])> = OnceLock::new();
    R.get_or_init(|| {
        let n = ORDER;
        let (mut x, mut w) = ([0.0; ORDER], [0.0; ORDER]);
        for i in 0..n {
            let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut dp = 0.0;
            for _ in 0..100 {
                // P_n(z) and P_n'(z) by the recurrence.
                let (mut p0, mut p1) = (1.0, z);
                for k in 2..=n {
                    let p2 = ((2 * k - 1) as f64 * z * p1 - (k - 1) as f64 * p0) / k as f64;
                    p0 = p1;
                    p1 = p2;
                }
                dp = n as f64 * (z * p1 - p0) / (z * z - 1.0);
                let dz = p1 / dp;
                z -= dz;
                if dz.abs() < 1e-16 {
                    break;
                }
            }
            x[i] = z;
            w[i] = 2.0 / ((1.0 - z * z) * dp * dp);
        }
        (x, w)
    })
}

/// The Gauss-Legendre rule on `[a, b]` for a vector-valued integrand.
pub(crate) fn gauss<const N: usize>(f: &impl Fn(f64) -> [f64; N], a: f64, b: f64) -> [f64; N] {
    let (x, w) = rule();
    let (c, h) = (0.5 * (a + b), 0.5 * (b - a));
    let mut s = [0.0; N];
    for (xi, wi) in x.iter().zip(w) {
        let v = f(c + h * xi);
        for (sk, vk) in s.iter_mut().zip(v) {
            *sk += wi * vk;
        }
    }
    s.map(|v| v * h)
}

/// Adaptive bisection on `[a, b]`: accept the two-halves estimate when it
/// differs from the whole-panel one by at most `tol` (max norm), else recurse
/// with `tol / 2` on each half, at most `depth` levels.
fn adapt<const N: usize>(
    f: &impl Fn(f64) -> [f64; N],
    a: f64,
    b: f64,
    whole: [f64; N],
    tol: f64,
    depth: u32,
) -> [f64; N] {
    let m = 0.5 * (a + b);
    let (left, right) = (gauss(f, a, m), gauss(f, m, b));
    let mut halves = [0.0; N];
    let mut err: f64 = 0.0;
    for k in 0..N {
        halves[k] = left[k] + right[k];
        err = err.max((halves[k] - whole[k]).abs());
    }
    if err <= tol || depth == 0 {
        return halves;
    }
    let l = adapt(f, a, m, left, 0.5 * tol, depth - 1);
    let r = adapt(f, m, b, right, 0.5 * tol, depth - 1);
    let mut out = [0.0; N];
    for k in 0..N {
        out[k] = l[k] + r[k];
    }
    out
}

/// `int f` over the panels `breaks[0]..breaks[1]..`, adaptively refined
/// until each panel's error estimate is below `rel_tol` times the size
/// (max over components of the sum of absolute panel values) of a first
/// pass, shared out by panel width.
pub(crate) fn integrate<const N: usize>(
    f: &impl Fn(f64) -> [f64; N],
    breaks: &[f64],
    rel_tol: f64,
) -> [f64; N] {
    let first: Vec<[f64; N]> = breaks.windows(2).map(|p| gauss(f, p[0], p[1])).collect();
    let mut scale: f64 = 0.0;
    for k in 0..N {
        scale = scale.max(first.iter().map(|v| v[k].abs()).sum::<f64>());
    }
    let tol = rel_tol * scale / (breaks.len() - 1) as f64;
    let mut out = [0.0; N];
    for (p, whole) in breaks.windows(2).zip(first) {
        let v = adapt(f, p[0], p[1], whole, tol, 30);
        for k in 0..N {
            out[k] += v[k];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_is_exact_for_polynomials() {
        // A 16-point Gauss rule integrates x^m exactly for m <= 31.
        for m in [0, 1, 2, 7, 30, 31] {
            let got = gauss(&|x: f64| [x.powi(m)], 0.0, 1.0)[0];
            assert!((got - 1.0 / (m + 1) as f64).abs() < 1e-15, "x^{m}: {got}");
        }
    }

    #[test]
    fn adaptive_resolves_a_narrow_peak() {
        // Lorentzian of width 1e-6 at 0.3: int_0^1 = (atan(0.7/e) + atan(0.3/e)) / e.
        let e = 1e-6;
        let f = |x: f64| [1.0 / ((x - 0.3) * (x - 0.3) + e * e)];
        let exact = ((0.7 / e).atan() + (0.3 / e).atan()) / e;
        let got = integrate(&f, &[0.0, 0.5, 1.0], 1e-13)[0];
        assert!((got - exact).abs() < 1e-11 * exact, "{got} vs {exact}");
    }
}
