//! The measured-background Lenard-Balescu theory ([`MeasuredTable`]) on a
//! 2D waterbag against an independent quadrature of the same formulas for
//! the ANALYTIC waterbag.
//!
//! The waterbag of radius `R` (unit density, `f0 = 1 / (pi R^2)` for
//! `|v| < R`; `R = 2` has unit variance per component, the PIC run's
//! initial state) has closed forms for everything the theory needs:
//!
//! ```text
//! F(u)  = 2 sqrt(R^2 - u^2) / (pi R^2)                       (1D marginal, a semicircle)
//! W(u)  = (2 / R^2) (1 + i u / sqrt(R^2 - u^2))              |u| < R
//!       = (2 / R^2) (1 - |u| / sqrt(u^2 - R^2))  (real, < 0)  |u| > R
//! ```
//!
//! (`Re W = d/du` of the Hilbert transform of the semicircle, `pi u`, times
//! `2 / (pi R^2)`; `Im W = -pi F'`.) Static shielding is `W(0) = 2 / R^2 = 1/2`,
//! half the Maxwellian's. The quadrature below shares no code with the
//! crate: its own Gauss-Legendre rule, form factor, `kappa` integral
//! `J = <int S^4 kappa^2 / |kappa^2 + S^2 W|^2>_alpha`, the Cherenkov drag
//! by root finding where `W < 0`, the velocity-angle integrals with a
//! change of variable that makes the `(R - u)^{1/2}` edge smooth, and half
//! the divergence of `D` by finite differences of `D` (the code uses the
//! angle integral of `d_u h`). Its normalisation is checked against the
//! Maxwellian [`ShieldingTable`] at `v = 0`.

use std::f64::consts::PI;

use collop_core::VelocityGrid;
use collop_theory::{
    MeasuredBackground, MeasuredTable, PlasmaParams, RadialCoefficients, RadialProfile, Shielding,
    ShieldingTable,
};
use ndarray::Array2;
use num_complex::Complex64;

/// Waterbag radius (`v_th`): unit variance per component.
const R: f64 = 2.0;

/// The PIC run: 4 particles per cell, `dx = lambda_D`, linear shapes (`N_D = 4`).
fn pic_params() -> PlasmaParams {
    PlasmaParams::from_ppc(4.0, 1.0, 1.0, 1, 0.05).unwrap()
}

/// Gauss-Legendre nodes and weights on `[-1, 1]` (Newton on `P_n`).
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut x, mut w) = (vec![0.0; n], vec![0.0; n]);
    for i in 0..n {
        let mut z = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, z);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * z * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (z * p1 - p0) / (z * z - 1.0);
            let dz = p1 / dp;
            z -= dz;
            if dz.abs() < 1e-15 {
                break;
            }
        }
        x[i] = z;
        w[i] = 2.0 / ((1.0 - z * z) * dp * dp);
    }
    (x, w)
}

fn integrate(f: &dyn Fn(f64) -> f64, a: f64, b: f64, rule: &(Vec<f64>, Vec<f64>)) -> f64 {
    let (c, h) = (0.5 * (a + b), 0.5 * (b - a));
    rule.0.iter().zip(&rule.1).map(|(x, w)| w * f(c + h * x)).sum::<f64>() * h
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-6 { 1.0 - x * x / 6.0 } else { x.sin() / x }
}

/// The exact waterbag binned on `grid`: the area fraction of each cell in
/// the disc (400 strips per cell, the chord length exact in each).
fn waterbag_histogram(grid: &VelocityGrid) -> Array2<f64> {
    let n = 400;
    Array2::from_shape_fn(grid.shape(), |(i, j)| {
        let (x0, y0) = (grid.vx(i) - 0.5 * grid.dvx(), grid.vy(j) - 0.5 * grid.dvy());
        let (y1, dx) = (y0 + grid.dvy(), grid.dvx() / n as f64);
        let mut area = 0.0;
        for a in 0..n {
            let x = x0 + (a as f64 + 0.5) * dx;
            if x.abs() < R {
                let s = (R * R - x * x).sqrt();
                area += (y1.min(s) - y0.max(-s)).max(0.0) * dx;
            }
        }
        area / (grid.dvx() * grid.dvy())
    })
}

