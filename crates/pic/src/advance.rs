//! The particle hot loops: gather, push, move and deposit fused in one pass
//! over a contiguous chunk of particles, one chunk per thread, each
//! depositing into its own guard-padded buffer.
//!
//! Positions are in cell units; `row(i, j)` is the padded index of node
//! `(i, j)` (see [`crate::grid`]). Fixed-size weight arrays and
//! monomorphised shape orders let the compiler unroll every stencil loop;
//! nothing here allocates.

// Stencil loops index several arrays with the same offsets.
#![allow(clippy::needless_range_loop)]

use crate::grid::GUARD;
use crate::push::{boris, kinetic};
use crate::shape::{MAX_W, weights};

/// The particles of one chunk.
pub(crate) struct Chunk<'a> {
    pub x: &'a mut [f64],
    pub y: &'a mut [f64],
    pub ux: &'a mut [f64],
    pub uy: &'a mut [f64],
    pub uz: &'a mut [f64],
}

/// Per-species constants of the push.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Coeffs {
    /// `q dt / (2 m)`.
    pub h: f64,
    /// `dt / dx`, `dt / dy`: displacement in cells per unit velocity.
    pub dtx: f64,
    pub dty: f64,
    /// Esirkepov factors `-q w dx / dt`, `-q w dy / dt`, and `q w` (for `J_z = q w v_z W_z`).
    pub jx: f64,
    pub jy: f64,
    pub jz: f64,
    /// Charge weight `q w` for the charge deposit.
    pub qw: f64,
    /// Box size in cells.
    pub nx: f64,
    pub ny: f64,
    /// External uniform magnetic field.
    pub b0: [f64; 3],
}

/// Electromagnetic fields at time `n` (padded, guards filled).
pub(crate) struct EmFields<'a> {
    pub ex: &'a [f64],
    pub ey: &'a [f64],
    pub ez: &'a [f64],
    pub bx: &'a [f64],
    pub by: &'a [f64],
    pub bz: &'a [f64],
    pub stride: usize,
}

/// A chunk's deposit buffers (padded).
pub(crate) struct Sources<'a> {
    pub jx: &'a mut [f64],
    pub jy: &'a mut [f64],
    pub jz: &'a mut [f64],
}

#[inline(always)]
fn row(stride: usize, i: isize, j: isize) -> usize {
    (i + GUARD as isize) as usize * stride + (j + GUARD as isize) as usize
}

/// Periodic wrap of a position in cells into `[0, n)`.
#[inline(always)]
pub(crate) fn wrap(x: f64, n: f64) -> f64 {
    let mut x = x;
    if x < 0.0 {
        x += n;
    }
    // Also catches `-tiny + n == n` after rounding.
    if x >= n {
        x -= n;
    }
    if !(0.0..n).contains(&x) {
        x = x.rem_euclid(n);
        if x >= n {
            x = 0.0;
        }
    }
    x
}

/// Gather a field with separable weights `sx[0..=O] x sy[0..=O]` starting at node `(i, j)`.
#[inline(always)]
fn gather2<const O: usize, A: Fma>(
    s: usize,
    f: &[f64],
    g: &[f64],
    i: isize,
    j: isize,
    sx: &[f64; MAX_W],
    sy: &[f64; MAX_W],
) -> (f64, f64) {
    let (mut a, mut b) = (0.0, 0.0);
    for p in 0..=O {
        let r = row(s, i + p as isize, j);
        let (fr, gr) = (&f[r..r + O + 1], &g[r..r + O + 1]);
        let (mut ta, mut tb) = (0.0, 0.0);
        for q in 0..=O {
            ta = A::fma(sy[q], fr[q], ta);
            tb = A::fma(sy[q], gr[q], tb);
        }
        a = A::fma(sx[p], ta, a);
        b = A::fma(sx[p], tb, b);
    }
    (a, b)
}

