//! The collision amplitude `C` of a 2D PIC plasma from its parameters: the
//! particles per Debye area, the cell size and the B-spline shape order.
//!
//! # Derivation (Lenard-Balescu test-particle coefficients, 2D, finite-size particles)
//!
//! Units: `v_th` (per-component thermal spread), `omega_p`, `lambda_D = v_th / omega_p`,
//! wave numbers `kappa = k lambda_D`. One mobile species of density `n`
//! (macro-particles per area), charge `q`, mass `m`, on an immobile neutralising
//! background; `N_D = n lambda_D^2` particles per Debye area.
//!
//! **Interaction.** In 2D the Coulomb potential of a point charge is
//! logarithmic, `-(q / 2 pi eps_0) ln r`, whose Fourier transform is
//! `q / (eps_0 k^2)`. In a PIC code the charge is deposited with the particle
//! shape and the field gathered with the same shape, so two macro-particles
//! interact through `q^2 S(k)^2 / (eps_0 k^2)`, with `S` the Fourier
//! transform of the shape (Langdon & Birdsall, Phys. Fluids 13, 2115 (1970);
//! Okuda & Birdsall, Phys. Fluids 13, 2123 (1970)). For the B-spline of order
//! `O` on cells `dx, dy` (`collop_pic::shape`: the top-hat of one cell
//! convolved `O` times with itself; order 1 = linear = `sinc^2`),
//!
//! ```text
//! S(k) = sinc(k_x dx / 2)^{O+1} sinc(k_y dy / 2)^{O+1},      sinc(x) = sin(x) / x.
//! ```
//!
//! It is not isotropic: its contours are squares for `O = 1` and tend to
//! circles only as `O` grows.
//!
//! **Diffusion.** A test particle on the straight orbit `x_0 + v t` feels the
//! field of the other particles; `D_ij = int dtau <a_i(0) a_j(tau)>` (the
//! Kramers-Moyal `<dv_i dv_j> / dt`) is, with the spectrum of uncorrelated
//! point sources `S_n(k, omega) = n int d^2v' f(v') 2 pi delta(omega - k.v')`
//! dressed by the dielectric function (Rosenbluth, MacDonald & Judd, Phys.
//! Rev. 107, 1 (1957) for the coefficients; Lenard, Ann. Phys. 10, 390
//! (1960) and Balescu, Phys. Fluids 3, 52 (1960) for the dressing),
//!
//! ```text
//! D_ij(v) = (q/m)^2 int d^2k/(2 pi)^2  k_i k_j  q^2 S(k)^4 / (eps_0^2 k^4 |eps(k, k.v)|^2)
//!           n int d^2v' f(v') 2 pi delta(k.(v - v')),
//! eps(k, omega) = 1 + S(k)^2 W(omega / k) / (k lambda_D)^2,     W(u) = 1 + zeta Z(zeta), zeta = u / sqrt(2).
//! ```
//!
//! `S^4`: the field particles' charge is spread by `S`, and the test
//! particle gathers with `S`. `S^2` in `eps`: the plasma's response is
//! gathered and deposited with the shape, `chi = S^2 chi_point` (Langdon &
//! Birdsall 1970). In polar coordinates `k = kappa (cos alpha, sin alpha)`,
//! the velocity integral of the Maxwellian is `(2 pi / k) g(k_hat . v)` with
//! `g(u) = e^{-u^2/2} / sqrt(2 pi)`, and `q^4 n / (m^2 eps_0^2) = omega_p^4 / n`,
//! so in our units
//!
//! ```text
//! D_ij(v) = (1 / (2 pi N_D)) int_0^{2 pi} dalpha  k_hat_i k_hat_j  g(u) J(alpha, u),     u = k_hat . v,
//! J(alpha, u) = int_0^inf dkappa  S^4 kappa^2 / |kappa^2 + S^2 W(u)|^2.
//! ```
//!
//! **Static shielding** replaces `W(u)` by `W(0) = 1` (`eps` by its static
//! Debye value); `J` then depends on the direction only,
//! `J_0(alpha) = int dkappa S^4 kappa^2 / (kappa^2 + S^2)^2`. For an isotropic
//! `S`, `J_0` is a constant and the angular integral gives the Bessel shapes
//! of [`crate::static_shielding_profiles`] (`x = v^2/4`):
//!
//! ```text
//! int dalpha cos^2(alpha) g(v cos alpha) = sqrt(pi/2) e^{-x} (I_0(x) - I_1(x)) / 2,   (sin^2: I_0 + I_1)
//! d_par = (J_0 / (2 pi N_D)) sqrt(pi/2) e^{-x} (I_0 - I_1) / 2 = (C/2) sqrt(pi/2) e^{-x} (I_0 - I_1),
//! C = J_0 / (pi N_D)                               [v_th^3 omega_p].
//! ```
//!
//! For the anisotropic `S` of a PIC, [`static_shielding_amplitude`] takes the
//! angular mean, `C = <J_0>_alpha / (pi N_D)`, the 2D `k` integral
//! `C = (1 / (2 pi^2 N_D)) int d^2kappa S^4 kappa / (kappa^2 + S^2)^2`,
//! evaluated in polar coordinates over the whole `(k_x, k_y)` plane. What the
//! mean leaves out, the harmonics of `J_0(alpha)` (`cos 4 alpha`, ... on square
//! cells; `cos 2 alpha` too when `dx != dy`), makes the coefficients depend on
//! the direction of `v` beyond the rotation of radial profiles; it is kept by
//! [`crate::ShieldingTable::anisotropic_fields`] and measured there: a few
//! per mille of the coefficients for linear shapes at `dx = lambda_D`.
//!
//! **Limits.** Point particles (`S = 1`): `J_0 = int dkappa kappa^2 / (kappa^2 + 1)^2 = pi/4`,
//! so `C = 1 / (4 N_D)`. The integrand falls as `1/kappa^2` at large `kappa`,
//! so in 2D the integral converges: there is no Coulomb logarithm (in 3D the
//! same integral is `int dk / k`, the logarithm cut off at the closest
//! approach); a cutoff `K` removes `~ 1/K` exactly,
//! `int_0^K = (atan K - K / (1 + K^2)) / 2`, and a finite particle size is
//! such a cutoff at `K ~ 1 / dx` (Hockney, J. Comput. Phys. 8, 19 (1971),
//! measured the 2D collision times `~ N_D / omega_p` of such plasmas and
//! their lengthening with the particle size). `C` is proportional to
//! `1 / N_D` and falls with the shape order and with `dx / lambda_D`.
//!
//! **What is left out.** The grid: the charge and force of a PIC live on a
//! mesh, so the interaction also has alias terms at `k + 2 pi (p_x / dx, p_y / dy)`
//! (Langdon, J. Comput. Phys. 6, 247 (1970)), and the finite-difference
//! Laplacian and gradient replace `k` by `2 sin(k dx / 2) / dx`. Both change
//! only the wave numbers near and beyond the edge of the first Brillouin zone
//! `|k_x| = pi / dx`, which carry the fraction
//! [`StaticShielding::outside_brillouin_zone`] of the integral (0.13 % for
//! linear shapes at `dx = lambda_D`: the shape has already cut them off); we
//! keep the continuum (`p = 0`) term, the same approximation as the theory of
//! Okuda & Birdsall (1970). The finite-difference operators alone
//! ([`StaticShielding::amplitude_grid_operators`]) raise `C` by 5.5 % there. Electromagnetic fluctuations (the
//! reference data come from an electromagnetic code) are smaller by
//! `(v_th / c)^2` and are left out too.