fn fitted(n: usize) -> (VelocityGrid, MeasuredBackground) {
    let g = VelocityGrid::square(n, 5.0).unwrap();
    let profile = RadialProfile::from_histogram(&g, waterbag_histogram(&g).view()).unwrap();
    (g, MeasuredBackground::fit(&profile).unwrap())
}

/// `F(u)`, `F'(u)`, `W(u)` of the analytic waterbag.
fn waterbag(u: f64) -> (f64, f64, Complex64) {
    let a = u.abs();
    if a < R {
        let s = (R * R - a * a).sqrt();
        (
            2.0 * s / (PI * R * R),
            -2.0 * u / (PI * R * R * s),
            Complex64::new(2.0 / (R * R), 2.0 * u / (R * R * s)),
        )
    } else {
        let s = (a * a - R * R).sqrt();
        (0.0, 0.0, Complex64::new(2.0 / (R * R) * (1.0 - a / s), 0.0))
    }
}

/// The independent quadrature of the Lenard-Balescu coefficients.
struct Quadrature {
    nd: f64,
    dx: f64,
    power: i32,
    /// Rules in `kappa` (per panel), the direction `alpha` and the velocity angle.
    kappa: (Vec<f64>, Vec<f64>),
    alpha: (Vec<f64>, Vec<f64>),
    theta: (Vec<f64>, Vec<f64>),
    panels: usize,
}

impl Quadrature {
    fn new(p: &PlasmaParams, order: usize) -> Self {
        assert_eq!(p.dx_over_debye, p.dy_over_debye, "square cells: J(alpha) = J(pi/2 - alpha)");
        Self {
            nd: p.particles_per_debye_area,
            dx: p.dx_over_debye,
            power: p.shape_order as i32 + 1,
            kappa: gauss_legendre(order),
            alpha: gauss_legendre(order),
            theta: gauss_legendre(order),
            panels: 8,
        }
    }

    /// `S(k) = (sinc(k_x dx / 2) sinc(k_y dx / 2))^{O + 1}`.
    fn form(&self, kx: f64, ky: f64) -> f64 {
        (sinc(0.5 * kx * self.dx) * sinc(0.5 * ky * self.dx)).powi(self.power)
    }

    /// The mean over directions of `f(alpha)` (even, symmetric about `pi/4`).
    fn direction_mean(&self, f: &dyn Fn(f64) -> f64) -> f64 {
        integrate(f, 0.0, 0.25 * PI, &self.alpha) / (0.25 * PI)
    }

    /// `<J>_alpha` for a response `W` with no zero of `eps` near the real axis.
    fn j_mean(&self, w: Complex64) -> f64 {
        self.direction_mean(&|alpha: f64| {
            let (s, c) = alpha.sin_cos();
            let f = |k: f64| {
                let s2 = self.form(k * c, k * s).powi(2);
                s2 * s2 * k * k / (Complex64::new(k * k, 0.0) + s2 * w).norm_sqr()
            };
            // Panels of 0.25 to 4, then 1 to 60 (S^4 / kappa^2 < 1e-13 beyond).
            let (mut total, mut a) = (0.0, 0.0);
            while a < 60.0 {
                let b = a + if a < 4.0 { 0.25 } else { 1.0 };
                total += integrate(&f, a, b, &self.kappa);
                a = b;
            }
            total
        })
    }