#[inline(always)]
fn gather1<const O: usize, A: Fma>(
    s: usize,
    f: &[f64],
    i: isize,
    j: isize,
    sx: &[f64; MAX_W],
    sy: &[f64; MAX_W],
) -> f64 {
    let mut a = 0.0;
    for p in 0..=O {
        let r = row(s, i + p as isize, j);
        let fr = &f[r..r + O + 1];
        let mut t = 0.0;
        for q in 0..=O {
            t = A::fma(sy[q], fr[q], t);
        }
        a = A::fma(sx[p], t, a);
    }
    a
}

/// Place the `O + 1` weights of two shapes in a common window of `O + 2`
/// nodes starting at the lower of their first nodes; returns the window
/// start, `DS = S1 - S0`, the mean `(S0 + S1) / 2` and the running sum of `DS`.
#[inline(always)]
fn esirkepov_window<const O: usize>(
    i0: isize,
    s0: &[f64; MAX_W],
    i1: isize,
    s1: &[f64; MAX_W],
) -> (isize, [f64; MAX_W], [f64; MAX_W], [f64; MAX_W]) {
    let base = i0.min(i1);
    // The offsets are 0 or 1: shift by arithmetic selection rather than
    // by indexed stores, which would stall store-to-load forwarding.
    let (h0, h1) = ((i0 - base) as f64, (i1 - base) as f64);
    let (mut a0, mut a1) = ([0.0; MAX_W], [0.0; MAX_W]);
    for m in 0..O + 2 {
        let (p0, p1) = if m == 0 { (0.0, 0.0) } else { (s0[m - 1], s1[m - 1]) };
        let (c0, c1) = if m <= O { (s0[m], s1[m]) } else { (0.0, 0.0) };
        a0[m] = c0 + h0 * (p0 - c0);
        a1[m] = c1 + h1 * (p1 - c1);
    }
    let (mut ds, mut mean, mut cum) = ([0.0; MAX_W], [0.0; MAX_W], [0.0; MAX_W]);
    let mut c = 0.0;
    for m in 0..O + 2 {
        ds[m] = a1[m] - a0[m];
        mean[m] = 0.5 * (a0[m] + a1[m]);
        c += ds[m];
        cum[m] = c;
    }
    (base, ds, mean, cum)
}

/// `DS`, mean and running sum of `DS` when both shapes start at the same node.
#[inline(always)]
fn same_window<const O: usize>(
    s0: &[f64; MAX_W],
    s1: &[f64; MAX_W],
) -> ([f64; MAX_W], [f64; MAX_W], [f64; MAX_W]) {
    let (mut ds, mut mean, mut cum) = ([0.0; MAX_W], [0.0; MAX_W], [0.0; MAX_W]);
    let mut c = 0.0;
    for m in 0..=O {
        ds[m] = s1[m] - s0[m];
        mean[m] = 0.5 * (s0[m] + s1[m]);
        c += ds[m];
        cum[m] = c;
    }
    (ds, mean, cum)
}

/// An Esirkepov window: first node, `DS`, mean shape and running sum of `DS` per axis.
struct Window {
    bx: isize,
    by: isize,
    dsx: [f64; MAX_W],
    dsy: [f64; MAX_W],
    mx: [f64; MAX_W],
    my: [f64; MAX_W],
    cx: [f64; MAX_W],
    cy: [f64; MAX_W],
}

/// Add the Esirkepov currents of one particle over a `w x w` window
/// (`J_x` needs `w - 1` rows, `J_y` `w - 1` columns: the running sums end at zero).
#[inline(always)]
fn scatter_current<A: Fma>(w: usize, s: usize, win: &Window, k: &Coeffs, fz: f64, src: &mut Sources<'_>) {
    for a in 0..w - 1 {
        let r = row(s, win.bx + a as isize, win.by);
        let ca = k.jx * win.cx[a];
        let jr = &mut src.jx[r..r + w];
        for b in 0..w {
            jr[b] = A::fma(ca, win.my[b], jr[b]);
        }
    }
    for a in 0..w {
        let r = row(s, win.bx + a as isize, win.by);
        let ca = k.jy * win.mx[a];
        let jr = &mut src.jy[r..r + w - 1];
        for b in 0..w - 1 {
            jr[b] = A::fma(ca, win.cy[b], jr[b]);
        }
    }
    for a in 0..w {
        let r = row(s, win.bx + a as isize, win.by);
        let (ta, da) = (fz * win.mx[a], fz * win.dsx[a] * (1.0 / 12.0));
        let jr = &mut src.jz[r..r + w];
        for b in 0..w {
            jr[b] = A::fma(ta, win.my[b], A::fma(da, win.dsy[b], jr[b]));
        }
    }
}