use std::f64::consts::PI;

use num_complex::Complex64;

use crate::TheoryError;
use crate::quadrature::integrate;

/// The parameters of a 2D PIC plasma that set its collision coefficients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlasmaParams {
    /// `N_D = n lambda_D^2`, macro-particles of the mobile species per Debye
    /// area (`ppc / ((dx / lambda_D) (dy / lambda_D))`).
    pub particles_per_debye_area: f64,
    /// Cell width along x in Debye lengths (0 with `dy_over_debye = 0`: point particles).
    pub dx_over_debye: f64,
    /// Cell width along y in Debye lengths.
    pub dy_over_debye: f64,
    /// B-spline order of the particle shape, 1 (linear) to 4 (`collop_pic::shape`).
    pub shape_order: usize,
    /// Thermal speed over the speed of light (recorded; the electrostatic
    /// theory does not depend on it).
    pub vth_c: f64,
}

impl PlasmaParams {
    /// Checked parameters: `N_D > 0`, cell sizes `> 0` (or both `0` for point
    /// particles), shape order in `1..=4`, `0 < vth_c < 1`.
    pub fn new(
        particles_per_debye_area: f64,
        dx_over_debye: f64,
        dy_over_debye: f64,
        shape_order: usize,
        vth_c: f64,
    ) -> Result<Self, TheoryError> {
        let p = Self { particles_per_debye_area, dx_over_debye, dy_over_debye, shape_order, vth_c };
        p.validate()?;
        Ok(p)
    }

