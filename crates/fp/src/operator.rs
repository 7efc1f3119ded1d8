//! The operator abstraction: a parametrised collision operator, linear in `f`.

use collop_core::VelocityGrid;

use crate::FpError;
use crate::stencil::{LinearAssembly, Pattern, spmv, spmv_vjp};

/// A parametrised collision operator `df/dt = C_theta(t) f`, linear in `f`.
///
/// `C` is a sparse matrix on the cells of [`Operator::grid`] with a fixed
/// [`Pattern`]; its entries are produced from the parameters `theta` by
/// [`Operator::assemble`], and [`Operator::assemble_vjp`] is the exact
/// transpose of that map's derivative. Time dependence enters through slots:
/// dump step `s` (counted from the first frame of a dataset) uses the
/// parameters of slot [`Operator::slot`]`(s)`.
///
/// The forward product [`Operator::apply`] and its vector-Jacobian product
/// [`Operator::vjp`] follow from these; the batched rollouts of
/// [`crate::rollout`] use the assembled matrix directly.
pub trait Operator: Sync {
    /// The velocity grid.
    fn grid(&self) -> &VelocityGrid;

    /// Total number of parameters (all time slots).
    fn nparams(&self) -> usize;

    /// Number of time slots (1 for a time-independent operator).
    fn n_slots(&self) -> usize {
        1
    }

    /// The slot used at dump step `step`: the step's own slot, the last one
    /// beyond the end.
    fn slot(&self, step: usize) -> usize {
        step.min(self.n_slots() - 1)
    }

    /// Sparsity of `C`, the same for every slot.
    fn pattern(&self) -> &Pattern;

    /// Write the entries of `C` for `slot` into `values` (length
    /// `pattern().nnz()`), overwriting every entry: callers may pass a
    /// buffer holding an earlier matrix.
    fn assemble(&self, theta: &[f64], slot: usize, values: &mut [f64]);

    /// Accumulate `dtheta += (d values / d theta)^T dvalues` for `slot`.
    fn assemble_vjp(&self, theta: &[f64], slot: usize, dvalues: &[f64], dtheta: &mut [f64]);

    /// When the entries of every slot are a linear function of that slot's
    /// own block of `theta` (`theta[slot * b..(slot + 1) * b]`, `b` the
    /// assembly's [`LinearAssembly::nparams`]), by the same map for every
    /// slot: that map. A model that interpolates its parameters in time
    /// between nodes can then assemble the nodes' matrices once and blend
    /// them (the matrix of a blend is the blend of the matrices; see
    /// [`crate::NodeBlend`]). `None` (the default) when the entries are not
    /// linear in `theta` (a clamp) or not laid out in slot blocks.
    fn linear_assembly(&self) -> Option<&LinearAssembly> {
        None
    }

    /// Whether every column of `C` sums to zero, so that `sum f` is
    /// conserved to round-off (before any clamp).
    fn conserves_density(&self) -> bool {
        false
    }

    /// A one-line description.
    fn describe(&self) -> String;

    /// Check a parameter vector's length and finiteness.
    fn check_params(&self, theta: &[f64]) -> Result<(), FpError> {
        check_length(theta.len(), self.nparams(), || self.describe())?;
        if let Some(k) = theta.iter().position(|v| !v.is_finite()) {
            return Err(FpError::NonFinite(format!("parameter {k} is {}", theta[k])));
        }
        Ok(())
    }

    /// `dfdt = C_theta(step) f` for one distribution (flat, row-major, `v_x` slowest).
    fn apply(&self, theta: &[f64], step: usize, f: &[f64], dfdt: &mut [f64]) {
        let mut values = vec![0.0; self.pattern().nnz()];
        self.assemble(theta, self.slot(step), &mut values);
        spmv(self.pattern(), &values, f, dfdt);
    }

