//! The Fokker-Planck operator on a velocity grid, in two discretisations.
//!
//! ```text
//! df/dt = - d_i (A_i f) + 1/2 d_i d_j (D_ij f),   i, j in {x, y},  D symmetric
//! ```
//!
//! Parameters are the five coefficient fields `A_x, A_y, D_xx, D_yy, D_xy` in
//! grid units (`A / dv`, `D / dv^2`, see [`collop_core::FpFields::to_grid_units`]),
//! concatenated in that order, each row-major over the grid, and repeated
//! for every time slot: `theta[(slot * 5 + field) * n + cell]`.
//!
//! **Reference scheme** ([`Scheme::Reference`]): the discretisation of
//! Carvalho et al. (arXiv 2601.10885), reproduced exactly so that errors are
//! comparable with their code: form `A_i f` and `D_ij f` at cell centres,
//! first derivatives central `(g[i+1] - g[i-1]) / 2`, second derivatives
//! `g[i+1] - 2 g[i] + g[i-1]`, the mixed term as nested central differences
//! `2 d_x d_y (D_xy f)` (halved by the 1/2 of the equation). Edges either
//! with one zero guard cell ([`Edges::Guard`]) or one-sided
//! ([`Edges::OneSided`]: second-order one-sided first derivative
//! `(-3 g0 + 4 g1 - g2) / 2`, four-point second derivative
//! `2 g0 - 5 g1 + 4 g2 - g3`; the reference trains with these).
//!
//! **Conservative scheme** ([`Scheme::Conservative`]): finite volumes. The
//! equation is `df/dt = -d_i Gamma_i` with the flux
//! `Gamma_i = A_i f - 1/2 d_j (D_ij f)`, evaluated on cell faces:
//! `Gamma_x(i+1/2, j) = [(A_x f)_i + (A_x f)_{i+1}] / 2 - [(D_xx f)_{i+1} - (D_xx f)_i] / 2
//! - [d_y (D_xy f)_i + d_y (D_xy f)_{i+1}] / 4` with central `d_y`, zero
//! flux through the outer faces. Every flux leaves one cell and enters its
//! neighbour, so `sum f` is conserved to round-off; the scheme is second
//! order in `dv`.

use collop_core::VelocityGrid;

use crate::FpError;
use crate::operator::Operator;
use crate::stencil::{LinearAssembly, Pattern};

/// Index of each field inside one slot of parameters.
pub mod field {
    /// Drift along `v_x`.
    pub const A_X: usize = 0;
    /// Drift along `v_y`.
    pub const A_Y: usize = 1;
    /// Diffusion `D_xx`.
    pub const D_XX: usize = 2;
    /// Diffusion `D_yy`.
    pub const D_YY: usize = 3;
    /// Diffusion `D_xy`.
    pub const D_XY: usize = 4;
}

/// Edge treatment of the reference scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Edges {
    /// One zero guard cell outside the grid, central differences everywhere.
    Guard,
    /// Second-order one-sided differences at the outer cells (needs >= 4 cells per axis).
    OneSided,
}

/// Discretisation of the Fokker-Planck operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// The reference finite-difference scheme (see the module docs).
    Reference(Edges),
    /// Finite-volume fluxes with zero-flux outer faces; conserves density.
    Conservative,
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scheme::Reference(Edges::Guard) => write!(f, "reference (guard cells)"),
            Scheme::Reference(Edges::OneSided) => write!(f, "reference (one-sided edges)"),
            Scheme::Conservative => write!(f, "conservative"),
        }
    }
}

/// Sparse 1D difference operator: entries `(row, col, weight)`.
type Op1d = Vec<(usize, usize, f64)>;

/// First derivative (unit spacing) on `n` points.
fn first_derivative(n: usize, edges: Edges) -> Op1d {
    let mut d = Vec::new();
    for i in 0..n {
        let one_sided = edges == Edges::OneSided;
        if one_sided && i == 0 {
            d.extend([(0, 0, -1.5), (0, 1, 2.0), (0, 2, -0.5)]);
        } else if one_sided && i == n - 1 {
            d.extend([(i, i, 1.5), (i, i - 1, -2.0), (i, i - 2, 0.5)]);
        } else {
            if i + 1 < n {
                d.push((i, i + 1, 0.5));
            }
            if i >= 1 {
                d.push((i, i - 1, -0.5));
            }
        }
    }
    d
}