    /// Parameters from particles per cell: `N_D = ppc / ((dx / lambda_D) (dy / lambda_D))`.
    pub fn from_ppc(
        ppc: f64,
        dx_over_debye: f64,
        dy_over_debye: f64,
        shape_order: usize,
        vth_c: f64,
    ) -> Result<Self, TheoryError> {
        if !(ppc.is_finite() && ppc > 0.0) {
            return Err(TheoryError::InvalidParameter(format!(
                "ppc = {ppc}: particles per cell must be finite and > 0"
            )));
        }
        if !(dx_over_debye > 0.0 && dy_over_debye > 0.0) {
            return Err(TheoryError::InvalidParameter(format!(
                "dx_over_debye = {dx_over_debye}, dy_over_debye = {dy_over_debye}: particles per cell \
                 need cells of positive size (give particles_per_debye_area for point particles)"
            )));
        }
        Self::new(ppc / (dx_over_debye * dy_over_debye), dx_over_debye, dy_over_debye, shape_order, vth_c)
    }

    /// Check every parameter against its allowed range.
    pub fn validate(&self) -> Result<(), TheoryError> {
        let bad = |name: &str, value: String, range: &str| {
            Err(TheoryError::InvalidParameter(format!("{name} = {value}: must be {range}")))
        };
        let nd = self.particles_per_debye_area;
        if !(nd.is_finite() && nd > 0.0) {
            return bad("particles_per_debye_area", nd.to_string(), "finite and > 0");
        }
        for (name, d) in [("dx_over_debye", self.dx_over_debye), ("dy_over_debye", self.dy_over_debye)] {
            if !(d.is_finite() && (0.0..=100.0).contains(&d)) {
                return bad(name, d.to_string(), "in [0, 100] (0 for point particles)");
            }
        }
        if (self.dx_over_debye == 0.0) != (self.dy_over_debye == 0.0) {
            return bad(
                "dx_over_debye, dy_over_debye",
                format!("{}, {}", self.dx_over_debye, self.dy_over_debye),
                "both > 0, or both 0 for point particles",
            );
        }
        if !(1..=4).contains(&self.shape_order) {
            return bad("shape_order", self.shape_order.to_string(), "in 1..=4 (1 = linear B-spline)");
        }
        if !(self.vth_c.is_finite() && self.vth_c > 0.0 && self.vth_c < 1.0) {
            return bad("vth_c", self.vth_c.to_string(), "in (0, 1)");
        }
        Ok(())
    }

    /// Whether the particles are points (`S = 1`).
    pub fn point_particles(&self) -> bool {
        self.dx_over_debye == 0.0
    }

    /// The form factor `S(k) = sinc(k_x dx/2)^{O+1} sinc(k_y dy/2)^{O+1}`,
    /// `k` in `1 / lambda_D`.
    pub fn form_factor(&self, kx: f64, ky: f64) -> f64 {
        let p = (self.shape_order + 1) as i32;
        (sinc(0.5 * kx * self.dx_over_debye) * sinc(0.5 * ky * self.dy_over_debye)).powi(p)
    }