    /// `<p>_alpha` for real `W < 0`: the causal limit, the Cherenkov emission
    /// `p = -S^2 kappa_0^2 / |d_kappa (kappa^2 + S^2 W)|` at the Langmuir root
    /// below the first zero of `S` (roots in the side lobes need `|W| > 1e4`,
    /// `u` within 1e-8 of `R`: left out).
    fn cherenkov(&self, w: f64) -> f64 {
        self.direction_mean(&|alpha: f64| {
            let (s, c) = alpha.sin_cos();
            let g = |k: f64| k * k + self.form(k * c, k * s).powi(2) * w;
            let (mut a, mut b) = (0.0, 2.0 * PI / (self.dx * c.max(s)));
            for _ in 0..100 {
                let m = 0.5 * (a + b);
                if g(m) < 0.0 { a = m } else { b = m }
            }
            let k0 = 0.5 * (a + b);
            let e = 1e-6 * k0;
            let dg = (g(k0 + e) - g(k0 - e)) / (2.0 * e);
            -self.form(k0 * c, k0 * s).powi(2) * k0 * k0 / dg.abs()
        })
    }

    /// `[h, p] = [F J, F' J]` at phase velocity `u >= 0` (`[0, Cherenkov]` beyond `R`).
    fn hp(&self, u: f64) -> [f64; 2] {
        let (f, f1, w) = waterbag(u);
        if u < R {
            let j = self.j_mean(w);
            [f * j, f1 * j]
        } else {
            [0.0, self.cherenkov(w.re)]
        }
    }

    /// `[d_par, d_perp, friction]` at speed `v` (charge ratio 1):
    /// `(2 / (pi N_D)) int_0^{pi/2} [cos^2, sin^2] h(v cos theta)`, `(1 / (pi N_D)) int cos p`.
    fn diffusion_and_friction(&self, v: f64) -> [f64; 3] {
        let nd = self.nd;
        if v == 0.0 {
            let h = self.hp(0.0)[0];
            return [h / (2.0 * nd), h / (2.0 * nd), 0.0];
        }
        // theta_R: where u = v cos(theta) crosses R. theta = theta_R + (end - theta_R) x^2 on
        // both sides turns the (R - u)^{1/2}, (R - u)^{3/2} edges into smooth functions of x.
        let theta_r = if v > R { (R / v).acos() } else { 0.0 };
        let mut out = [0.0; 3];
        for end in [0.5 * PI, 0.0] {
            let span = end - theta_r;
            if span == 0.0 {
                continue;
            }
            for k in 0..self.panels {
                let (a, b) = (k as f64 / self.panels as f64, (k + 1) as f64 / self.panels as f64);
                let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
                for (x, w) in self.theta.0.iter().zip(&self.theta.1) {
                    let x = mid + half * x;
                    let theta = theta_r + span * x * x;
                    let weight = w * half * 2.0 * span.abs() * x;
                    let (s, c) = theta.sin_cos();
                    let [h, p] = self.hp(v * c);
                    out[0] += weight * c * c * h * 2.0 / (PI * nd);
                    out[1] += weight * s * s * h * 2.0 / (PI * nd);
                    out[2] += weight * c * p / (PI * nd);
                }
            }
        }
        out
    }

    /// The radial coefficients: `a_par = friction + (d_par' + (d_par - d_perp) / v) / 2`,
    /// `d_par'` by a central difference (step 1e-3; error ~ 1e-7 d_par''', measured
    /// below 1e-9 of |a_par| against step 5e-4).
    fn coefficients(&self, v: f64) -> RadialCoefficients {
        let [d_par, d_perp, friction] = self.diffusion_and_friction(v);
        if v == 0.0 {
            return RadialCoefficients { a_par: 0.0, d_par, d_perp };
        }
        let e = 1e-3;
        let slope =
            (self.diffusion_and_friction(v + e)[0] - self.diffusion_and_friction(v - e)[0]) / (2.0 * e);
        RadialCoefficients { a_par: friction + 0.5 * (slope + (d_par - d_perp) / v), d_par, d_perp }
    }
}