/// Electromagnetic step of a chunk: gather `E^n, B^n` at `x^n` (each
/// component with the deposit's B-spline evaluated at its own Yee position,
/// as OSIRIS does: neither exactly energy- nor momentum-conserving, with
/// charge conserved exactly by the deposit), Boris push
/// `u^{n-1/2} -> u^{n+1/2}`, move `x^{n+1} = x^n + dt u / gamma`, and deposit
/// `J^{n+1/2}` by Esirkepov's charge-conserving scheme.
///
/// Esirkepov, Comput. Phys. Commun. 135 (2001) 144, eqs. (23)-(31) in 2D3V:
/// with `S0`, `S1` the shapes at the old and new positions and `DS = S1 - S0`,
///
/// ```text
/// W^x_ij = DSx_i (S0y_j + DSy_j / 2),    J^x_{i+1/2,j} - J^x_{i-1/2,j} = -q w (dx/dt) W^x_ij
/// W^y_ij = DSy_j (S0x_i + DSx_i / 2),    J^y_{i,j+1/2} - J^y_{i,j-1/2} = -q w (dy/dt) W^y_ij
/// W^z_ij = S0x S0y + DSx S0y / 2 + S0x DSy / 2 + DSx DSy / 3,   J^z_ij = q w v_z W^z_ij
/// ```
///
/// which we evaluate in separable form: `S0y + DSy/2 = (S0y + S1y)/2 =: My`,
/// so `J^x` is `-q w dx/dt (cumsum DSx)_i My_j`, and
/// `W^z = Mx My + DSx DSy / 12`. `sum W^x + W^y = S1x S1y - S0x S0y`, hence the
/// discrete continuity equation and Gauss's law hold to round-off.
///
/// Returns the summed `(gamma - 1)` at time `n` (mean of `n - 1/2` and
/// `n + 1/2`) when `KE` is set, else 0.
#[inline(always)]
pub(crate) fn advance_em<const O: usize, const KE: bool, A: Fma>(
    c: Chunk<'_>,
    f: &EmFields<'_>,
    k: &Coeffs,
    mut src: Sources<'_>,
) -> f64 {
    let s = f.stride;
    let n = c.x.len();
    let mut ke = [0.0; BLOCK];
    // Block workspaces, overwritten block after block.
    let mut e = [[0.0; BLOCK]; 3];
    let mut b = [[0.0; BLOCK]; 3];
    let mut x1 = [0.0; BLOCK];
    let mut y1 = [0.0; BLOCK];
    let mut vz = [0.0; BLOCK];
    let mut i0 = [[0isize; 2]; BLOCK];
    let mut s0 = [[[0.0; MAX_W]; 2]; BLOCK];
    let mut start = 0;
    while start < n {
        let m = (n - start).min(BLOCK);
        let (xs, ys) = (&mut c.x[start..start + m], &mut c.y[start..start + m]);
        let (uxs, uys, uzs) =
            (&mut c.ux[start..start + m], &mut c.uy[start..start + m], &mut c.uz[start..start + m]);
        // Phase 1: gather; keep the node shapes at x^n for the deposit.
        for q in 0..m {
            let (x, y) = (xs[q], ys[q]);
            let (ixn, sxn) = weights::<O>(x);
            let (ixh, sxh) = weights::<O>(x - 0.5);
            let (iyn, syn) = weights::<O>(y);
            let (iyh, syh) = weights::<O>(y - 0.5);
            // Ex and By live at (i+1/2, j), Ey and Bx at (i, j+1/2).
            let (ex, by) = gather2::<O, A>(s, f.ex, f.by, ixh, iyn, &sxh, &syn);
            let (ey, bx) = gather2::<O, A>(s, f.ey, f.bx, ixn, iyh, &sxn, &syh);
            let ez = gather1::<O, A>(s, f.ez, ixn, iyn, &sxn, &syn);
            let bz = gather1::<O, A>(s, f.bz, ixh, iyh, &sxh, &syh);
            e[0][q] = ex;
            e[1][q] = ey;
            e[2][q] = ez;
            b[0][q] = bx + k.b0[0];
            b[1][q] = by + k.b0[1];
            b[2][q] = bz + k.b0[2];
            i0[q] = [ixn, iyn];
            s0[q] = [sxn, syn];
        }
        // Phase 2: push and move, independent across particles (pipelines
        // the square roots and divisions instead of chaining them).
        push_block::<KE>(m, k, &e, &b, xs, ys, uxs, uys, uzs, &mut x1, &mut y1, &mut vz, &mut ke);
        // Phase 3: Esirkepov deposit from x^n to x^{n+1}, then wrap. The
        // shapes at x^n are recomputed: cheaper than keeping them.
        for q in 0..m {
            let [ix0, iy0] = i0[q];
            let [sx0, sy0] = s0[q];
            let (ix1, sx1) = weights::<O>(x1[q]);
            let (iy1, sy1) = weights::<O>(y1[q]);
            let fz = k.jz * vz[q];
            if ix0 == ix1 && iy0 == iy1 {
                // Most particles stay in their cell: a window of O + 1 nodes.
                let (dsx, mx, cx) = same_window::<O>(&sx0, &sx1);
                let (dsy, my, cy) = same_window::<O>(&sy0, &sy1);
                let win = Window { bx: ix0, by: iy0, dsx, dsy, mx, my, cx, cy };
                scatter_current::<A>(O + 1, s, &win, k, fz, &mut src);
            } else {
                let (bx, dsx, mx, cx) = esirkepov_window::<O>(ix0, &sx0, ix1, &sx1);
                let (by, dsy, my, cy) = esirkepov_window::<O>(iy0, &sy0, iy1, &sy1);
                let win = Window { bx, by, dsx, dsy, mx, my, cx, cy };
                scatter_current::<A>(O + 2, s, &win, k, fz, &mut src);
            }
            xs[q] = wrap(x1[q], k.nx);
            ys[q] = wrap(y1[q], k.ny);
        }
        start += m;
    }
    ke.iter().sum()
}