    /// The form factor at a complex wave number `kappa (cos alpha, sin alpha)`.
    pub(crate) fn form_factor_complex(&self, kappa: Complex64, cos: f64, sin: f64) -> Complex64 {
        let p = (self.shape_order + 1) as i32;
        let s = csinc(0.5 * kappa * cos * self.dx_over_debye) * csinc(0.5 * kappa * sin * self.dy_over_debye);
        s.powi(p)
    }

    /// Where the wave-number integrals along direction `(cos, sin)` are cut:
    /// beyond `K` the form factor is below `~1e-4` along both axes, so
    /// `S^4 / kappa^2` is below `1e-16` relative; `None` for point particles.
    pub(crate) fn k_cutoff(&self) -> Option<f64> {
        if self.point_particles() {
            return None;
        }
        let p = (self.shape_order + 1) as f64;
        // |sinc(x)|^{p} <= |x|^{-p}; need (2 / (K d))^{4p} <= 1e-16.
        let d = self.dx_over_debye.min(self.dy_over_debye);
        Some((2.0 / d) * 10f64.powf(16.0 / (4.0 * p)))
    }

    /// Panel break points of the `kappa` integrals along `alpha`: geometric
    /// to the cutoff (point particles: to 16, the rest by the map of
    /// [`integrate_k`]), plus the edge of the first Brillouin zone.
    pub(crate) fn k_breaks(&self, cos: f64, sin: f64) -> Vec<f64> {
        let top = self.k_cutoff().unwrap_or(16.0);
        let mut b = vec![0.0, 0.25, 0.5];
        let mut x = 1.0;
        while x < top {
            b.push(x);
            x *= 2.0;
        }
        b.push(top);
        if let Some(kb) = self.brillouin_edge(cos, sin)
            && kb < top
        {
            b.push(kb);
        }
        b.sort_by(f64::total_cmp);
        b.dedup();
        b
    }

    /// `kappa` at which direction `(cos, sin)` leaves the first Brillouin
    /// zone `|k_x| <= pi / dx, |k_y| <= pi / dy`.
    pub(crate) fn brillouin_edge(&self, cos: f64, sin: f64) -> Option<f64> {
        if self.point_particles() {
            return None;
        }
        let ex = if cos.abs() > 0.0 { PI / (self.dx_over_debye * cos.abs()) } else { f64::INFINITY };
        let ey = if sin.abs() > 0.0 { PI / (self.dy_over_debye * sin.abs()) } else { f64::INFINITY };
        Some(ex.min(ey))
    }

    /// Whether the cells are square (8-fold symmetry of `S` in the direction).
    pub(crate) fn square_cells(&self) -> bool {
        self.dx_over_debye == self.dy_over_debye
    }
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-4 { 1.0 - x * x / 6.0 } else { x.sin() / x }
}

fn csinc(z: Complex64) -> Complex64 {
    if z.norm() < 1e-3 {
        let z2 = z * z;
        1.0 - z2 / 6.0 + z2 * z2 / 120.0
    } else {
        z.sin() / z
    }
}

/// `int_0^inf f(kappa) dkappa` over the panels of [`PlasmaParams::k_breaks`];
/// for point particles the tail beyond the last break `K` by
/// `kappa = K / t`, `int_0^1 f(K/t) K / t^2 dt`, which is smooth for the
/// `1/kappa^2` tails of these integrands.
pub(crate) fn integrate_k<const N: usize>(
    params: &PlasmaParams,
    cos: f64,
    sin: f64,
    f: impl Fn(f64) -> [f64; N],
    rel_tol: f64,
) -> [f64; N] {
    let breaks = params.k_breaks(cos, sin);
    let mut total = integrate(&f, &breaks, rel_tol);
    if params.point_particles() {
        let k = *breaks.last().expect("breaks");
        let tail = integrate(
            &|t: f64| {
                if t <= 0.0 {
                    return [0.0; N];
                }
                f(k / t).map(|v| v * k / (t * t))
            },
            &[0.0, 0.5, 1.0],
            rel_tol,
        );
        for (a, b) in total.iter_mut().zip(tail) {
            *a += b;
        }
    }
    total
}

