//! Test-particle drift and diffusion of a 2D Maxwellian plasma of
//! finite-size particles with static or dynamic (Lenard-Balescu) shielding,
//! tabulated for fast evaluation on velocity grids.
//!
//! # Equations
//!
//! Units and notation as in the module docs of `collision_amplitude`
//! (`v_th`, `omega_p`, `lambda_D`; `N_D` particles per Debye area; form
//! factor `S`; `g(u) = e^{-u^2/2} / sqrt(2 pi)`). The dielectric function of
//! finite-size particles (Langdon & Birdsall, Phys. Fluids 13, 2115 (1970)) is
//!
//! ```text
//! eps(k, omega) = 1 + S(k)^2 W(omega / k) / (k lambda_D)^2,     W(u) = 1 + zeta Z(zeta),  zeta = u / sqrt(2),
//! ```
//!
//! and at the resonance `omega = k . v` of a test particle its argument
//! `u = k_hat . v` does not depend on `|k|`. The Lenard-Balescu diffusion
//! (Lenard, Ann. Phys. 10, 390 (1960); Balescu, Phys. Fluids 3, 52 (1960))
//! and polarisation drag of a test particle at velocity `v` are then
//!
//! ```text
//! D_ij(v) = (1 / (2 pi N_D)) int_0^{2 pi} dalpha k_hat_i k_hat_j h(alpha, u),   h = g(u) J(alpha, u),
//! J(alpha, u) = int_0^inf dkappa S^4 kappa^2 / |kappa^2 + S^2 W(u)|^2,
//! F_i(v) = (1 / (4 pi^2 N_D)) int dalpha k_hat_i M(alpha, u),   M = int dkappa S^2 Im(1 / eps) = -Im W(u) J,
//! ```
//!
//! and, since `Im W(u) = pi u g(u)`, `F = -D . v / 2` wave vector by wave
//! vector: the fluctuation-dissipation relation of a thermal plasma (the
//! drag is what keeps the test particles thermal). The Kramers-Moyal drift
//! adds half the divergence of `D` (Landau form
//! `df/dt = d_i (D_ij d_j f / 2 - F_i f)`):
//!
//! ```text
//! A_i = F_i + d_j D_ij / 2 = (1 / (4 pi N_D)) int dalpha k_hat_i (d_u h - u h),
//! ```
//!
//! so the Maxwellian is stationary, `A = div D / 2 - D . v / 2` (as for
//! [`crate::static_shielding_profiles`]). Static shielding is `W = 1`:
//! `h = g(u) J_0(alpha)`, `d_u h = -u h`, and `A = -D . v`.
//!
//! # Numerics
//!
//! `h(alpha, u)` and `d_u h` are computed on `alpha in [0, pi/2]` (the
//! form factor is even in `k_x` and `k_y`) and a uniform `u` grid, kept as
//! cosine series in `alpha` (`cos 2 m alpha`) and cubic Hermite interpolants
//! in `u`; the velocity-angle integrals are trapezoidal rules, exponentially
//! accurate for these smooth periodic integrands. The `kappa` integrals:
//!
//! - `u <= 1` (`Re W > 0`, no resonance): directly on the real axis, `J` and
//!   `d_u J = -2 int S^6 kappa^2 Re(conj(kappa^2 + S^2 W) W') / |kappa^2 + S^2 W|^4`.
//! - `u > 1`: `J = Im(W Psi_1) / Im W` with the analytic functions of `W`
//!   `Psi_1 = int S^4 / (kappa^2 + S^2 W)`, `Psi_2 = int S^6 / (kappa^2 + S^2 W)^2`
//!   (`J` follows from `S^4 kappa^2 / |kappa^2 + S^2 W|^2 = Im(W S^4 / (kappa^2 + S^2 W)) / Im W`),
//!   so `h = Im(W Psi_1) / (pi u)` and `d_u h = Im(W' (Psi_1 - W Psi_2)) / (pi u) - h / u`,
//!   free of `e^{+u^2/2}`. For `u` above about 1.3 the denominator has a
//!   Langmuir-wave root just below the real `kappa` axis (`Im W = pi u g`),
//!   so the path is lifted into the upper half plane
//!   (`kappa = t + i beta sin(pi t / 3)`, `0 <= t <= 3`), where `S` is entire
//!   and nothing else is crossed (checked by two lift heights in the tests).
//!
//! # Limits (tested)
//!
//! `v = 0`: dynamic equals static (`u = 0` for every `k`). `v >> 1`: the
//! coefficients do NOT approach the static ones in 2D. The diffusion across
//! `v` tends to `d_perp -> (1 / (pi N_D v)) int du h(pi/2, u)` (static:
//! `C / v`), and the drag is dominated by the emission of Langmuir waves
//! (Cherenkov; the pole of `1/eps`), `a_par -> -1 / (4 N_D v)`, slower than the
//! static `-C / v^2`. Point particles: `J = pi / (4 Re sqrt(W))` in closed form.