    /// Vector-Jacobian product of [`Operator::apply`]: with `lambda` the
    /// adjoint of `dfdt`, accumulate `dtheta += (d(C f)/d theta)^T lambda` and
    /// `df += C^T lambda`.
    fn vjp(&self, theta: &[f64], step: usize, f: &[f64], lambda: &[f64], dtheta: &mut [f64], df: &mut [f64]) {
        let slot = self.slot(step);
        let nnz = self.pattern().nnz();
        let mut values = vec![0.0; nnz];
        self.assemble(theta, slot, &mut values);
        let mut dvalues = vec![0.0; nnz];
        spmv_vjp(self.pattern(), &values, f, lambda, df, &mut dvalues);
        self.assemble_vjp(theta, slot, &dvalues, dtheta);
    }
}

/// A parameter vector's length `len` against the operator's `nparams`
/// (`describe`: the operator, for the message); the length half of
/// [`Operator::check_params`].
pub(crate) fn check_length(
    len: usize,
    nparams: usize,
    describe: impl FnOnce() -> String,
) -> Result<(), FpError> {
    if len != nparams {
        return Err(FpError::Shape(format!(
            "{len} parameters given, the operator '{}' has {nparams}",
            describe()
        )));
    }
    Ok(())
}

/// Stability of explicit Euler, `f <- f + dt C f`, estimated row by row.
///
/// For a row with diagonal `-a < 0` and off-diagonal absolute sum `R`:
/// if `R <= a` its Gershgorin disc lies in the Euler stability disc for
/// `dt <= 2 / (a + R)` (pure diffusion: `1/a`); if `R > a` (advection
/// stronger than diffusion, centred differences) the von Neumann limit of
/// the advection-diffusion FTCS scheme, `dt <= 2 nu / u^2`, reads
/// `dt <= a / R^2`. The two agree at `R = a`. Rows with `a <= 0` and `R > 0`
/// (no diffusion, or anti-diffusion) are unstable at any step for centred
/// differences and are counted separately.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StabilityEstimate {
    /// Largest stable step over the rows with positive damping (infinite if none).
    pub dt_max: f64,
    /// Row that sets `dt_max`.
    pub limiting_row: usize,
    /// Whether the limiting row is advection-dominated (`R > a`).
    pub advection_limited: bool,
    /// Rows with no damping (`a <= 0`) but nonzero coupling.
    pub undamped_rows: usize,
}

impl StabilityEstimate {
    /// Estimate from the entries of `C`.
    pub fn of(pattern: &Pattern, c: &[f64]) -> Self {
        Self::of_rows(pattern, c, |_| true)
    }

    /// Estimate from the rows `r` of `C` with `keep(r)` only, e.g. the
    /// cells a distribution populates: an explicit step that is unstable
    /// only in rows where `f` stays zero (with the clamp `f >= 0`) leaves
    /// the rollout bounded.
    pub fn of_rows(pattern: &Pattern, c: &[f64], keep: impl Fn(usize) -> bool) -> Self {
        let mut est = StabilityEstimate {
            dt_max: f64::INFINITY,
            limiting_row: 0,
            advection_limited: false,
            undamped_rows: 0,
        };
        for r in (0..pattern.n()).filter(|&r| keep(r)) {
            let d = pattern.diag(r);
            let a = -c[d];
            let rsum: f64 = pattern.row(r).filter(|&k| k != d).map(|k| c[k].abs()).sum();
            if a <= 1e-3 * rsum || a <= 0.0 {
                if rsum > 0.0 || a < 0.0 {
                    est.undamped_rows += 1;
                }
                continue;
            }
            let (dt, adv) = if rsum <= a { (2.0 / (a + rsum), false) } else { (a / (rsum * rsum), true) };
            if dt < est.dt_max {
                est.dt_max = dt;
                est.limiting_row = r;
                est.advection_limited = adv;
            }
        }
        est
    }

    /// What limits the step, for messages.
    pub fn cause(&self, grid: &VelocityGrid) -> String {
        let (i, j) = (self.limiting_row / grid.ny, self.limiting_row % grid.ny);
        let what = if self.advection_limited { "advection over centred differences" } else { "diffusion" };
        let mut s = format!("{what} at cell ({i}, {j}), v = ({:.3}, {:.3})", grid.vx(i), grid.vy(j));
        if self.undamped_rows > 0 {
            s.push_str(&format!(
                "; {} cells have no effective damping (zero, negative or negligible diffusion) and are not stabilised by any step",
                self.undamped_rows
            ));
        }
        s
    }
}