#[test]
fn independent_quadrature_is_converged_and_normalised() {
    // The quadrature of a Maxwellian at v = 0 (W = 1, F(0) = 1 / sqrt(2 pi))
    // against the crate's ShieldingTable: the same formula, so they agree to
    // the quadratures' accuracy (tolerance 1e-8). Doubling the
    // Gauss-Legendre order changes the waterbag coefficients by less than
    // 1e-8 of the scale (measured 1e-12 for D; 2e-9 for a_par, the round-off
    // of the difference quotient of D).
    let p = pic_params();
    let q = Quadrature::new(&p, 16);
    let d0 = q.j_mean(Complex64::new(1.0, 0.0)) / (2.0 * p.particles_per_debye_area * (2.0 * PI).sqrt());
    let table = ShieldingTable::new(&p, Shielding::Dynamic, 1.0).unwrap().profiles(0.0).unwrap();
    println!("Maxwellian D(0): quadrature {d0}, table {}", table.d_par);
    assert!((d0 / table.d_par - 1.0).abs() < 1e-8, "{d0} vs {table:?}");
    let fine = Quadrature::new(&p, 32);
    for v in [0.5, 2.0, 2.5] {
        let (a, b) = (q.coefficients(v), fine.coefficients(v));
        let scale = b.d_perp;
        for (x, y) in [(a.a_par, b.a_par), (a.d_par, b.d_par), (a.d_perp, b.d_perp)] {
            assert!((x - y).abs() < 1e-8 * scale, "v = {v}: {a:?} vs {b:?}");
        }
    }
}

#[test]
fn fitted_waterbag_is_the_flat_top() {
    // The reference 51 x 51 histogram over [-5, 5]^2 of the exact waterbag
    // (R = 2, unit variance): shells one cell (0.196) wide, knots two shells
    // apart (h = 0.39). The histogram holds the disc's area to the strips'
    // accuracy (1e-6 relative). The fit is renormalised to unit density;
    // its variance is the binned one (measured v_th 1.0021). A cubic spline
    // of log f0 cannot follow a step: the flat top rings by 1.8 % (measured;
    // tolerance 2.5 %; f0(0) is 1.4 % low, so W(0) = 2 pi f0(0) = 0.493
    // instead of 1/2) and the edge is spread over about 2 h (f0(2.0) = 0.58
    // of the top, nothing from 2.2; the cross-validation picks the smallest
    // penalty, 1e-6). The marginal, an integral of f0, follows the
    // semicircle to 1 % of F(0) for u <= 1.5 (measured 0.52 %); W, which
    // weighs the edge through f0', to 0.1 (measured 0.044, at u = 1.5 where
    // |W| = 0.75).
    let (g, bg) = fitted(51);
    let h = waterbag_histogram(&g);
    let area = h.sum() * g.dvx() * g.dvy();
    assert!((area / (PI * R * R) - 1.0).abs() < 1e-5, "{area}");
    assert!((bg.thermal_speed() - 1.0).abs() < 0.005, "{}", bg.thermal_speed());
    let top = 1.0 / (PI * R * R);
    let ringing = (0..=32).map(|k| (bg.f0(0.05 * k as f64) / top - 1.0).abs()).fold(0.0, f64::max);
    assert!(ringing < 0.025, "flat top rings by {ringing}");
    assert!(bg.f0(2.3) < 1e-9 * top && bg.f0(1.9) > 0.5 * top, "{} {}", bg.f0(2.3), bg.f0(1.9));
    let (mut proj, mut resp) = (0.0f64, 0.0f64);
    for k in 0..=30 {
        let u = 0.05 * k as f64;
        let (f, _, w) = waterbag(u);
        proj = proj.max((bg.projection(u)[0] - f).abs() / waterbag(0.0).0);
        resp = resp.max((bg.response(u).0 - w).norm());
    }
    println!(
        "fit: {:?}, v_th {}, ringing {ringing}, F error {proj}, W error {resp}",
        bg.report(),
        bg.thermal_speed()
    );
    assert!(proj < 0.01, "marginal vs semicircle: {proj}");
    assert!(resp < 0.1, "W vs exact: {resp}");
}