use std::f64::consts::PI;

use collop_core::{FpFields, VelocityGrid};
use num_complex::Complex64;

use crate::RadialCoefficients;
use crate::TheoryError;
use crate::collision_amplitude::{K_TOL, PlasmaParams, integrate_k};
use crate::plasma_dispersion::maxwellian_response;
use crate::quadrature::integrate;
use crate::radial::{fields_from_radial_fn, radial_to_cartesian};

/// Static (Debye, `eps(k, 0)`) or dynamic (`eps(k, k . v)`) shielding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shielding {
    /// `W = 1`: the static limit, the Bessel shapes of [`crate::static_shielding_profiles`].
    Static,
    /// `W(u) = 1 + zeta Z(zeta)`: the Lenard-Balescu dielectric function.
    Dynamic,
}

/// Phase velocity below which the `kappa` integrals run on the real axis.
const U_SWITCH: f64 = 1.0;
/// End of the lifted part of the `kappa` path (the Langmuir root is below 1.2).
const K_LIFT: f64 = 3.0;

/// `[h, d_u h]` along direction `alpha` at phase velocity `u >= 0`,
/// dynamic shielding, by the route for `u` (see the module docs).
fn dynamic_direction(params: &PlasmaParams, alpha: f64, u: f64) -> [f64; 2] {
    if u <= U_SWITCH {
        real_axis(params, alpha, u)
    } else {
        lifted_path(params, alpha, u, lift_height(params))
    }
}

fn gaussian(u: f64) -> f64 {
    (-0.5 * u * u).exp() / (2.0 * PI).sqrt()
}

/// `[h, d_u h]` from `J` and `d_u J` on the real `kappa` axis.
fn real_axis(params: &PlasmaParams, alpha: f64, u: f64) -> [f64; 2] {
    let (w, dw) = maxwellian_response(u);
    let [j, dj] = real_axis_integrals(params, alpha, w, dw);
    let g = gaussian(u);
    [g * j, g * (dj - u * j)]
}

/// `[J, d_u J]` along direction `alpha` on the real `kappa` axis for a
/// response `W` with derivative `W' = dW/du` (any background):
/// `J = int S^4 kappa^2 / |kappa^2 + S^2 W|^2`,
/// `d_u J = -2 int S^6 kappa^2 Re(conj(kappa^2 + S^2 W) W') / |kappa^2 + S^2 W|^4`.
/// Valid where `kappa^2 + S^2 W` has no zero near the real axis (`Re W > 0`,
/// or `Im W` not small).
pub(crate) fn real_axis_integrals(
    params: &PlasmaParams,
    alpha: f64,
    w: Complex64,
    dw: Complex64,
) -> [f64; 2] {
    let (sin, cos) = alpha.sin_cos();
    let f = |kappa: f64| {
        let s = params.form_factor(kappa * cos, kappa * sin);
        let s2 = s * s;
        let d = kappa * kappa + s2 * w;
        let n2 = d.norm_sqr();
        let num = s2 * s2 * kappa * kappa;
        [num / n2, -2.0 * num * s2 * (d.conj() * dw).re / (n2 * n2)]
    };
    integrate_k(params, cos, sin, f, K_TOL)
}

/// Height of the lifted path: `|S|` stays within a few per cent of its
/// real-axis size for `Im(kappa) dx / 2 <= 0.25`.
pub(crate) fn lift_height(params: &PlasmaParams) -> f64 {
    let d = params.dx_over_debye.max(params.dy_over_debye);
    if d > 0.0 { (0.5 / d).min(0.5) } else { 0.5 }
}

/// `[h, d_u h]` from `Psi_1`, `Psi_2` on the lifted path of height `beta`.
fn lifted_path(params: &PlasmaParams, alpha: f64, u: f64, beta: f64) -> [f64; 2] {
    let (w, dw) = maxwellian_response(u);
    let [p1, p2] = lifted_integrals(params, alpha, w, beta, K_LIFT);
    let h = (w * p1).im / (PI * u);
    let dh = (dw * (p1 - w * p2)).im / (PI * u) - h / u;
    [h, dh]
}

