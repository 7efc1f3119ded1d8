//! The Faddeeva function `w(z)`, the plasma dispersion function `Z(zeta)`
//! and the Maxwellian response `1 + zeta Z(zeta)` of the dielectric function.
//!
//! `w(z) = e^{-z^2} erfc(-i z)` (DLMF 7.2.3) by the rational expansion of
//! J. A. C. Weideman, "Computation of the complex error function", SIAM J.
//! Numer. Anal. 31, 1497 (1994), eqs. (3.10)-(3.13): for `Im z >= 0`,
//!
//! ```text
//! w(z) = 2 p(Y) / (L - i z)^2 + pi^{-1/2} / (L - i z),   Y = (L + i z) / (L - i z),
//! p(Y) = sum_{n=0}^{N-1} a_{n+1} Y^n,
//! a_n  = (1/pi) int_0^pi (L^2 + t^2) e^{-t^2} cos(n theta) dtheta,   t = L tan(theta / 2),
//! ```
//!
//! with `N = 36` terms and `L = N^{1/2} 2^{-1/4}` (Weideman's choice). The
//! coefficients are Fourier coefficients of a smooth periodic function; they
//! are computed once by the trapezoidal rule on 512 nodes (converged to
//! round-off). For `Im z < 0`, `w(z) = 2 e^{-z^2} - w(-z)` (DLMF 7.4.3).
//! Measured against independent values (see the tests): relative error below
//! `1e-13` on the real line and in the upper half plane.
//!
//! The plasma dispersion function is `Z(zeta) = i sqrt(pi) w(zeta)` (Fried &
//! Conte, *The Plasma Dispersion Function*, 1961). On the real line
//! `Z(x) = -2 F(x) + i sqrt(pi) e^{-x^2}`, with Dawson's integral
//! `F(x) = (sqrt(pi)/2) Im w(x)` (DLMF 7.5.1); [`maxwellian_response`] uses
//! this form so that the small imaginary part `sqrt(pi) e^{-x^2}` keeps full
//! relative accuracy far in the tail.

use std::f64::consts::PI;
use std::sync::OnceLock;

use num_complex::Complex64;

/// Number of terms of Weideman's expansion.
const N_TERMS: usize = 36;

/// `(L, [a_1, ..., a_N])` of Weideman's expansion, computed once.
fn coefficients() -> &'static (f64, [f64; N_TERMS]) {
    static C: OnceLock<(f64, [f64; N_TERMS])> = OnceLock::new();
    C.get_or_init(|| {
        let l = (N_TERMS as f64).sqrt() / 2f64.powf(0.25);
        // Trapezoidal rule for (1/pi) int_0^pi f(theta) cos(n theta) dtheta;
        // f is even and 2 pi-periodic and smooth (it vanishes to all orders
        // at theta = pi), so the rule converges geometrically.
        let m = 512;
        let h = PI / m as f64;
        let f = |theta: f64| {
            if theta >= PI {
                return 0.0;
            }
            let t = l * (0.5 * theta).tan();
            (l * l + t * t) * (-t * t).exp()
        };
        let mut a = [0.0; N_TERMS];
        for (n, an) in a.iter_mut().enumerate() {
            let n = (n + 1) as f64;
            let mut s = 0.5 * f(0.0);
            for k in 1..m {
                let theta = k as f64 * h;
                s += f(theta) * (n * theta).cos();
            }
            *an = s * h / PI;
        }
        (l, a)
    })
}

/// The Faddeeva function `w(z) = e^{-z^2} erfc(-i z)` (DLMF 7.2.3), by
/// Weideman's rational expansion (see the module docs); relative accuracy
/// about `1e-13` for `Im z >= 0` and moderate `|z|` in the lower half plane
/// (where `w` grows like `e^{-z^2}`).
pub fn faddeeva_w(z: Complex64) -> Complex64 {
    if z.im < 0.0 {
        return 2.0 * (-z * z).exp() - faddeeva_w(-z);
    }
    let (l, a) = coefficients();
    let i = Complex64::i();
    let den = *l - i * z;
    let y = (*l + i * z) / den;
    // Horner: p(Y) = a_1 + a_2 Y + ... + a_N Y^{N-1}.
    let mut p = Complex64::new(0.0, 0.0);
    for &an in a.iter().rev() {
        p = p * y + an;
    }
    2.0 * p / (den * den) + 1.0 / (PI.sqrt() * den)
}

/// The plasma dispersion function `Z(zeta) = i sqrt(pi) w(zeta)` (Fried &
/// Conte 1961), analytic continuation included (valid for every `zeta`).
pub fn plasma_dispersion(zeta: Complex64) -> Complex64 {
    Complex64::new(0.0, PI.sqrt()) * faddeeva_w(zeta)
}