/// Second derivative (unit spacing) on `n` points.
fn second_derivative(n: usize, edges: Edges) -> Op1d {
    let mut d = Vec::new();
    for i in 0..n {
        let one_sided = edges == Edges::OneSided;
        if one_sided && i == 0 {
            d.extend([(0, 0, 2.0), (0, 1, -5.0), (0, 2, 4.0), (0, 3, -1.0)]);
        } else if one_sided && i == n - 1 {
            d.extend([(i, i, 2.0), (i, i - 1, -5.0), (i, i - 2, 4.0), (i, i - 3, -1.0)]);
        } else {
            d.push((i, i, -2.0));
            if i + 1 < n {
                d.push((i, i + 1, 1.0));
            }
            if i >= 1 {
                d.push((i, i - 1, 1.0));
            }
        }
    }
    d
}

/// Contributions `(row, col, field, weight)` of the reference scheme for one slot.
fn reference_terms(grid: &VelocityGrid, edges: Edges) -> Vec<(usize, usize, usize, f64)> {
    let (nx, ny) = grid.shape();
    let (d1x, d1y) = (first_derivative(nx, edges), first_derivative(ny, edges));
    let (d2x, d2y) = (second_derivative(nx, edges), second_derivative(ny, edges));
    let idx = |i: usize, j: usize| i * ny + j;
    let mut t = Vec::new();
    for j in 0..ny {
        for &(i, ic, w) in &d1x {
            t.push((idx(i, j), idx(ic, j), field::A_X, -w));
        }
        for &(i, ic, w) in &d2x {
            t.push((idx(i, j), idx(ic, j), field::D_XX, 0.5 * w));
        }
    }
    for i in 0..nx {
        for &(j, jc, w) in &d1y {
            t.push((idx(i, j), idx(i, jc), field::A_Y, -w));
        }
        for &(j, jc, w) in &d2y {
            t.push((idx(i, j), idx(i, jc), field::D_YY, 0.5 * w));
        }
    }
    // 1/2 * 2 d_x d_y (D_xy f): tensor product of the two first derivatives.
    for &(i, ic, wx) in &d1x {
        for &(j, jc, wy) in &d1y {
            t.push((idx(i, j), idx(ic, jc), field::D_XY, wx * wy));
        }
    }
    t
}

/// Contributions of the conservative finite-volume scheme for one slot.
fn conservative_terms(grid: &VelocityGrid) -> Vec<(usize, usize, usize, f64)> {
    let (nx, ny) = grid.shape();
    let idx = |i: usize, j: usize| i * ny + j;
    let mut t = Vec::new();
    // A face flux Gamma = sum_k s_k (field_k f)(cell_k) leaves `lo` and enters `hi`.
    let mut face = |lo: usize, hi: usize, flux: &[(usize, usize, f64)]| {
        for &(c, fld, s) in flux {
            t.push((lo, c, fld, -s));
            t.push((hi, c, fld, s));
        }
    };
    let mut flux = Vec::with_capacity(8);
    for i in 0..nx.saturating_sub(1) {
        for j in 0..ny {
            flux.clear();
            let (a, b) = (idx(i, j), idx(i + 1, j));
            flux.extend([
                (a, field::A_X, 0.5),
                (b, field::A_X, 0.5),
                (b, field::D_XX, -0.5),
                (a, field::D_XX, 0.5),
            ]);
            // -1/2 d_y(D_xy f) at the face: mean of the central differences in the two cells.
            for ii in [i, i + 1] {
                if j + 1 < ny {
                    flux.push((idx(ii, j + 1), field::D_XY, -0.125));
                }
                if j >= 1 {
                    flux.push((idx(ii, j - 1), field::D_XY, 0.125));
                }
            }
            face(a, b, &flux);
        }
    }
    for i in 0..nx {
        for j in 0..ny.saturating_sub(1) {
            flux.clear();
            let (a, b) = (idx(i, j), idx(i, j + 1));
            flux.extend([
                (a, field::A_Y, 0.5),
                (b, field::A_Y, 0.5),
                (b, field::D_YY, -0.5),
                (a, field::D_YY, 0.5),
            ]);
            for jj in [j, j + 1] {
                if i + 1 < nx {
                    flux.push((idx(i + 1, jj), field::D_XY, -0.125));
                }
                if i >= 1 {
                    flux.push((idx(i - 1, jj), field::D_XY, 0.125));
                }
            }
            face(a, b, &flux);
        }
    }
    t
}