/// `[Psi_1, Psi_2]` along direction `alpha` for a response `W` with
/// `Im W >= 0` (any background): `Psi_1 = int S^4 / (kappa^2 + S^2 W)`,
/// `Psi_2 = int S^6 / (kappa^2 + S^2 W)^2`, on the path lifted into the
/// upper half plane, `kappa = t + i beta sin(pi t / k_lift)` for
/// `0 <= t <= k_lift`, and on the real axis beyond. A zero of
/// `kappa^2 + S^2 W` (the Langmuir wave) lies on or below the real axis
/// for `Im W >= 0` and below `k_lift` when `k_lift^2 > |W|` (`S <= 1`),
/// so the integrals are the analytic functions of `W` continued to
/// `Im W = 0+` (the causal limit).
pub(crate) fn lifted_integrals(
    params: &PlasmaParams,
    alpha: f64,
    w: Complex64,
    beta: f64,
    k_lift: f64,
) -> [Complex64; 2] {
    let (sin, cos) = alpha.sin_cos();
    let psi = |kappa: Complex64, dk: Complex64| {
        let s2 = params.form_factor_complex(kappa, cos, sin).powi(2);
        let d = kappa * kappa + s2 * w;
        let p1 = s2 * s2 / d * dk;
        let p2 = s2 * s2 * s2 / (d * d) * dk;
        [p1.re, p1.im, p2.re, p2.im]
    };
    let mut breaks = vec![0.0, 0.25, 0.5, 1.0, 1.5, 2.0];
    let mut b = 3.0;
    while b < k_lift {
        breaks.push(b);
        b += 1.0;
    }
    breaks.push(k_lift);
    let lifted = integrate(
        &|t: f64| {
            let a = PI * t / k_lift;
            let kappa = Complex64::new(t, beta * a.sin());
            psi(kappa, Complex64::new(1.0, beta * PI / k_lift * a.cos()))
        },
        &breaks,
        K_TOL,
    );
    // The rest on the real axis: the panels of `integrate_k` beyond k_lift.
    let rest = integrate_k(
        params,
        cos,
        sin,
        |kappa: f64| {
            if kappa < k_lift { [0.0; 4] } else { psi(Complex64::new(kappa, 0.0), Complex64::new(1.0, 0.0)) }
        },
        K_TOL,
    );
    [
        Complex64::new(lifted[0] + rest[0], lifted[1] + rest[1]),
        Complex64::new(lifted[2] + rest[2], lifted[3] + rest[3]),
    ]
}

/// Static `J_0(alpha)` (`W = 1` on the real axis).
fn static_direction(params: &PlasmaParams, alpha: f64) -> f64 {
    let (sin, cos) = alpha.sin_cos();
    let f = |kappa: f64| {
        let s = params.form_factor(kappa * cos, kappa * sin);
        let s2 = s * s;
        let d = kappa * kappa + s2;
        [s2 * s2 * kappa * kappa / (d * d)]
    };
    integrate_k(params, cos, sin, f, K_TOL)[0]
}

/// Directions on `[0, pi/2]` of the tables (intervals).
pub(crate) const TABLE_DIRECTIONS: usize = 8;
/// Spacing of the `u` nodes.
pub(crate) const TABLE_DU: f64 = 0.04;

/// Drift and diffusion of test particles, tabulated for one plasma
/// ([`PlasmaParams`]) and shielding up to a maximum speed.
///
/// ```
/// use collop_theory::{PlasmaParams, Shielding, ShieldingTable};
/// let p = PlasmaParams::from_ppc(4.0, 1.0, 1.0, 1, 0.01)?;
/// let t = ShieldingTable::new(&p, Shielding::Dynamic, 3.0)?;
/// let c = t.profiles(2.0)?;
/// assert!(c.d_par > 0.0 && c.d_perp > 0.0 && c.a_par < 0.0);
/// # Ok::<(), collop_theory::TheoryError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShieldingTable {
    params: PlasmaParams,
    shielding: Shielding,
    v_max: f64,
    /// `c[m][j]`, `dc[m][j]`: cosine coefficients (`cos 2 m alpha`) of `h`
    /// and `d_u h` at `u_j = j TABLE_DU`.
    c: Vec<Vec<f64>>,
    dc: Vec<Vec<f64>>,
}

impl ShieldingTable {
    /// Tabulate `h` and `d_u h` for speeds up to `v_max` (`>= 0`, finite).
    pub fn new(params: &PlasmaParams, shielding: Shielding, v_max: f64) -> Result<Self, TheoryError> {
        Self::with_directions(params, shielding, v_max, TABLE_DIRECTIONS)
    }