/// Dawson's integral `F(x) = e^{-x^2} int_0^x e^{t^2} dt = (sqrt(pi)/2) Im w(x)`
/// (DLMF 7.5.1) for real `x`.
pub fn dawson(x: f64) -> f64 {
    0.5 * PI.sqrt() * faddeeva_w(Complex64::new(x, 0.0)).im
}

/// The Maxwellian response `W(u) = 1 + zeta Z(zeta)`, `zeta = u / sqrt(2)`,
/// and its derivative `dW/du`, at a real phase velocity `u = omega / k` in
/// units of `v_th`.
///
/// `W` is the factor of the electron susceptibility of a 2D (or 3D)
/// Maxwellian plasma, `chi(k, omega) = W(omega / k) / (k lambda_D)^2`
/// (Ichimaru, *Basic Principles of Plasma Physics*, 1973, eq. 4.68). With
/// `Z(x) = -2 F(x) + i sqrt(pi) e^{-x^2}` on the real line:
///
/// ```text
/// W(u)  = 1 - 2 zeta F(zeta) + i sqrt(pi) zeta e^{-zeta^2},    Im W = pi u g(u),
/// dW/du = (Z - 2 zeta W) / sqrt(2)       (from Z' = -2 (1 + zeta Z), DLMF 7.10)
/// ```
///
/// with `g(u) = e^{-u^2/2} / sqrt(2 pi)` the 1D Maxwellian. Limits:
/// `W(0) = 1` (static Debye shielding), `W ~ -1/u^2 - 3/u^4` for `u >> 1`
/// (cold plasma: Langmuir waves), `W(-u) = conj(W(u))`.
pub fn maxwellian_response(u: f64) -> (Complex64, Complex64) {
    let zeta = u * std::f64::consts::FRAC_1_SQRT_2;
    let z = Complex64::new(-2.0 * dawson(zeta), PI.sqrt() * (-zeta * zeta).exp());
    let w = 1.0 + zeta * z;
    let dw = (z - 2.0 * zeta * w) * std::f64::consts::FRAC_1_SQRT_2;
    (w, dw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: Complex64, b: Complex64) -> f64 {
        (a - b).norm() / b.norm()
    }

    /// Dawson's integral by its Maclaurin series (DLMF 7.6.5 via 7.5.1):
    /// `F(x) = sum_n (-1)^n 2^n x^{2n+1} / (2n+1)!!`; alternating terms of
    /// size up to `~ e^{2 x^2}` times the result, so used for `|x| <= 1.5`
    /// only (worst loss `~ e^{4.5}`, about 100 ulps).
    fn dawson_series(x: f64) -> f64 {
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -2.0 * x * x / (2 * n + 1) as f64;
            sum += term;
            if term.abs() < 1e-18 * sum.abs() {
                break;
            }
        }
        sum
    }

    /// Asymptotic series `F(x) ~ 1/(2x) sum_n (2n-1)!! / (2 x^2)^n` (DLMF 7.12.1
    /// via 7.5.1), for `x >= 8`: the smallest term is below `1e-16` there.
    fn dawson_asymptotic(x: f64) -> f64 {
        let q = 1.0 / (2.0 * x * x);
        let (mut term, mut sum) = (1.0, 1.0);
        for n in 1..40 {
            let next = term * (2 * n - 1) as f64 * q;
            if next > term {
                break;
            }
            term = next;
            sum += term;
        }
        sum / (2.0 * x)
    }

    #[test]
    fn known_values() {
        // w(i) = erfcx(1) = e erfc(1); w(1) = e^{-1} + 2i F(1)/sqrt(pi)
        // (DLMF tables; erfc(1) = 0.157299207050285130658..., F(1) =
        // 0.538079506912768419136...). 1e-13 relative is the accuracy claimed.
        let erfcx1 = 1f64.exp() * 0.157_299_207_050_285_13;
        assert!(rel(faddeeva_w(Complex64::new(0.0, 1.0)), Complex64::new(erfcx1, 0.0)) < 1e-13);
        let w1 = Complex64::new((-1f64).exp(), 2.0 * 0.538_079_506_912_768_4 / PI.sqrt());
        assert!(rel(faddeeva_w(Complex64::new(1.0, 0.0)), w1) < 1e-13);
        assert!(rel(faddeeva_w(Complex64::new(0.0, 0.0)), Complex64::new(1.0, 0.0)) < 1e-14);
    }

    #[test]
    fn dawson_matches_series_and_asymptotics() {
        // Maclaurin series on [0, 1.5] (tolerance: its own ~100 ulp loss plus
        // the expansion's 1e-13), asymptotic series on [8, 40].
        for k in 0..=150 {
            let x = 0.01 * k as f64;
            let (a, b) = (dawson(x), dawson_series(x));
            assert!((a - b).abs() <= 1e-13 * b.abs() + 1e-16, "x = {x}: {a} vs {b}");
        }
        for k in 0..=64 {
            let x = 8.0 + 0.5 * k as f64;
            let (a, b) = (dawson(x), dawson_asymptotic(x));
            assert!((a - b).abs() <= 1e-13 * b, "x = {x}: {a} vs {b}");
        }
        assert!((dawson(-0.7) + dawson(0.7)).abs() < 1e-16, "odd");
    }

    #[test]
    fn imaginary_axis_is_erfcx() {
        // w(i y) = erfcx(y) = e^{y^2} erfc(y): for y >= 6 its continued
        // fraction (DLMF 7.9.2) converged to round-off, (1/sqrt(pi)) / (y + (1/2)/(y + 1/(y + (3/2)/(y + ...)))).
        for y in [6.0, 9.0, 20.0, 100.0] {
            let mut cf = y;
            for n in (1..200).rev() {
                cf = y + 0.5 * n as f64 / cf;
            }
            let exact = 1.0 / (PI.sqrt() * cf);
            let got = faddeeva_w(Complex64::new(0.0, y));
            assert!(rel(got, Complex64::new(exact, 0.0)) < 1e-13, "y = {y}: {got}");
        }
    }

    #[test]
    fn satisfies_its_differential_equation() {
        // w'(z) = -2 z w(z) + 2i/sqrt(pi) (DLMF 7.10.2) off the axes, with
        // a 4th-order central difference (h = 1e-3: truncation ~ 1e-12,
        // round-off ~ 1e-13 / h = 1e-13 relative).
        let h = 1e-3;
        for z in [Complex64::new(0.5, 0.3), Complex64::new(2.0, 1.5), Complex64::new(-3.0, 0.2)] {
            let f = |s: f64| faddeeva_w(z + s * h);
            let d = (-f(2.0) + 8.0 * f(1.0) - 8.0 * f(-1.0) + f(-2.0)) / (12.0 * h);
            let exact = -2.0 * z * faddeeva_w(z) + Complex64::new(0.0, 2.0 / PI.sqrt());
            assert!(rel(d, exact) < 1e-9, "z = {z}: {d} vs {exact}");
        }
    }

    #[test]
    fn lower_half_plane_by_reflection() {
        // w(conj z) = conj(w(-z)) (DLMF 7.4.2 with 7.4.3), checked for Im z < 0.
        for z in [Complex64::new(0.5, -0.3), Complex64::new(-1.2, -0.8)] {
            assert!(rel(faddeeva_w(z), faddeeva_w(-z.conj()).conj()) < 1e-12, "z = {z}");
        }
    }

    #[test]
    fn response_limits() {
        // W(0) = 1 exactly; small u: W = 1 + i sqrt(pi/2) u - u^2 + O(u^3);
        // Im W = pi u g(u) to round-off; large u: W = -1/u^2 - 3/u^4 - 15/u^6 + ...
        let (w0, dw0) = maxwellian_response(0.0);
        assert_eq!(w0, Complex64::new(1.0, 0.0));
        assert!((dw0 - Complex64::new(0.0, (0.5 * PI).sqrt())).norm() < 1e-14);
        let u = 1e-3;
        let (w, _) = maxwellian_response(u);
        assert!((w - Complex64::new(1.0 - u * u, (0.5 * PI).sqrt() * u)).norm() < 1e-9);
        for u in [0.3, 1.0, 2.5, 6.0] {
            let (w, _) = maxwellian_response(u);
            let g = (-0.5 * u * u).exp() / (2.0 * PI).sqrt();
            // Rounding of the exponent u^2/2 costs ~ (u^2/2) eps relative.
            assert!((w.im - PI * u * g).abs() < 4e-16 * (1.0 + 0.5 * u * u) * w.im, "u = {u}");
        }
        for u in [12.0, 20.0, 50.0] {
            let (w, _) = maxwellian_response(u);
            let (u2, u4, u6) = (u * u, u.powi(4), u.powi(6));
            let asym = -1.0 / u2 - 3.0 / u4 - 15.0 / u6 - 105.0 / u.powi(8);
            // Remaining terms -945/u^10 - 10395/u^12 - ... sum to < 1100/u^10 for
            // u >= 12 (asymptotic series); the expansion's 1e-13 relative error in F
            // is amplified by 1 / |W| ~ u^2 in the cancellation 1 - 2 zeta F.
            let tol = 1100.0 / u.powi(10) + 1e-13 * u2 * w.re.abs();
            assert!((w.re - asym).abs() < tol, "u = {u}: {} vs {asym}", w.re);
        }
        // dW/du against a 4th-order difference (h = 1e-3).
        let h = 1e-3;
        for u in [0.4, 1.3, 3.0, 7.0] {
            let f = |s: f64| maxwellian_response(u + s * h).0;
            let d = (-f(2.0) + 8.0 * f(1.0) - 8.0 * f(-1.0) + f(-2.0)) / (12.0 * h);
            let (_, dw) = maxwellian_response(u);
            assert!((d - dw).norm() < 1e-9 * dw.norm(), "u = {u}: {d} vs {dw}");
        }
    }
}
