//! The relativistic Boris pusher.
//!
//! Normalised units (as OSIRIS): momentum `u = gamma v` in `c`, fields in
//! `m_e c omega_p / e`, time in `1/omega_p`. The equation of motion of a
//! particle of charge `q` and mass `m` is `du/dt = (q/m) (E + u x B / gamma)`.

/// One Boris step `u^{n-1/2} -> u^{n+1/2}` in the fields `e`, `b` at time `n`,
/// with `h = q dt / (2 m)`.
///
/// Boris, *Relativistic plasma simulation: optimization of a hybrid code*,
/// Proc. 4th Conf. Num. Sim. Plasmas (1970) 3-67; Birdsall & Langdon, *Plasma
/// Physics via Computer Simulation* (1991), sections 4-4 and 15-4:
///
/// ```text
/// u-  = u^{n-1/2} + h E                     (half electric kick)
/// t   = h B / gamma-,  gamma- = sqrt(1 + |u-|^2)
/// u'  = u- + u- x t
/// u+  = u- + u' x s,   s = 2 t / (1 + |t|^2)   (rotation by theta, tan(theta/2) = |t|)
/// u^{n+1/2} = u+ + h E                      (half electric kick)
/// ```
///
/// The rotation preserves `|u-|` exactly and turns by `theta = 2 atan(|t|)`.
#[inline(always)]
pub fn boris(u: [f64; 3], e: [f64; 3], b: [f64; 3], h: f64) -> [f64; 3] {
    let um = [u[0] + h * e[0], u[1] + h * e[1], u[2] + h * e[2]];
    let inv_gamma = 1.0 / (1.0 + um[0] * um[0] + um[1] * um[1] + um[2] * um[2]).sqrt();
    let f = h * inv_gamma;
    let t = [f * b[0], f * b[1], f * b[2]];
    let s_fac = 2.0 / (1.0 + t[0] * t[0] + t[1] * t[1] + t[2] * t[2]);
    let up = [
        um[0] + um[1] * t[2] - um[2] * t[1],
        um[1] + um[2] * t[0] - um[0] * t[2],
        um[2] + um[0] * t[1] - um[1] * t[0],
    ];
    let s = [s_fac * t[0], s_fac * t[1], s_fac * t[2]];
    [
        um[0] + up[1] * s[2] - up[2] * s[1] + h * e[0],
        um[1] + up[2] * s[0] - up[0] * s[2] + h * e[1],
        um[2] + up[0] * s[1] - up[1] * s[0] + h * e[2],
    ]
}

/// Lorentz factor `gamma = sqrt(1 + |u|^2)`.
#[inline(always)]
pub fn gamma(u: [f64; 3]) -> f64 {
    (1.0 + u[0] * u[0] + u[1] * u[1] + u[2] * u[2]).sqrt()
}