/// `a b + c`, fused or not.
pub(crate) trait Fma {
    fn fma(a: f64, b: f64, c: f64) -> f64;
}

/// One rounding: `f64::mul_add`, a single instruction where FMA exists.
pub(crate) struct Fused;

/// Two roundings, for CPUs without FMA (where `mul_add` is a library call).
pub(crate) struct Plain;

impl Fma for Fused {
    #[inline(always)]
    fn fma(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

impl Fma for Plain {
    #[inline(always)]
    fn fma(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

/// Whether this CPU runs the AVX2 + FMA versions of the kernels.
pub(crate) fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`advance_em`] compiled for AVX2 and FMA (wider vectors in the push,
/// fused multiply-adds in gather and deposit).
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`simd_available`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn advance_em_simd<const O: usize, const KE: bool>(
    c: Chunk<'_>,
    f: &EmFields<'_>,
    k: &Coeffs,
    src: Sources<'_>,
) -> f64 {
    advance_em::<O, KE, Fused>(c, f, k, src)
}

/// [`advance_es`] compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`simd_available`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn advance_es_simd<const O: usize, const KE: bool, const ENERGY: bool>(
    c: Chunk<'_>,
    f: &EsFields<'_>,
    k: &Coeffs,
    rho: &mut [f64],
) -> f64 {
    advance_es::<O, KE, ENERGY, Fused>(c, f, k, rho)
}

/// The electromagnetic chunk kernel, in its AVX2 + FMA build when `simd`
/// (which the caller sets from [`simd_available`]). The two builds round
/// differently; a run uses one of them throughout.
#[inline]
pub(crate) fn em<const O: usize, const KE: bool>(
    simd: bool,
    c: Chunk<'_>,
    f: &EmFields<'_>,
    k: &Coeffs,
    src: Sources<'_>,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is only true when `simd_available()` said so.
        return unsafe { advance_em_simd::<O, KE>(c, f, k, src) };
    }
    let _ = simd;
    advance_em::<O, KE, Plain>(c, f, k, src)
}

/// The electrostatic chunk kernel, in its AVX2 + FMA build when `simd`.
#[inline]
pub(crate) fn es<const O: usize, const KE: bool, const ENERGY: bool>(
    simd: bool,
    c: Chunk<'_>,
    f: &EsFields<'_>,
    k: &Coeffs,
    rho: &mut [f64],
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is only true when `simd_available()` said so.
        return unsafe { advance_es_simd::<O, KE, ENERGY>(c, f, k, rho) };
    }
    let _ = simd;
    advance_es::<O, KE, ENERGY, Plain>(c, f, k, rho)
}

/// Particles processed per phase of the hot loops.
const BLOCK: usize = 32;

/// Boris push and move of a block: `u^{n+1/2}` written back, the new
/// (unwrapped) positions and `v_z` returned, `(gamma - 1)` at time `n`
/// accumulated lane by lane into `ke` when `KE` is set.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn push_block<const KE: bool>(
    m: usize,
    k: &Coeffs,
    e: &[[f64; BLOCK]; 3],
    b: &[[f64; BLOCK]; 3],
    xs: &[f64],
    ys: &[f64],
    uxs: &mut [f64],
    uys: &mut [f64],
    uzs: &mut [f64],
    x1: &mut [f64; BLOCK],
    y1: &mut [f64; BLOCK],
    vz: &mut [f64; BLOCK],
    ke: &mut [f64; BLOCK],
) {
    let (xs, ys) = (&xs[..m], &ys[..m]);
    let (uxs, uys, uzs) = (&mut uxs[..m], &mut uys[..m], &mut uzs[..m]);
    for q in 0..m {
        let u0 = [uxs[q], uys[q], uzs[q]];
        let u = boris(u0, [e[0][q], e[1][q], e[2][q]], [b[0][q], b[1][q], b[2][q]], k.h);
        let u2 = u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
        let g = (1.0 + u2).sqrt();
        if KE {
            ke[q] += 0.5 * (kinetic(u0) + u2 / (g + 1.0));
        }
        let ig = 1.0 / g;
        x1[q] = xs[q] + u[0] * ig * k.dtx;
        y1[q] = ys[q] + u[1] * ig * k.dty;
        vz[q] = u[2] * ig;
        uxs[q] = u[0];
        uys[q] = u[1];
        uzs[q] = u[2];
    }
}

