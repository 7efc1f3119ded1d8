//! Collision coefficients of 2D finite-size particles with static shielding.

use std::f64::consts::PI;

use collop_core::{FpFields, VelocityGrid};

use crate::RadialCoefficients;
use crate::TheoryError;
use crate::bessel::{bessel_i0e, bessel_i0e_minus_i1e, bessel_i1e};
use crate::radial::fields_from_radial_fn;

/// Radial drift and diffusion of test particles at speed `v` (in `v_th`) in a
/// 2D thermal plasma of finite-size particles with static (Debye) shielding,
/// in the Kramers-Moyal convention of [`FpFields`]. With `x = v^2 / 4` and
/// `K = (C/2) sqrt(pi/2)`:
///
/// ```text
/// d_par  = K e^{-x} (I_0(x) - I_1(x))
/// d_perp = K e^{-x} (I_0(x) + I_1(x))
/// a_par  = -v d_par
/// ```
///
/// `amplitude` is `C`, in `v_th^3 omega_p`, so that the `d` are in
/// `v_th^2 omega_p` and `a_par` in `v_th omega_p`; it collects the plasma
/// parameters (particle size, shielding, particles per Debye area) and is
/// derived from PIC parameters elsewhere. These are the velocity shapes of
/// the 2D electrostatic prediction that learned operators are compared with
/// in Carvalho et al., arXiv:2601.10885: Lenard-Balescu/Landau coefficients
/// for test particles in a Maxwellian background (Lenard, Ann. Phys. 10, 390
/// (1960); Balescu, Phys. Fluids 3, 52 (1960)), for finite-size particles
/// (Okuda & Birdsall, Phys. Fluids 13, 2123 (1970)).
///
/// **The drift leaves the Maxwellian stationary.** Zero flux for
/// `f ~ exp(-v^2/2)` needs `A_i = 1/2 d_j D_ij - 1/2 D_ij v_j`. For
/// `D = d_par e_par e_par + d_perp e_perp e_perp` the divergence is radial,
/// `(div D)_r = d_par' + (d_par - d_perp) / v`, and with `I_0' = I_1`,
/// `I_1' = I_0 - I_1 / x` (DLMF 10.29.3), `dx/dv = v/2`:
///
/// ```text
/// d_par' = K (v/2) e^{-x} (2 I_1 - 2 I_0 + I_1 / x) = K e^{-x} (v (I_1 - I_0) + 2 I_1 / v)
/// (d_par - d_perp) / v = -2 K e^{-x} I_1 / v
/// (div D)_r = -v d_par
/// ```
///
/// so `1/2 (div D)_r - 1/2 d_par v = -v d_par = a_par`: half of the drift
/// comes from the divergence of `D`, half from the Maxwellian's gradient.
///
/// Limits: at `v = 0`, `d_par = d_perp = K` (isotropic) and `a_par = 0`;
/// for small `v`, `d_par / K = 1 - 3 v^2/8 + 5 v^4/64 + O(v^6)` and
/// `d_perp / K = 1 - v^2/8 + v^4/64 + O(v^6)` (power series of `I_0`, `I_1`);
/// for `v >> 1` (Hankel expansion, DLMF 10.40.1)
/// `d_par = (C/v^3) (1 + 3/(2v^2) + 45/(8v^4) + ...)`,
/// `d_perp = (C/v) (1 - 1/(2v^2) - 3/(8v^4) - ...)`, `a_par ~ -C/v^2`.
///
/// `v` is a speed; its sign is ignored. `d_par` is computed without the
/// cancellation of `I_0 - I_1` at large `v`.
pub fn static_shielding_profiles(amplitude: f64, v: f64) -> RadialCoefficients {
    let v = v.abs();
    let x = 0.25 * v * v;
    let k = 0.5 * amplitude * (0.5 * PI).sqrt();
    let d_par = k * bessel_i0e_minus_i1e(x);
    let d_perp = k * (bessel_i0e(x) + bessel_i1e(x));
    RadialCoefficients { a_par: -v * d_par, d_par, d_perp }
}