/// Kinetic energy per unit mass `gamma - 1`, written as `|u|^2 / (gamma + 1)`
/// so that it keeps full relative precision when `|u| << 1`.
#[inline(always)]
pub fn kinetic(u: [f64; 3]) -> f64 {
    let u2 = u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
    u2 / ((1.0 + u2).sqrt() + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gyration_phase_and_radius_are_exact() {
        // Uniform B along z, electron (q/m = -1), relativistic momentum.
        let (bz, dt, q_m): (f64, f64, f64) = (2.0, 0.3, -1.0);
        let h = 0.5 * q_m * dt;
        let u0 = [0.8, 0.0, 0.3];
        let g = gamma(u0);
        // Boris rotates u_perp by theta with tan(theta/2) = |h| B / gamma,
        // the sense being that of q B (clockwise seen from +z for q B > 0).
        let theta = 2.0 * (h.abs() * bz / g).atan();
        let mut u = u0;
        let (mut x, mut y) = (0.0, 0.0);
        let n = 1000;
        let mut pos = Vec::with_capacity(n);
        for _ in 0..n {
            u = boris(u, [0.0; 3], [0.0, 0.0, bz], h);
            x += dt * u[0] / g;
            y += dt * u[1] / g;
            pos.push((x, y));
        }
        let phase = u[1].atan2(u[0]);
        // q < 0: counter-clockwise rotation, phase +n theta (mod 2 pi).
        let expect = (n as f64 * theta).rem_euclid(2.0 * std::f64::consts::PI);
        let got = phase.rem_euclid(2.0 * std::f64::consts::PI);
        // 1000 rotations accumulate ~1000 ulp of phase: 1e-11 is round-off.
        assert!((got - expect).abs() < 1e-11, "phase {got} vs {expect}");
        assert!(((u[0] * u[0] + u[1] * u[1]).sqrt() - 0.8).abs() < 1e-13);
        assert!((u[2] - 0.3).abs() < 1e-15);
        // Positions lie on a circle of radius |v_perp| dt / (2 sin(theta/2))
        // (chords of length |v_perp| dt subtending theta).
        let r = 0.8 / g * dt / (2.0 * (0.5 * theta).sin());
        // The centre from the first three points (any three points of the orbit).
        let (cx, cy) = circle_centre(pos[0], pos[1], pos[2]);
        for p in &pos {
            let d = ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt();
            assert!((d - r).abs() < 1e-11 * r.max(1.0), "radius {d} vs {r}");
        }
    }

    fn circle_centre(a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> (f64, f64) {
        let d = 2.0 * (a.0 * (b.1 - c.1) + b.0 * (c.1 - a.1) + c.0 * (a.1 - b.1));
        let (a2, b2, c2) = (a.0 * a.0 + a.1 * a.1, b.0 * b.0 + b.1 * b.1, c.0 * c.0 + c.1 * c.1);
        (
            (a2 * (b.1 - c.1) + b2 * (c.1 - a.1) + c2 * (a.1 - b.1)) / d,
            (a2 * (c.0 - b.0) + b2 * (a.0 - c.0) + c2 * (b.0 - a.0)) / d,
        )
    }

    #[test]
    fn e_cross_b_drift() {
        // E = E_y, B = B_z: drift v_E = E x B / B^2 = (E_y / B_z) x-hat.
        // Non-relativistic drift (0.01 c), so the exact relativistic drift is
        // also E x B / B^2; averaging over whole gyro-periods removes the
        // gyration and leaves only round-off and the O(v_E^2) gamma wobble.
        let (ey, bz, dt): (f64, f64, f64) = (0.01, 1.0, 0.05);
        let h = -0.5 * dt;
        let mut u = [0.0, 0.0, 0.0];
        let (mut x, mut y) = (0.0, 0.0);
        let theta = 2.0 * (h.abs() * bz).atan();
        let steps_per_turn = 2.0 * std::f64::consts::PI / theta;
        let turns = 50.0;
        let n = (turns * steps_per_turn).round() as usize;
        for _ in 0..n {
            u = boris(u, [0.0, ey, 0.0], [0.0, 0.0, bz], h);
            let g = gamma(u);
            x += dt * u[0] / g;
            y += dt * u[1] / g;
        }
        let t = n as f64 * dt;
        let vx = x / t;
        // Residual gyration over a fraction of a turn: ~ r_L / T = v_E/(2 pi turns).
        let tol = 0.01 / (2.0 * std::f64::consts::PI * turns) * 2.0;
        assert!((vx - ey / bz).abs() < tol, "drift {vx} vs {}", ey / bz);
        assert!((y / t).abs() < tol, "no drift along E: {}", y / t);
    }

    #[test]
    fn pure_electric_kick_matches_relativistic_momentum_gain() {
        // With B = 0, u grows by exactly q E dt per step whatever gamma is.
        let mut u = [0.0; 3];
        for _ in 0..100 {
            u = boris(u, [0.5, 0.0, 0.0], [0.0; 3], -0.5 * 0.1);
        }
        assert!((u[0] + 5.0).abs() < 1e-12);
        assert!((kinetic(u) - (gamma(u) - 1.0)).abs() < 1e-12);
    }
}