    fn with_directions(
        params: &PlasmaParams,
        shielding: Shielding,
        v_max: f64,
        n_dir: usize,
    ) -> Result<Self, TheoryError> {
        params.validate()?;
        if !(0.0..=100.0).contains(&v_max) {
            return Err(TheoryError::InvalidParameter(format!(
                "v_max = {v_max}: the largest tabulated speed must be in [0, 100] v_th"
            )));
        }
        let n_u = (v_max / TABLE_DU).ceil() as usize + 2;
        let alphas: Vec<f64> = (0..=n_dir).map(|i| 0.5 * PI * i as f64 / n_dir as f64).collect();
        // Square cells: J(pi/2 - alpha) = J(alpha); compute half and mirror.
        let unique = if params.square_cells() { n_dir / 2 } else { n_dir };
        let mut h = vec![vec![0.0; n_u]; n_dir + 1];
        let mut dh = vec![vec![0.0; n_u]; n_dir + 1];
        for i in 0..=unique {
            let alpha = alphas[i];
            let j0 = if shielding == Shielding::Static { static_direction(params, alpha) } else { 0.0 };
            for j in 0..n_u {
                let u = j as f64 * TABLE_DU;
                let [a, b] = match shielding {
                    Shielding::Static => {
                        let v = gaussian(u) * j0;
                        [v, -u * v]
                    }
                    Shielding::Dynamic => dynamic_direction(params, alpha, u),
                };
                h[i][j] = a;
                dh[i][j] = b;
            }
        }
        if unique < n_dir {
            for i in unique + 1..=n_dir {
                h[i] = h[n_dir - i].clone();
                dh[i] = dh[n_dir - i].clone();
            }
        }
        Ok(Self { params: *params, shielding, v_max, c: cosine_series(&h), dc: cosine_series(&dh) })
    }

    /// The plasma parameters.
    pub fn params(&self) -> &PlasmaParams {
        &self.params
    }

    /// The shielding.
    pub fn shielding(&self) -> Shielding {
        self.shielding
    }

    /// Largest speed the table covers.
    pub fn v_max(&self) -> f64 {
        self.v_max
    }

    /// `[h, d_u h]` of the angle-averaged `h` (the isotropic part) at `u`.
    fn mean(&self, u: f64) -> [f64; 2] {
        hermite(&self.c[0], &self.dc[0], u)
    }

    /// `[h, d_u h]` along `alpha` at `u`: the cosine series in `alpha`, each
    /// coefficient interpolated in `u`.
    fn directional(&self, alpha: f64, u: f64) -> [f64; 2] {
        let mut out = [0.0; 2];
        for (m, (c, dc)) in self.c.iter().zip(&self.dc).enumerate() {
            let [a, b] = hermite(c, dc, u);
            let w = (2.0 * m as f64 * alpha).cos();
            out[0] += w * a;
            out[1] += w * b;
        }
        out
    }

    fn check_speed(&self, v: f64) -> Result<f64, TheoryError> {
        table_speed(v, self.v_max)
    }

    /// Radial drift and diffusion at speed `v` of the isotropic part of the
    /// operator (the angle-averaged `h`; exact for an isotropic form factor):
    ///
    /// ```text
    /// d_par  = (1 / (2 pi N_D)) int dalpha cos^2(alpha) h(v cos alpha),   d_perp: sin^2,
    /// a_par  = (1 / (4 pi N_D)) int dalpha cos(alpha) (h' - u h)(v cos alpha).
    /// ```
    pub fn profiles(&self, v: f64) -> Result<RadialCoefficients, TheoryError> {
        let v = self.check_speed(v)?;
        let n = angle_nodes(v);
        let (mut dpar, mut dperp, mut apar) = (0.0, 0.0, 0.0);
        for k in 0..n {
            let (sin, cos) = (2.0 * PI * k as f64 / n as f64).sin_cos();
            let u = v * cos;
            let [h, dh] = self.mean(u.abs());
            let dh = if u < 0.0 { -dh } else { dh }; // h is even in u, h' odd
            dpar += cos * cos * h;
            dperp += sin * sin * h;
            apar += cos * (dh - u * h);
        }
        let p = 1.0 / (n as f64 * self.params.particles_per_debye_area);
        Ok(RadialCoefficients { a_par: 0.5 * p * apar, d_par: p * dpar, d_perp: p * dperp })
    }

    /// `[A_x, A_y, D_xx, D_yy, D_xy]` at `(v_x, v_y)` with the full direction
    /// dependence of an anisotropic form factor (the `cos 2 m alpha` harmonics
    /// of `h`), from the integrals of the module docs.
    pub fn cartesian(&self, vx: f64, vy: f64) -> Result<[f64; 5], TheoryError> {
        let v = self.check_speed(vx.hypot(vy))?;
        let n = angle_nodes(v);
        let mut s = [0.0; 5];
        for k in 0..n {
            let alpha = 2.0 * PI * k as f64 / n as f64;
            let (sin, cos) = alpha.sin_cos();
            let u = cos * vx + sin * vy;
            let [h, dh] = self.directional(alpha, u.abs());
            let dh = if u < 0.0 { -dh } else { dh };
            let a = 0.5 * (dh - u * h);
            s[0] += cos * a;
            s[1] += sin * a;
            s[2] += cos * cos * h;
            s[3] += sin * sin * h;
            s[4] += cos * sin * h;
        }
        let p = 1.0 / (n as f64 * self.params.particles_per_debye_area);
        Ok(s.map(|x| x * p))
    }