/// Relative tolerance of the wave-number integrals.
pub(crate) const K_TOL: f64 = 1e-12;

/// How the static-shielding integrand treats the shielding and the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StaticVariant {
    /// `S^4 kappa^2 / (kappa^2 + S^2)^2`: the finite-size dielectric function.
    Shaped,
    /// `S^4 kappa^2 / (kappa^2 + 1)^2`: point-particle Debye shielding.
    Bare,
    /// `S^4 K^2 / (K^2 + S^2)^2` with the grid's `K_d = 2 sin(k_d dx_d / 2) / dx_d`
    /// for the Laplacian and the (staggered) gradient, no alias terms.
    GridOperators,
}

/// Static-shielding integral along one direction,
/// `J_0(alpha) = int dkappa S^4 kappa^2 / (kappa^2 + S^2)^2` (or a
/// [`StaticVariant`] of it), and the part of it beyond the first Brillouin zone.
fn static_direction(params: &PlasmaParams, alpha: f64, variant: StaticVariant) -> (f64, f64) {
    let (sin, cos) = alpha.sin_cos();
    let edge = params.brillouin_edge(cos, sin).unwrap_or(f64::INFINITY);
    let grid_k = |k: f64, d: f64| if d > 0.0 { 2.0 * (0.5 * k * d).sin() / d } else { k };
    let f = |kappa: f64| {
        let s = params.form_factor(kappa * cos, kappa * sin);
        let s2 = s * s;
        let (k2, shield) = match variant {
            StaticVariant::Shaped => (kappa * kappa, s2),
            StaticVariant::Bare => (kappa * kappa, 1.0),
            StaticVariant::GridOperators => {
                let kx = grid_k(kappa * cos, params.dx_over_debye);
                let ky = grid_k(kappa * sin, params.dy_over_debye);
                (kx * kx + ky * ky, s2)
            }
        };
        let d = k2 + shield;
        let v = s2 * s2 * k2 / (d * d);
        [v, if kappa > edge { v } else { 0.0 }]
    };
    let [j, out] = integrate_k(params, cos, sin, f, K_TOL);
    (j, out)
}

/// Directions per quadrant of the angular means (trapezoidal rule on the
/// periodic, analytic `J_0(alpha)`: converged to round-off, see the tests).
const STATIC_DIRECTIONS: usize = 48;

/// Angular means over the full circle of `[J_0, J_0 beyond the zone, J_0 cos 4 alpha]`,
/// by the trapezoidal rule on one quadrant (`S` is even in `k_x` and in `k_y`).
fn static_means(params: &PlasmaParams, variant: StaticVariant) -> [f64; 3] {
    let n = STATIC_DIRECTIONS;
    let h = 0.5 * PI / n as f64;
    let mut s = [0.0; 3];
    for i in 0..=n {
        let alpha = i as f64 * h;
        let w = if i == 0 || i == n { 0.5 } else { 1.0 };
        let (j, out) = static_direction(params, alpha, variant);
        s[0] += w * j;
        s[1] += w * out;
        s[2] += w * j * (4.0 * alpha).cos();
    }
    s.map(|v| v / n as f64)
}

/// The static-shielding collision amplitude and what it leaves out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticShielding {
    /// `C = <J_0>_alpha / (pi N_D)`, in `v_th^3 omega_p` (see the module docs).
    pub amplitude: f64,
    /// `C` of point particles at the same `N_D`, `1 / (4 N_D)`.
    pub point_particle_amplitude: f64,
    /// `C` with the point-particle shielding `(kappa^2 + 1)^2` in place of
    /// `(kappa^2 + S^2)^2` (the shape in the interaction only).
    pub amplitude_bare_shielding: f64,
    /// `C` with the grid's finite-difference Laplacian and gradient,
    /// `k_d -> 2 sin(k_d dx_d / 2) / dx_d` (Yee or five-point Laplacian,
    /// staggered gradient), still without alias terms: an estimate of what the
    /// grid adds, not a prediction (the drift of such a grid model no longer
    /// keeps the Maxwellian stationary).
    pub amplitude_grid_operators: f64,
    /// Relative `cos 4 alpha` harmonic of `J_0(alpha)`: `2 <J_0 cos 4 alpha> / <J_0>`.
    pub anisotropy: f64,
    /// Fraction of `<J_0>` from wave numbers outside the first Brillouin zone
    /// (where aliasing, left out, acts).
    pub outside_brillouin_zone: f64,
}