#[test]
fn measured_theory_matches_the_exact_waterbag() {
    // The question: on the PIC run's waterbag the measured theory gives a
    // diffusion 1.42 times the Maxwellian dynamic theory's at small v. The
    // independent quadrature of the analytic waterbag gives 1.457 at v = 0,
    // so this is the physics, not the fit: at v = 0 the diffusion is
    // F(0) <J>(W(0)); F(0) drops by 0.80 (1/pi vs 1/sqrt(2 pi)), but the
    // static shielding halves (W(0) = 1/2) and the linear-shape form factor
    // S^4 = sinc^8(kappa/2) keeps only kappa <~ 2, the shielded range, where
    // halving the shielding nearly doubles J (measured <J>(1/2) / <J>(1) =
    // 1.83). A sharp cutoff K gives 0.80 sqrt(2) G(sqrt(2) K) / G(K) with
    // G(x) = atan x - x / (1 + x^2): 1.46 (K = 2), 1.33 (3), 1.18 (10),
    // 1.13 (K -> inf, the point-particle bound below which no cutoff goes).
    //
    // Tolerances, reference 51 x 51 histogram: at v = 0 the fit's W(0) =
    // 0.493 (ringing, see above) raises D by 1.1 % (tolerance 2 %); for
    // v > 0 the spread edge (h ~ (R - u)^{3/2} is smoothed over 2 knots)
    // moves D by up to 2.5 % of the larger of d_par, d_perp at v = 2
    // (tolerance 4 %); a_par, a small difference of the polarisation drag
    // and half the divergence of D, both weighted by the edge, within 5.5 %
    // of max |a_par| (tolerance 8 %). A 201 x 201 histogram (edge 4 times
    // sharper) brings D to 0.35 % (tolerance 1 %): the differences are the
    // binning and the fit, and they vanish with the cell size. Its a_par is
    // within 3.5 % of max |a_par| (v = 1.5: the fit's ringing, which puts a
    // slope on the flat top where the polarisation drag reads F'; tolerance
    // 5 %); with the Maxwellian table's 64 velocity-angle nodes it was 5.8 %
    // off at v = 3, the edge unresolved (see MeasuredTable's angle rule).
    let p = pic_params();
    let q = Quadrature::new(&p, 16);
    let maxwellian = ShieldingTable::new(&p, Shielding::Dynamic, 3.0).unwrap();
    let speeds = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0];
    let exact: Vec<RadialCoefficients> = speeds.iter().map(|&v| q.coefficients(v)).collect();
    let a_max = exact.iter().map(|c| c.a_par.abs()).fold(0.0, f64::max);
    let m0 = maxwellian.profiles(0.0).unwrap();
    let ratio = exact[0].d_par / m0.d_par;
    assert!((ratio - 1.457).abs() < 0.005, "exact waterbag / Maxwellian at v = 0: {ratio}");
    for (n, tol_d, tol_a) in [(51, 0.04f64, 0.08), (201, 0.01, 0.05)] {
        let (_, bg) = fitted(n);
        let t = MeasuredTable::new(&p, &bg, 1.0, 3.0).unwrap();
        for (&v, e) in speeds.iter().zip(&exact) {
            let c = t.profiles(v).unwrap();
            let m = maxwellian.profiles(v).unwrap();
            println!(
                "n {n} v {v}: code a_par {:.5} d_par {:.5} d_perp {:.5} | exact {:.5} {:.5} {:.5} | Maxwellian {:.5} \
                 {:.5} {:.5} | trace ratio code {:.3} exact {:.3}",
                c.a_par,
                c.d_par,
                c.d_perp,
                e.a_par,
                e.d_par,
                e.d_perp,
                m.a_par,
                m.d_par,
                m.d_perp,
                (c.d_par + c.d_perp) / (m.d_par + m.d_perp),
                (e.d_par + e.d_perp) / (m.d_par + m.d_perp)
            );
            let scale = e.d_par.max(e.d_perp);
            let tol = if v == 0.0 { tol_d.min(0.02) } else { tol_d };
            assert!((c.d_par - e.d_par).abs() < tol * scale, "n {n} v {v}: {c:?} vs {e:?}");
            assert!((c.d_perp - e.d_perp).abs() < tol * scale, "n {n} v {v}: {c:?} vs {e:?}");
            assert!((c.a_par - e.a_par).abs() < tol_a * a_max, "n {n} v {v}: {c:?} vs {e:?}");
        }
    }
}