    /// Fields on `grid` from the radial [`profiles`](Self::profiles) (the
    /// isotropic part), via [`fields_from_radial_fn`]. The table must cover
    /// the grid's largest speed.
    pub fn radial_fields(&self, grid: &VelocityGrid) -> Result<FpFields, TheoryError> {
        self.check_speed(grid.corner_speed())?;
        Ok(fields_from_radial_fn(grid, |v| self.profiles(v).expect("speed checked")))
    }

    /// Fields on `grid` with the direction dependence of the anisotropic form
    /// factor ([`cartesian`](Self::cartesian) at every cell centre).
    pub fn anisotropic_fields(&self, grid: &VelocityGrid) -> Result<FpFields, TheoryError> {
        self.check_speed(grid.corner_speed())?;
        let mut out = FpFields::zeros(*grid);
        for i in 0..grid.nx {
            for j in 0..grid.ny {
                let (v, dir) = grid.cell_speed_and_direction(i, j);
                let c = if v == 0.0 {
                    // The origin: isotropic by symmetry, rotated like the radial fields.
                    radial_to_cartesian(dir, self.profiles(0.0)?)
                } else {
                    self.cartesian(grid.vx(i), grid.vy(j))?
                };
                for (field, value) in out.as_array_mut().into_iter().zip(c) {
                    field[[i, j]] = value;
                }
            }
        }
        Ok(out)
    }
}

/// Trapezoidal nodes on the circle for speed `v`: the integrands vary on the
/// angular scale `1/v` (the Maxwellian `g(v cos alpha)`), and the rule's
/// error is `~ exp(-n^2 / (2 v^2))`; `n >= 12 v` makes it negligible.
pub(crate) fn angle_nodes(v: f64) -> usize {
    4 * ((3.0 * v).ceil() as usize).max(16)
}

/// Cosine coefficients `c_m` of `f(alpha) = sum_m c_m cos(2 m alpha)` from
/// samples on `alpha_i = (pi/2) i / n`, `i = 0..=n` (the DCT-I, trapezoidal
/// rule on the even, `pi`-periodic function), for every column `j`.
fn cosine_series(samples: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = samples.len() - 1;
    let n_u = samples[0].len();
    (0..=n)
        .map(|m| {
            let mut c = vec![0.0; n_u];
            for (i, row) in samples.iter().enumerate() {
                let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                let cosm = (PI * (m * i) as f64 / n as f64).cos();
                for (cj, &v) in c.iter_mut().zip(row) {
                    *cj += w * cosm * v;
                }
            }
            let scale = if m == 0 || m == n { 1.0 / n as f64 } else { 2.0 / n as f64 };
            c.iter_mut().for_each(|x| *x *= scale);
            c
        })
        .collect()
}

/// Cubic Hermite interpolation of `(f, f')` given at `u_j = j TABLE_DU`:
/// `[f(u), d/du of the interpolant]` (the derivative of the interpolant, so
/// drift and diffusion stay exactly consistent).
pub(crate) fn hermite(f: &[f64], df: &[f64], u: f64) -> [f64; 2] {
    let x = u / TABLE_DU;
    let j = (x.floor() as usize).min(f.len() - 2);
    let t = x - j as f64;
    let (f0, f1) = (f[j], f[j + 1]);
    let (m0, m1) = (df[j] * TABLE_DU, df[j + 1] * TABLE_DU);
    let (t2, t3) = (t * t, t * t * t);
    let val = (2.0 * t3 - 3.0 * t2 + 1.0) * f0
        + (t3 - 2.0 * t2 + t) * m0
        + (-2.0 * t3 + 3.0 * t2) * f1
        + (t3 - t2) * m1;
    let der = (6.0 * t2 - 6.0 * t) * f0
        + (3.0 * t2 - 4.0 * t + 1.0) * m0
        + (-6.0 * t2 + 6.0 * t) * f1
        + (3.0 * t2 - 2.0 * t) * m1;
    [val, der / TABLE_DU]
}

/// Dynamic-shielding radial profiles at one speed `v` (builds a table up to
/// `|v|`; for many speeds build a [`ShieldingTable`] once).
pub fn dynamic_shielding_profiles(params: &PlasmaParams, v: f64) -> Result<RadialCoefficients, TheoryError> {
    ShieldingTable::new(params, Shielding::Dynamic, v.abs())?.profiles(v)
}

/// Dynamic-shielding fields on `grid` (radial profiles of the isotropic
/// part, rotated by [`fields_from_radial_fn`]).
pub fn dynamic_shielding_fields(grid: &VelocityGrid, params: &PlasmaParams) -> Result<FpFields, TheoryError> {
    ShieldingTable::new(params, Shielding::Dynamic, grid.corner_speed())?.radial_fields(grid)
}