/// Electrostatic fields at time `n` (padded, guards filled).
pub(crate) struct EsFields<'a> {
    pub ex: &'a [f64],
    pub ey: &'a [f64],
    pub stride: usize,
}

/// Shape of one order below `O` (the derivative of the order-`O` shape),
/// used by the energy-conserving electrostatic gather.
#[inline(always)]
fn weights_lower<const O: usize>(x: f64) -> (isize, [f64; MAX_W]) {
    match O {
        1 => weights::<0>(x),
        2 => weights::<1>(x),
        3 => weights::<2>(x),
        4 => weights::<3>(x),
        _ => unreachable!(),
    }
}

/// Electrostatic step of a chunk: gather `E^n` at `x^n`, Boris push (with
/// the external magnetic field only), move, wrap, and deposit the charge
/// `q w S(x^{n+1})` into `rho`.
///
/// `ENERGY = false`: `E` on the nodes, gathered with `S_O x S_O`
/// (momentum-conserving). `ENERGY = true`: `E_x` at `(i+1/2, j)` gathered
/// with `S_{O-1} x S_O`, `E_y` at `(i, j+1/2)` with `S_O x S_{O-1}`
/// (energy-conserving, Lewis 1970).
#[inline(always)]
pub(crate) fn advance_es<const O: usize, const KE: bool, const ENERGY: bool, A: Fma>(
    c: Chunk<'_>,
    f: &EsFields<'_>,
    k: &Coeffs,
    rho: &mut [f64],
) -> f64 {
    let s = f.stride;
    let n = c.x.len();
    let mut ke = [0.0; BLOCK];
    let b = [[k.b0[0]; BLOCK], [k.b0[1]; BLOCK], [k.b0[2]; BLOCK]];
    let mut start = 0;
    while start < n {
        let m = (n - start).min(BLOCK);
        let (xs, ys) = (&mut c.x[start..start + m], &mut c.y[start..start + m]);
        let (uxs, uys, uzs) =
            (&mut c.ux[start..start + m], &mut c.uy[start..start + m], &mut c.uz[start..start + m]);
        let mut e = [[0.0; BLOCK]; 3];
        for q in 0..m {
            let (x, y) = (xs[q], ys[q]);
            let (ex, ey) = if ENERGY {
                let (ixn, sxn) = weights::<O>(x);
                let (iyn, syn) = weights::<O>(y);
                let (ixl, sxl) = weights_lower::<O>(x - 0.5);
                let (iyl, syl) = weights_lower::<O>(y - 0.5);
                (
                    gather_rect::<O, A>(s, f.ex, ixl, iyn, &sxl, &syn, O),
                    gather_rect::<O, A>(s, f.ey, ixn, iyl, &sxn, &syl, O + 1),
                )
            } else {
                let (ixn, sxn) = weights::<O>(x);
                let (iyn, syn) = weights::<O>(y);
                gather2::<O, A>(s, f.ex, f.ey, ixn, iyn, &sxn, &syn)
            };
            e[0][q] = ex;
            e[1][q] = ey;
        }
        let mut x1 = [0.0; BLOCK];
        let mut y1 = [0.0; BLOCK];
        let mut vz = [0.0; BLOCK];
        push_block::<KE>(m, k, &e, &b, xs, ys, uxs, uys, uzs, &mut x1, &mut y1, &mut vz, &mut ke);
        for q in 0..m {
            let (x, y) = (wrap(x1[q], k.nx), wrap(y1[q], k.ny));
            xs[q] = x;
            ys[q] = y;
            let (ix1, sx1) = weights::<O>(x);
            let (iy1, sy1) = weights::<O>(y);
            for a in 0..=O {
                let r = row(s, ix1 + a as isize, iy1);
                let ca = k.qw * sx1[a];
                let rr = &mut rho[r..r + O + 1];
                for bb in 0..=O {
                    rr[bb] = A::fma(ca, sy1[bb], rr[bb]);
                }
            }
        }
        start += m;
    }
    ke.iter().sum()
}