impl StaticShielding {
    /// Evaluate for `params` (validated).
    pub fn new(params: &PlasmaParams) -> Result<Self, TheoryError> {
        params.validate()?;
        let nd = params.particles_per_debye_area;
        let [j, out, c4] = static_means(params, StaticVariant::Shaped);
        let [jb, _, _] = static_means(params, StaticVariant::Bare);
        let [jg, _, _] = static_means(params, StaticVariant::GridOperators);
        Ok(Self {
            amplitude: j / (PI * nd),
            point_particle_amplitude: 0.25 / nd,
            amplitude_bare_shielding: jb / (PI * nd),
            amplitude_grid_operators: jg / (PI * nd),
            anisotropy: 2.0 * c4 / j,
            outside_brillouin_zone: out / j,
        })
    }
}

/// The static-shielding amplitude `C` (`v_th^3 omega_p`) of
/// [`crate::static_shielding_profiles`] for a PIC plasma:
/// `C = (1 / (pi N_D)) <int dkappa S^4 kappa^2 / (kappa^2 + S^2)^2>_alpha`
/// (derivation in the module docs of this file).
pub fn static_shielding_amplitude(params: &PlasmaParams) -> Result<f64, TheoryError> {
    Ok(StaticShielding::new(params)?.amplitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> PlasmaParams {
        PlasmaParams::from_ppc(4.0, 1.0, 1.0, 1, 0.01).unwrap()
    }

    #[test]
    fn point_particles_have_no_coulomb_logarithm() {
        // S = 1: J_0 = pi/4 exactly, C = 1 / (4 N_D); the integral with the
        // tail map is converged to the 1e-12 quadrature tolerance.
        let p = PlasmaParams::new(3.0, 0.0, 0.0, 1, 0.01).unwrap();
        let s = StaticShielding::new(&p).unwrap();
        assert!((s.amplitude - 1.0 / 12.0).abs() < 1e-12, "{}", s.amplitude);
        assert!(s.anisotropy.abs() < 1e-12 && s.outside_brillouin_zone == 0.0);
        // A cutoff K removes ~1/K (not a logarithm): the truncated integral is
        // (atan K - K / (1 + K^2)) / 2, checked with the same quadrature.
        for k in [0.5, 3.0, 40.0] {
            let got =
                integrate(&|x: f64| [x * x / ((x * x + 1.0) * (x * x + 1.0))], &[0.0, 0.5 * k, k], 1e-13)[0];
            let exact = 0.5 * (k.atan() - k / (1.0 + k * k));
            assert!((got - exact).abs() < 1e-13, "K = {k}: {got} vs {exact}");
            assert!((PI / 4.0 - exact - 1.0 / k).abs() < 1.0 / k.powi(3), "tail ~ 1/K - 1/(3K^3)");
        }
    }

    #[test]
    fn reference_data_amplitude() {
        // The published data (ppc 4, dx = lambda_D, linear shape, N_D = 4):
        // C = 0.02234, against the measured best static fit 0.034-0.035, i.e.
        // 65 % of it. Not tuned; what is left out accounts for little of the
        // gap: the grid's finite-difference operators +5.5 % (0.02357),
        // wave numbers beyond the first Brillouin zone (aliasing) 0.13 % of
        // the integral, the point-particle shielding in eps -14 % (0.01928).
        // The gap is dynamic shielding: the data sit at |v| ~ 2, where the
        // Lenard-Balescu coefficients are 1.45 (d_perp) to 1.9 (a_par) times
        // the static ones (lenard_balescu::tests::measured_amplitude_is_bracketed_by_dynamic_shielding).
        let s = StaticShielding::new(&reference()).unwrap();
        assert!((s.amplitude - 0.022342).abs() < 1e-5, "C = {}", s.amplitude);
        assert!((s.amplitude_grid_operators / s.amplitude - 1.055).abs() < 0.005, "{s:?}");
        assert!((s.amplitude_bare_shielding / s.amplitude - 0.863).abs() < 0.005, "{s:?}");
        assert!(s.outside_brillouin_zone > 0.0 && s.outside_brillouin_zone < 2e-3, "{s:?}");
        assert!((s.point_particle_amplitude - 1.0 / 16.0).abs() < 1e-15);
    }

    #[test]
    fn scales_as_one_over_particles_per_debye_area() {
        let a = static_shielding_amplitude(&PlasmaParams::new(4.0, 1.0, 1.0, 2, 0.01).unwrap()).unwrap();
        let b = static_shielding_amplitude(&PlasmaParams::new(40.0, 1.0, 1.0, 2, 0.01).unwrap()).unwrap();
        assert!((a / b - 10.0).abs() < 1e-12, "{}", a / b);
    }

    #[test]
    fn decreases_with_shape_order_and_cell_size() {
        let c = |dx: f64, o: usize| {
            static_shielding_amplitude(&PlasmaParams::new(1.0, dx, dx, o, 0.01).unwrap()).unwrap()
        };
        for dx in [0.25, 1.0, 3.0] {
            for o in 1..4 {
                assert!(c(dx, o + 1) < c(dx, o), "dx {dx}, order {o}");
            }
        }
        for o in 1..=4 {
            let mut last = 0.25; // point particles
            for dx in [0.1, 0.3, 1.0, 2.0, 5.0] {
                let now = c(dx, o);
                assert!(now < last, "order {o}, dx {dx}: {now} >= {last}");
                last = now;
            }
        }
        // Small particles approach points: the first correction is
        // -<k^2 var> ~ O(dx) here (the 1/kappa^2 tail is cut at 1/dx).
        let small = c(1e-3, 1);
        assert!((small - 0.25).abs() < 2e-3 * 0.25 * 10.0, "{small}");
    }

    #[test]
    fn angular_mean_is_converged_and_anisotropy_small() {
        // Doubling the directions changes the mean by round-off only.
        let p = reference();
        let a = static_means(&p, StaticVariant::Shaped);
        let n = 2 * STATIC_DIRECTIONS;
        let h = 0.5 * PI / n as f64;
        let mut b = 0.0;
        for i in 0..=n {
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            b += w * static_direction(&p, i as f64 * h, StaticVariant::Shaped).0;
        }
        b /= n as f64;
        assert!((a[0] - b).abs() < 1e-12 * b, "{} vs {b}", a[0]);
        let s = StaticShielding::new(&p).unwrap();
        assert!(s.anisotropy.abs() < 0.05, "{}", s.anisotropy);
    }

    #[test]
    fn rejects_bad_parameters() {
        let e = |r: Result<PlasmaParams, TheoryError>, needle: &str| {
            let msg = r.unwrap_err().to_string();
            assert!(msg.contains(needle), "{msg}");
        };
        e(PlasmaParams::new(0.0, 1.0, 1.0, 1, 0.01), "particles_per_debye_area");
        e(PlasmaParams::new(4.0, -1.0, 1.0, 1, 0.01), "dx_over_debye");
        e(PlasmaParams::new(4.0, 0.0, 1.0, 1, 0.01), "both 0");
        e(PlasmaParams::new(4.0, 1.0, 1.0, 5, 0.01), "shape_order");
        e(PlasmaParams::new(4.0, 1.0, 1.0, 1, 1.5), "vth_c");
        e(PlasmaParams::from_ppc(f64::NAN, 1.0, 1.0, 1, 0.01), "ppc");
    }
}