/// `|v|` if a table tabulated up to `v_max` covers it (the one check of both
/// shielding tables), or the error naming the fix.
pub(crate) fn table_speed(v: f64, v_max: f64) -> Result<f64, TheoryError> {
    let s = v.abs();
    if s.is_nan() || s > v_max * (1.0 + 1e-12) {
        return Err(TheoryError::InvalidParameter(format!(
            "speed {v} is beyond the table's v_max = {v_max}: build the table with a larger v_max"
        )));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_size::static_shielding_profiles;
    use crate::static_shielding_amplitude;

    fn reference() -> PlasmaParams {
        PlasmaParams::from_ppc(4.0, 1.0, 1.0, 1, 0.01).unwrap()
    }

    fn point() -> PlasmaParams {
        PlasmaParams::new(4.0, 0.0, 0.0, 1, 0.01).unwrap()
    }

    #[test]
    fn static_table_reproduces_the_bessel_shapes() {
        // W = 1 through the same tables and angle integrals gives the
        // profiles of static_shielding_profiles with the amplitude of
        // static_shielding_amplitude: the reduction of the k integral to the
        // Bessel shapes times C, numerically. Tolerance: the 8-direction mean of
        // J_0 and the Hermite interpolation of g(u) (error ~ du^4 g'''' / 384 ~ 1e-8).
        let p = reference();
        let c = static_shielding_amplitude(&p).unwrap();
        let t = ShieldingTable::new(&p, Shielding::Static, 6.0).unwrap();
        for v in [0.0, 0.3, 1.0, 2.0, 3.5, 6.0] {
            let (a, b) = (t.profiles(v).unwrap(), static_shielding_profiles(c, v));
            for (x, y) in [(a.d_par, b.d_par), (a.d_perp, b.d_perp), (a.a_par, b.a_par)] {
                assert!((x - y).abs() <= 1e-6 * b.d_perp + 1e-15, "v = {v}: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn routes_and_paths_agree() {
        // Real axis vs lifted path where both apply (u <= 1): the lifted route
        // computes Im W J through the friction integral Im(W Psi_1) (drag), the
        // real one J through |eps|^-2 (diffusion), so agreement is also the
        // fluctuation-dissipation relation F = -D.v/2 per direction. Two lift
        // heights agree where the Langmuir root sits under the path (u > 1.3):
        // no pole is crossed. All to the 1e-12 quadrature tolerance (x 100).
        let p = reference();
        let beta = lift_height(&p);
        for alpha in [0.0, 0.4, PI / 4.0] {
            for u in [0.4, 0.8, 1.0] {
                let (a, b) = (real_axis(&p, alpha, u), lifted_path(&p, alpha, u, beta));
                assert!((a[0] - b[0]).abs() < 1e-10 * a[0], "alpha {alpha} u {u}: {a:?} vs {b:?}");
                assert!((a[1] - b[1]).abs() < 1e-9 * a[0], "alpha {alpha} u {u}: {a:?} vs {b:?}");
            }
            for u in [1.5, 2.5, 4.0, 6.5] {
                let (a, b) = (lifted_path(&p, alpha, u, beta), lifted_path(&p, alpha, u, 0.5 * beta));
                assert!((a[0] - b[0]).abs() < 1e-10 * a[0], "alpha {alpha} u {u}: {a:?} vs {b:?}");
                assert!((a[1] - b[1]).abs() < 1e-9 * a[0], "alpha {alpha} u {u}: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn derivative_in_u_matches_differences() {
        // d_u h from the analytic formulas vs a 4th-order difference of h
        // (step 1e-3: truncation ~1e-12, quadrature noise 1e-12 / 1e-3).
        let p = reference();
        let dx = 1e-3;
        for u in [0.3, 0.7, 1.4, 2.2, 4.5] {
            let f = |s: f64| dynamic_direction(&p, 0.2, u + s * dx)[0];
            let d = (-f(2.0) + 8.0 * f(1.0) - 8.0 * f(-1.0) + f(-2.0)) / (12.0 * dx);
            let [h, dh] = dynamic_direction(&p, 0.2, u);
            assert!((d - dh).abs() < 1e-7 * h, "u = {u}: {d} vs {dh}");
        }
    }

    #[test]
    fn table_interpolates_and_is_converged_in_direction() {
        // Between nodes the Hermite interpolant of the mean h against the
        // direct mean over the same 9 directions (interpolation error
        // ~ du^4 h'''' / 384); 16 directions change the profiles by < 1e-8.
        let p = reference();
        let t = ShieldingTable::new(&p, Shielding::Dynamic, 5.0).unwrap();
        for u in [0.02, 0.53, 1.01, 1.37, 2.91, 4.97] {
            let n = TABLE_DIRECTIONS;
            let direct: f64 = (0..=n)
                .map(|i| {
                    let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                    w * dynamic_direction(&p, 0.5 * PI * i as f64 / n as f64, u)[0]
                })
                .sum::<f64>()
                / n as f64;
            let got = t.mean(u)[0];
            assert!((got - direct).abs() < 1e-7 * direct, "u = {u}: {got} vs {direct}");
        }
        let fine =
            ShieldingTable::with_directions(&p, Shielding::Dynamic, 3.0, 2 * TABLE_DIRECTIONS).unwrap();
        for v in [0.5, 1.5, 3.0] {
            let (a, b) = (t.profiles(v).unwrap(), fine.profiles(v).unwrap());
            assert!((a.d_par - b.d_par).abs() < 1e-8 * b.d_par, "v = {v}: {a:?} vs {b:?}");
            assert!((a.a_par - b.a_par).abs() < 1e-8 * b.a_par.abs(), "v = {v}: {a:?} vs {b:?}");
        }
    }

    #[test]
    fn maxwellian_is_stationary() {
        // a_par = (d_par' + (d_par - d_perp)/v)/2 - v d_par/2 with d_par' by a
        // central difference of the profiles (step 1e-4; the interpolant is
        // C^1 with a jump in its 2nd derivative, error <~ 1e-8 relative),
        // for the radial profiles; and A_i = (d_j D_ij - D_ij v_j)/2 for the
        // anisotropic fields (4th-order differences, step 1e-3).
        let p = reference();
        let t = ShieldingTable::new(&p, Shielding::Dynamic, 6.0).unwrap();
        let e = 1e-4;
        for v in [0.2, 0.9, 1.6, 2.5, 4.0, 5.5] {
            let c = t.profiles(v).unwrap();
            let d1 = (t.profiles(v + e).unwrap().d_par - t.profiles(v - e).unwrap().d_par) / (2.0 * e);
            let expected = 0.5 * (d1 + (c.d_par - c.d_perp) / v) - 0.5 * v * c.d_par;
            assert!((c.a_par - expected).abs() < 1e-6 * c.a_par.abs(), "v = {v}: {} vs {expected}", c.a_par);
        }
        let h = 1e-3;
        for (vx, vy) in [(0.7, 0.2), (-1.5, 1.1), (2.4, -2.9), (0.1, 3.8)] {
            let tr = &t;
            let comp = |n: usize| move |x: f64, y: f64| tr.cartesian(x, y).unwrap()[n];
            let der = |g: &dyn Fn(f64, f64) -> f64, ex: f64, ey: f64| {
                let at = |s: f64| g(vx + s * h * ex, vy + s * h * ey);
                (-at(2.0) + 8.0 * at(1.0) - 8.0 * at(-1.0) + at(-2.0)) / (12.0 * h)
            };
            let div_x = der(&comp(2), 1.0, 0.0) + der(&comp(4), 0.0, 1.0);
            let div_y = der(&comp(4), 1.0, 0.0) + der(&comp(3), 0.0, 1.0);
            let [ax, ay, dxx, dyy, dxy] = t.cartesian(vx, vy).unwrap();
            let rx = ax - 0.5 * (div_x - dxx * vx - dxy * vy);
            let ry = ay - 0.5 * (div_y - dxy * vx - dyy * vy);
            assert!(rx.hypot(ry) < 1e-6 * ax.hypot(ay), "v = ({vx}, {vy}): ({rx}, {ry})");
        }
    }

    #[test]
    fn small_speed_limit_is_static() {
        // v = 0: every k has u = 0, so dynamic = static exactly (same
        // integrand). Small v: D differs by O(v^2) (W = 1 - u^2 + i sqrt(pi/2) u),
        // the drift by O(v) relative: the dynamic drag at small v is weaker.
        let p = reference();
        let (s, d) = (
            ShieldingTable::new(&p, Shielding::Static, 1.0).unwrap(),
            ShieldingTable::new(&p, Shielding::Dynamic, 1.0).unwrap(),
        );
        let (a, b) = (s.profiles(0.0).unwrap(), d.profiles(0.0).unwrap());
        assert!((a.d_par - b.d_par).abs() < 1e-12 * a.d_par && b.a_par == 0.0);
        for v in [0.05, 0.1, 0.2] {
            let (a, b) = (s.profiles(v).unwrap(), d.profiles(v).unwrap());
            assert!((a.d_perp - b.d_perp).abs() < 2.0 * v * v * a.d_perp, "v = {v}: {a:?} {b:?}");
            assert!(b.a_par < 0.0 && b.a_par > a.a_par, "v = {v}: {a:?} {b:?}");
        }
    }

    #[test]
    fn large_speed_limits_are_not_static() {
        // Point particles (J in closed form), v = 12 and 24. Across v:
        // v d_perp -> (1/(pi N_D)) int h du, the exact angle integral being
        // d_perp = (1/(pi N_D v)) int_{-v}^{v} sqrt(1 - u^2/v^2) h(u) du; with
        // the Langmuir tail h ~ 1/(2u^2) the first correction is -pi/(2v)
        // inside the bracket (from the cut at |u| = v and the square root).
        // Along v: the drag tends to -1/(4 N_D v) (Cherenkov emission of
        // Langmuir waves, k = omega_p / (v cos alpha)).
        let p = point();
        let nd = p.particles_per_debye_area;
        let t = ShieldingTable::new(&p, Shielding::Dynamic, 24.0).unwrap();
        let n = 200_000;
        let (lim, du) = (60.0, 60.0 / n as f64);
        // int_0^60 h du (Simpson on the table's interpolant; beyond the table
        // the tail 1/(2u^2)(1 + 3/u^2)), plus int_60^inf 1/(2u^2) = 1/120.
        let mut int = 0.0;
        for k in 0..=n {
            let w = if k == 0 || k == n {
                1.0
            } else if k % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let u = k as f64 * du;
            int += w * if u <= 24.0 { t.mean(u)[0] } else { 0.5 / (u * u) * (1.0 + 3.0 / (u * u)) };
        }
        int = 2.0 * (int * du / 3.0 + 0.5 / lim);
        for v in [12.0, 24.0] {
            let c = t.profiles(v).unwrap();
            let perp = c.d_perp * PI * nd * v;
            let expected = int - PI / (2.0 * v);
            assert!((perp - expected).abs() < 3.0 / v.powi(2), "v = {v}: {perp} vs {expected}");
            // Measured -(1 + 1/v) to 1e-8: the 1/v is half the divergence of D.
            let drag = c.a_par * 4.0 * nd * v;
            assert!((drag + 1.0).abs() < 1.2 / v, "v = {v}: {drag}");
            // Static would give a_par = -C/v^2 (C = 1/(4 N_D)): far weaker.
            assert!(c.a_par < 2.0 * -0.25 / nd / (v * v));
        }
    }

    #[test]
    fn anisotropy_of_the_form_factor_is_small() {
        // Linear shapes at dx = lambda_D on the 51 x 51 reference grid: the
        // direction dependence beyond the radial form changes every field by
        // less than 0.3 % of its largest value (measured 0.08 % for A, 0.09 %
        // for D_xx, 0.2 % for D_xy), so the radial fields are used.
        let p = reference();
        let g = VelocityGrid::square(51, 5.0).unwrap();
        let t = ShieldingTable::new(&p, Shielding::Dynamic, g.corner_speed()).unwrap();
        let (f, a) = (t.radial_fields(&g).unwrap(), t.anisotropic_fields(&g).unwrap());
        assert!(f.validate().is_ok() && a.validate().is_ok());
        for (x, y) in f.as_array().into_iter().zip(a.as_array()) {
            let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let worst = x.iter().zip(y.iter()).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst < 3e-3 * scale, "{worst} vs {scale}");
        }
        assert_eq!(dynamic_shielding_fields(&g, &p).unwrap(), f);
        let c = dynamic_shielding_profiles(&p, 2.0).unwrap();
        assert!((c.d_par - t.profiles(2.0).unwrap().d_par).abs() < 1e-15);
        assert!(t.profiles(8.0).is_err(), "beyond v_max");
    }

    #[test]
    fn measured_amplitude_is_bracketed_by_dynamic_shielding() {
        // Reference parameters. Dividing the dynamic coefficients at v = 2
        // (the blob's centre, the ring's radius) by the static shapes of
        // unit amplitude gives the static amplitude each would need:
        // d_perp -> 0.0324, a_par -> 0.0433. The measured best fit,
        // 0.034-0.035, lies between: a single static C is a compromise.
        let p = reference();
        let c = static_shielding_amplitude(&p).unwrap();
        let t = ShieldingTable::new(&p, Shielding::Dynamic, 2.0).unwrap();
        let (d, unit) = (t.profiles(2.0).unwrap(), static_shielding_profiles(1.0, 2.0));
        let (perp, drag) = (d.d_perp / unit.d_perp, d.a_par / unit.a_par);
        assert!(perp < 0.034 && drag > 0.035, "{perp} {drag}");
        assert!((perp / c - 1.45).abs() < 0.01 && (drag / c - 1.94).abs() < 0.01, "{perp} {drag} {c}");
    }

    #[test]
    fn point_particle_closed_form() {
        // S = 1: h = pi g / (4 Re sqrt(W)) on both routes.
        let p = point();
        for u in [0.0, 0.3, 0.9, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 7.0] {
            let (w, _) = maxwellian_response(u);
            let exact =
                if u == 0.0 { gaussian(0.0) * PI / 4.0 } else { (w * PI / (2.0 * w.sqrt())).im / (PI * u) };
            let [h, _] = dynamic_direction(&p, 0.3, u);
            println!("{u} {h} {exact}");
            assert!((h - exact).abs() < 1e-10 * exact, "u = {u}: {h} vs {exact}");
        }
    }
}