/// Gather with `nx_w` weights of `sx` times `2 O + 1 - nx_w` weights of `sy`
/// (one of the two shapes is of order `O - 1`, with `O` weights).
#[inline(always)]
fn gather_rect<const O: usize, A: Fma>(
    s: usize,
    f: &[f64],
    i: isize,
    j: isize,
    sx: &[f64; MAX_W],
    sy: &[f64; MAX_W],
    nx_w: usize,
) -> f64 {
    let ny_w = 2 * O + 1 - nx_w;
    let mut a = 0.0;
    for p in 0..nx_w {
        let r = row(s, i + p as isize, j);
        let fr = &f[r..r + ny_w];
        let mut t = 0.0;
        for q in 0..ny_w {
            t = A::fma(sy[q], fr[q], t);
        }
        a = A::fma(sx[p], t, a);
    }
    a
}

/// Deposit the charge `q w S(x) S(y)` of the particles onto `rho` (padded).
pub(crate) fn deposit_charge(order: usize, x: &[f64], y: &[f64], qw: f64, stride: usize, rho: &mut [f64]) {
    for (&x, &y) in x.iter().zip(y) {
        let (i, sx) = crate::shape::weights_dyn(order, x);
        let (j, sy) = crate::shape::weights_dyn(order, y);
        for a in 0..=order {
            let r = row(stride, i + a as isize, j);
            for b in 0..=order {
                rho[r + b] += qw * sx[a] * sy[b];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_is_periodic_and_in_range() {
        assert_eq!(wrap(-0.25, 8.0), 7.75);
        assert_eq!(wrap(8.25, 8.0), 0.25);
        assert_eq!(wrap(-1e-18, 8.0), 0.0);
        assert_eq!(wrap(-17.5, 8.0), 6.5);
        assert_eq!(wrap(3.0, 8.0), 3.0);
    }
}