/// [`static_shielding_profiles`] with amplitude `C` on every cell of `grid`,
/// rotated onto `(v_x, v_y)` with the cell-centre directions
/// ([`crate::fields_from_radial_fn`]): `A_x = a_par cos`, `A_y = a_par sin`,
/// `D_xx = d_par cos^2 + d_perp sin^2`, `D_yy = d_par sin^2 + d_perp cos^2`,
/// `D_xy = (d_par - d_perp) cos sin`. `C` must be finite and `>= 0`.
pub fn static_shielding_fields(grid: &VelocityGrid, amplitude: f64) -> Result<FpFields, TheoryError> {
    if !(amplitude.is_finite() && amplitude >= 0.0) {
        return Err(TheoryError::InvalidParameter(format!(
            "collision amplitude C = {amplitude} must be finite and >= 0"
        )));
    }
    Ok(fields_from_radial_fn(grid, |v| static_shielding_profiles(amplitude, v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radial::radial_to_cartesian;
    use collop_core::radial_direction;

    const C: f64 = 0.37;

    fn k() -> f64 {
        0.5 * C * (0.5 * PI).sqrt()
    }

    /// `[A_x, A_y, D_xx, D_yy, D_xy]` at a point, from the analytic profiles.
    fn cartesian(vx: f64, vy: f64) -> [f64; 5] {
        radial_to_cartesian(radial_direction(vx, vy), static_shielding_profiles(C, vx.hypot(vy)))
    }

    /// 4th-order central difference of `g` along `(ex, ey)` at `(vx, vy)`.
    fn derivative(g: impl Fn(f64, f64) -> f64, vx: f64, vy: f64, e: [f64; 2], h: f64) -> f64 {
        let at = |s: f64| g(vx + s * h * e[0], vy + s * h * e[1]);
        (-at(2.0) + 8.0 * at(1.0) - 8.0 * at(-1.0) + at(-2.0)) / (12.0 * h)
    }

    #[test]
    fn maxwellian_has_zero_continuum_flux() {
        // Residual A_i - (1/2 d_j D_ij - 1/2 D_ij v_j) with d_j D_ij from
        // 4th-order differences of the analytic fields, h = 1e-3: truncation
        // ~ h^4 |D^(5)| ~ 1e-12, round-off ~ eps |D| / h ~ 1e-13, against
        // |A| >= 0.02 C here, so 1e-9 relative is a wide margin that still
        // catches any O(1) error in the drift or the tensor.
        let h = 1e-3;
        for r in [0.1, 0.35, 0.8, 1.0, 1.7, 2.5, 3.3, 4.9, 6.0, 7.5] {
            for k in 0..7 {
                let th = 0.2 + k as f64 * 0.9;
                let (vx, vy) = (r * th.cos(), r * th.sin());
                let comp = |n: usize| move |x: f64, y: f64| cartesian(x, y)[n];
                let div_x =
                    derivative(comp(2), vx, vy, [1.0, 0.0], h) + derivative(comp(4), vx, vy, [0.0, 1.0], h);
                let div_y =
                    derivative(comp(4), vx, vy, [1.0, 0.0], h) + derivative(comp(3), vx, vy, [0.0, 1.0], h);
                let [ax, ay, dxx, dyy, dxy] = cartesian(vx, vy);
                let rx = ax - 0.5 * (div_x - dxx * vx - dxy * vy);
                let ry = ay - 0.5 * (div_y - dxy * vx - dyy * vy);
                let scale = ax.hypot(ay);
                assert!(
                    rx.hypot(ry) < 1e-9 * scale,
                    "v = ({vx}, {vy}): residual ({rx}, {ry}), |A| = {scale}"
                );
            }
        }
    }

    #[test]
    fn radial_divergence_identity() {
        // (div D)_r = d_par' + (d_par - d_perp)/v = -v d_par, with d_par' by a
        // 4th-order difference in v (h = 1e-3, error ~ 1e-12 relative).
        let h = 1e-3;
        let p = |v: f64| static_shielding_profiles(C, v);
        for v in [0.05, 0.3, 1.0, 2.0, 4.0, 8.0, 11.5, 14.0, 30.0] {
            let dpar = (-p(v + 2.0 * h).d_par + 8.0 * p(v + h).d_par - 8.0 * p(v - h).d_par
                + p(v - 2.0 * h).d_par)
                / (12.0 * h);
            let c = p(v);
            let div = dpar + (c.d_par - c.d_perp) / v;
            assert!((div + v * c.d_par).abs() < 1e-9 * v * c.d_par, "v = {v}: {div} vs {}", -v * c.d_par);
        }
    }

    #[test]
    fn small_speed_limit() {
        // Isotropic at v = 0; then the power series with remainders
        // |35/3072| v^6 and |5/3072| v^6 (next terms), bounded by 0.02 v^6.
        let c0 = static_shielding_profiles(C, 0.0);
        assert!((c0.d_par - k()).abs() < 1e-16 && (c0.d_perp - k()).abs() < 1e-16 && c0.a_par == 0.0);
        for v in [1e-6, 1e-3, 0.05, 0.2, 0.5] {
            let c = static_shielding_profiles(C, v);
            let (v2, v4) = (v * v, v.powi(4));
            let bound = 0.02 * v.powi(6) + 1e-15;
            assert!((c.d_par / k() - (1.0 - 3.0 * v2 / 8.0 + 5.0 * v4 / 64.0)).abs() < bound, "v = {v}");
            assert!((c.d_perp / k() - (1.0 - v2 / 8.0 + v4 / 64.0)).abs() < bound, "v = {v}");
            assert_eq!(c.a_par, -v * c.d_par);
        }
    }

    #[test]
    fn large_speed_limit() {
        // Hankel expansions in 1/v^2; the next terms are 32.8/v^6 (d_par v^3/C)
        // and -0.94/v^6 (d_perp v/C), so 50/v^6 and 2/v^6 bound the
        // remainders for v >= 8 (both Bessel routes are exercised: x = v^2/4
        // crosses the switch at v ~ 11).
        for v in [8.0, 9.5, 10.9, 11.0, 12.0, 20.0, 50.0, 200.0_f64] {
            let c = static_shielding_profiles(C, v);
            let (w2, w4, w6) = (v.powi(-2), v.powi(-4), v.powi(-6));
            let par = c.d_par * v.powi(3) / C;
            let perp = c.d_perp * v / C;
            assert!((par - (1.0 + 1.5 * w2 + 5.625 * w4)).abs() < 50.0 * w6 + 1e-14, "v = {v}: {par}");
            assert!((perp - (1.0 - 0.5 * w2 - 0.375 * w4)).abs() < 2.0 * w6 + 1e-14, "v = {v}: {perp}");
            assert!((c.a_par * v * v / C + 1.0 + 1.5 * w2).abs() < 7.0 * w4, "v = {v}");
        }
    }

    #[test]
    fn fields_on_the_reference_grid() {
        let g = VelocityGrid::square(51, 5.0).unwrap();
        let f = static_shielding_fields(&g, C).unwrap();
        assert!(f.validate().is_ok());
        // The centre cell is the origin: isotropic, no drift.
        let c = 25;
        assert!((f.d_xx[[c, c]] - k()).abs() < 1e-16 && (f.d_yy[[c, c]] - k()).abs() < 1e-16);
        assert!(f.d_xy[[c, c]].abs() < 1e-16 && f.a_x[[c, c]] == 0.0 && f.a_y[[c, c]] == 0.0);
        // On the v_x axis (cell (40, 25)), D_xx = d_par, D_yy = d_perp, A along -v_x.
        let p = static_shielding_profiles(C, g.vx(40));
        assert!((f.d_xx[[40, c]] - p.d_par).abs() < 1e-15 && (f.d_yy[[40, c]] - p.d_perp).abs() < 1e-15);
        assert!((f.a_x[[40, c]] - p.a_par).abs() < 1e-15 && f.a_y[[40, c]].abs() < 1e-15);
        // Mirror symmetry of the symmetric grid: D_xy odd in v_x, A_x odd in v_x.
        for i in 0..g.nx {
            for j in 0..g.ny {
                let m = g.nx - 1 - i;
                assert!((f.d_xy[[i, j]] + f.d_xy[[m, j]]).abs() < 1e-15);
                assert!((f.a_x[[i, j]] + f.a_x[[m, j]]).abs() < 1e-15);
                assert!((f.d_xx[[i, j]] - f.d_yy[[j, i]]).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn rejects_bad_amplitude() {
        let g = VelocityGrid::square(4, 1.0).unwrap();
        assert!(static_shielding_fields(&g, -1.0).is_err());
        assert!(static_shielding_fields(&g, f64::NAN).is_err());
        assert_eq!(static_shielding_fields(&g, 0.0).unwrap(), FpFields::zeros(g));
    }
}
