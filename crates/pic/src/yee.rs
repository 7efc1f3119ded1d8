//! Yee finite-difference time-domain Maxwell solver in 2D (no variation
//! along z), normalised units: `dB/dt = -curl E`, `dE/dt = curl B - J`.
//!
//! Yee, IEEE Trans. Antennas Propag. 14 (1966) 302; Taflove & Hagness,
//! *Computational Electrodynamics* (2005), chapter 3. Staggering as in
//! [`crate::grid`]. Stable for `c dt sqrt(1/dx^2 + 1/dy^2) < 1`; the
//! numerical dispersion relation of vacuum waves is
//! `(sin(omega dt / 2) / dt)^2 = (sin(k_x dx / 2) / dx)^2 + (sin(k_y dy / 2) / dy)^2`.

// Stencil loops index several arrays with the same offsets.
#![allow(clippy::needless_range_loop)]

use crate::grid::Grid;

/// The six field components, the current and the charge (all padded).
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    /// `E_x` at `(i+1/2, j)` (em) or the nodes (es, momentum scheme).
    pub ex: Vec<f64>,
    /// `E_y` at `(i, j+1/2)` (em) or the nodes (es, momentum scheme).
    pub ey: Vec<f64>,
    /// `E_z` at `(i, j)`.
    pub ez: Vec<f64>,
    /// `B_x` at `(i, j+1/2)`.
    pub bx: Vec<f64>,
    /// `B_y` at `(i+1/2, j)`.
    pub by: Vec<f64>,
    /// `B_z` at `(i+1/2, j+1/2)`.
    pub bz: Vec<f64>,
    /// `J_x` with `E_x`.
    pub jx: Vec<f64>,
    /// `J_y` with `E_y`.
    pub jy: Vec<f64>,
    /// `J_z` with `E_z`.
    pub jz: Vec<f64>,
    /// Charge density on the nodes (es: the source of the last solve).
    pub rho: Vec<f64>,
    /// Electrostatic potential on the nodes (es).
    pub phi: Vec<f64>,
}

impl Fields {
    /// All zero.
    pub fn zeros(grid: &Grid) -> Self {
        let z = grid.zeros();
        Self {
            ex: z.clone(),
            ey: z.clone(),
            ez: z.clone(),
            bx: z.clone(),
            by: z.clone(),
            bz: z.clone(),
            jx: z.clone(),
            jy: z.clone(),
            jz: z.clone(),
            rho: z.clone(),
            phi: z,
        }
    }
}

/// `c dt sqrt(1/dx^2 + 1/dy^2)`: the Yee scheme is stable below one.
pub fn courant_number(grid: &Grid, dt: f64) -> f64 {
    dt * (1.0 / (grid.dx * grid.dx) + 1.0 / (grid.dy * grid.dy)).sqrt()
}

/// Frequency of a vacuum wave of wave-vector `(kx, ky)` on the Yee grid
/// (the numerical dispersion relation above).
pub fn vacuum_frequency(grid: &Grid, dt: f64, kx: f64, ky: f64) -> f64 {
    let sx = (0.5 * kx * grid.dx).sin() / grid.dx;
    let sy = (0.5 * ky * grid.dy).sin() / grid.dy;
    2.0 / dt * (dt * (sx * sx + sy * sy).sqrt()).asin()
}

/// `B -= tau curl E` (guards of `E` filled on entry; those of `B` on exit).
pub fn advance_b(grid: &Grid, f: &mut Fields, tau: f64) {
    let s = grid.stride();
    let (cx, cy) = (tau / grid.dx, tau / grid.dy);
    for i in 0..grid.nx {
        let k0 = grid.idx(i, 0);
        for k in k0..k0 + grid.ny {
            // Bx(i, j+1/2) -= tau dEz/dy; By(i+1/2, j) += tau dEz/dx;
            // Bz(i+1/2, j+1/2) -= tau (dEy/dx - dEx/dy).
            f.bx[k] -= cy * (f.ez[k + 1] - f.ez[k]);
            f.by[k] += cx * (f.ez[k + s] - f.ez[k]);
            f.bz[k] -= cx * (f.ey[k + s] - f.ey[k]) - cy * (f.ex[k + 1] - f.ex[k]);
        }
    }
    grid.fill_guards(&mut f.bx);
    grid.fill_guards(&mut f.by);
    grid.fill_guards(&mut f.bz);
}

/// `E += tau (curl B - J)` (guards of `B` filled on entry; those of `E` on exit).
pub fn advance_e(grid: &Grid, f: &mut Fields, tau: f64) {
    let s = grid.stride();
    let (cx, cy) = (tau / grid.dx, tau / grid.dy);
    for i in 0..grid.nx {
        let k0 = grid.idx(i, 0);
        for k in k0..k0 + grid.ny {
            // Ex(i+1/2, j) += tau dBz/dy; Ey(i, j+1/2) -= tau dBz/dx;
            // Ez(i, j) += tau (dBy/dx - dBx/dy).
            f.ex[k] += cy * (f.bz[k] - f.bz[k - 1]) - tau * f.jx[k];
            f.ey[k] -= cx * (f.bz[k] - f.bz[k - s]) + tau * f.jy[k];
            f.ez[k] += cx * (f.by[k] - f.by[k - s]) - cy * (f.bx[k] - f.bx[k - 1]) - tau * f.jz[k];
        }
    }
    grid.fill_guards(&mut f.ex);
    grid.fill_guards(&mut f.ey);
    grid.fill_guards(&mut f.ez);
}

/// `E = -grad phi` onto the Yee positions: `E_x(i+1/2, j) = -(phi_{i+1,j} - phi_{i,j}) / dx`, ...
pub fn staggered_gradient(grid: &Grid, phi: &[f64], ex: &mut [f64], ey: &mut [f64]) {
    let s = grid.stride();
    for i in 0..grid.nx {
        let k0 = grid.idx(i, 0);
        for k in k0..k0 + grid.ny {
            ex[k] = -(phi[k + s] - phi[k]) / grid.dx;
            ey[k] = -(phi[k + 1] - phi[k]) / grid.dy;
        }
    }
    grid.fill_guards(ex);
    grid.fill_guards(ey);
}

/// `E = -grad phi` on the nodes by centred differences.
pub fn centred_gradient(grid: &Grid, phi: &[f64], ex: &mut [f64], ey: &mut [f64]) {
    let s = grid.stride();
    for i in 0..grid.nx {
        let k0 = grid.idx(i, 0);
        for k in k0..k0 + grid.ny {
            ex[k] = -(phi[k + s] - phi[k - s]) / (2.0 * grid.dx);
            ey[k] = -(phi[k + 1] - phi[k - 1]) / (2.0 * grid.dy);
        }
    }
    grid.fill_guards(ex);
    grid.fill_guards(ey);
}

/// Largest `|div E - rho|` over the nodes, with `E` on the Yee positions.
pub fn gauss_residual(grid: &Grid, f: &Fields, rho: &[f64]) -> f64 {
    let s = grid.stride();
    let mut worst: f64 = 0.0;
    for i in 0..grid.nx {
        let k0 = grid.idx(i, 0);
        for k in k0..k0 + grid.ny {
            let div = (f.ex[k] - f.ex[k - s]) / grid.dx + (f.ey[k] - f.ey[k - 1]) / grid.dy;
            worst = worst.max((div - rho[k]).abs());
        }
    }
    worst
}