/// The Fokker-Planck operator with free coefficient fields on the grid.
#[derive(Debug, Clone)]
pub struct FokkerPlanck {
    grid: VelocityGrid,
    scheme: Scheme,
    n_slots: usize,
    clamp_diffusion: bool,
    assembly: LinearAssembly,
}

impl FokkerPlanck {
    /// A time-independent operator (one slot of five fields).
    pub fn new(grid: VelocityGrid, scheme: Scheme) -> Result<Self, FpError> {
        Self::with_slots(grid, scheme, 1)
    }

    /// An operator with `n_slots` sets of fields; dump step `s` uses slot
    /// `min(s, n_slots - 1)`.
    pub fn with_slots(grid: VelocityGrid, scheme: Scheme, n_slots: usize) -> Result<Self, FpError> {
        if n_slots == 0 {
            return Err(FpError::Invalid("a Fokker-Planck operator needs at least one time slot".into()));
        }
        if let Scheme::Reference(Edges::OneSided) = scheme
            && (grid.nx < 4 || grid.ny < 4)
        {
            return Err(FpError::GridTooSmall(format!(
                "one-sided edges use four-point stencils and need at least 4 cells per axis; the grid is \
                 {} x {}: use guard-cell edges or a finer grid",
                grid.nx, grid.ny
            )));
        }
        let n = grid.len();
        let terms = match scheme {
            Scheme::Reference(edges) => reference_terms(&grid, edges),
            Scheme::Conservative => conservative_terms(&grid),
        };
        let assembly =
            LinearAssembly::build(n, 5 * n, terms.into_iter().map(|(r, c, f, w)| (r, c, f * n + c, w)));
        Ok(Self { grid, scheme, n_slots, clamp_diffusion: false, assembly })
    }

    /// Clamp `D_xx, D_yy >= 0` before use (the reference's optional clamp for
    /// rollouts); the gradient is masked accordingly.
    pub fn with_diffusion_clamp(mut self, on: bool) -> Self {
        self.clamp_diffusion = on;
        self
    }

    /// The discretisation.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Parameters per slot (`5 * nx * ny`).
    pub fn params_per_slot(&self) -> usize {
        5 * self.grid.len()
    }

    #[inline]
    fn is_clamped_param(&self, p: usize) -> bool {
        let n = self.grid.len();
        self.clamp_diffusion && (field::D_XX * n..(field::D_YY + 1) * n).contains(&p)
    }
}

impl Operator for FokkerPlanck {
    fn grid(&self) -> &VelocityGrid {
        &self.grid
    }

    fn nparams(&self) -> usize {
        self.n_slots * self.params_per_slot()
    }

    fn n_slots(&self) -> usize {
        self.n_slots
    }

    fn pattern(&self) -> &Pattern {
        self.assembly.pattern()
    }

    fn assemble(&self, theta: &[f64], slot: usize, values: &mut [f64]) {
        let per = self.params_per_slot();
        let th = &theta[slot * per..(slot + 1) * per];
        self.assembly.assemble_mapped(
            th,
            values,
            |p, v| if self.is_clamped_param(p) && v < 0.0 { 0.0 } else { v },
        );
    }

    fn assemble_vjp(&self, theta: &[f64], slot: usize, dvalues: &[f64], dtheta: &mut [f64]) {
        let per = self.params_per_slot();
        let th = &theta[slot * per..(slot + 1) * per];
        let dth = &mut dtheta[slot * per..(slot + 1) * per];
        // d max(D, 0)/dD = 1 for D >= 0, 0 below (torch.clamp's convention).
        self.assembly
            .vjp_mapped(dvalues, dth, |p| if self.is_clamped_param(p) && th[p] < 0.0 { 0.0 } else { 1.0 });
    }

    fn linear_assembly(&self) -> Option<&LinearAssembly> {
        // The clamp D >= 0 is not linear.
        (!self.clamp_diffusion).then_some(&self.assembly)
    }

    fn conserves_density(&self) -> bool {
        self.scheme == Scheme::Conservative
    }

    fn describe(&self) -> String {
        format!(
            "Fokker-Planck, {} scheme, {} time slot(s){}",
            self.scheme,
            self.n_slots,
            if self.clamp_diffusion { ", D_xx, D_yy >= 0" } else { "" }
        )
    }
}
