//! How well a learned operator recovers a known one: the drift and
//! diffusion projected onto the radial and azimuthal directions of each cell
//! (`A_par`, `D_par`, `D_perp`, [`collop_core::cartesian_to_radial`]),
//! averaged over shells of `|v|` ([`collop_core::shells`]), compared only
//! where the data hold enough particles.
//!
//! Why shells and not single cells. The reference scheme takes first
//! derivatives by central differences, `(g_{i+1} - g_{i-1}) / 2` with
//! `g = A f`, so a drift perturbation `dA_i = eps (-1)^i / f_i` (a
//! checkerboard weighted by `1/f`) leaves `d_x (A f)` unchanged in the
//! interior; the nested central differences of the cross term have the same
//! odd-even null modes. Free per-cell fields are therefore determined by the
//! data only up to grid-scale checkerboards (the classical odd-even
//! decoupling of centred stencils), which sampling noise excites. Averages
//! over a shell of cells (a few cells wide) cancel those modes and are what
//! the data determine; they are also what the radial-profile plots show.
//! Models that are radial by construction (par/perp) are unaffected by the
//! averaging. For free tensors the smoothness prior of
//! [`crate::LinearModel::with_smoothness`] removes these modes (their
//! differences are the largest a field can have) and fills the cells no data
//! reach by smooth interpolation; with it, free tensors recover the shell
//! profiles within a few per cent (tests `recovery.rs`).
//!
//! A second, physical limit: a Gaussian structure of width `sigma` (a blob,
//! or a ring across its radius) evolves under a drift varying linearly across
//! it and a constant diffusion only through its mean and its variance,
//! `d sigma^2 / dt = D + 2 A' sigma^2`, so from one structure alone `D_par`
//! and the radial slope of `A_par` are not separable. Two structures of
//! different width crossing the same speeds separate them; recovery
//! experiments must be designed with that in mind (see the tests).
//!
//! A third, statistical limit, of data whose frames are sampled
//! independently (as [`crate::synthetic::synthesise`] makes them): training
//! rolls the operator out from noisy start frames, and the expected loss
//! `E|P (f_0 + e_0) - f_1|^2` contains `E|P e_0|^2`, which any extra
//! diffusion lowers by damping the start frame's counting noise `e_0` (the
//! errors-in-variables bias of regression on noisy inputs). The learned
//! diffusion is biased upward by an amount fixed in absolute size and
//! falling as 1 / (particles per frame) and with the number of unrolled
//! steps (the signal of a `K`-step rollout grows with `K`, the start frame's
//! noise is damped once): negligible where `D` is large, but 13 % of the
//! small `D_par` beyond 2.75 v_th in the 300,000-particle recovery tests
//! trained to 5 steps, 3 % when trained to 15. It is a property of independently sampled frames: in a
//! PIC run (or [`crate::synthetic::synthesise_particles`]) successive frames
//! count the same particles, and most of `f_1`'s noise is `f_0`'s carried
//! forward.

use collop_core::shells::{Cells, ShellComparison, ShellSpec};
use collop_core::{FpFields, VelocityGrid};
use ndarray::Array2;

use crate::LearnError;

/// Shell-averaged comparison of a learned and a true operator: a
/// [`ShellComparison`] (model = learned, reference = truth) over the cells
/// holding enough particles, built and printed as recovery experiments need.
#[derive(Debug, Clone, PartialEq)]
pub struct RadialComparison {
    /// The shells (model = learned, reference = truth) and the drift scale.
    pub comparison: ShellComparison,
}

impl RadialComparison {
    /// Compare `learned` with `truth` over the cells where `counts >=
    /// min_counts`, in shells of width `shell_width` (in `v_th`) from
    /// `|v| = 0` ([`ShellComparison::new`] with that mask and
    /// [`ShellSpec::width`]).
    ///
    /// Errors: fields and counts on different grids, a non-positive width,
    /// non-finite fields.
    pub fn new(
        learned: &FpFields,
        truth: &FpFields,
        counts: &Array2<f64>,
        min_counts: f64,
        shell_width: f64,
    ) -> Result<Self, LearnError> {
        let grid: VelocityGrid = truth.grid;
        if learned.grid != grid || counts.dim() != grid.shape() {
            return Err(LearnError::Data(format!(
                "recovery: the learned fields, the true fields and the counts must share the grid {:?} \
                 (counts have shape {:?})",
                grid.shape(),
                counts.dim()
            )));
        }
        let spec = ShellSpec::width(shell_width)
            .map_err(|_| LearnError::Config(format!("recovery: shell width {shell_width} must be > 0")))?;
        let keep = counts.mapv(|c| c >= min_counts);
        let comparison = ShellComparison::new(learned, truth, Cells::Mask(&keep), spec)
            .map_err(|e| LearnError::Data(format!("recovery: {e}")))?;
        Ok(Self { comparison })
    }

    /// Relative errors `[A_par, D_par, D_perp]` per shell. The drift passes
    /// through zero at `v = 0`, so its error is relative to
    /// `max(|A_par|, drift_floor * drift_scale)`; the diffusions are positive
    /// and their errors are plainly relative
    /// ([`ShellComparison::relative_errors`]).
    pub fn relative_errors(&self, drift_floor: f64) -> Vec<[f64; 3]> {
        self.comparison.relative_errors(drift_floor)
    }

    /// Largest relative error of each coefficient over the shells.
    pub fn worst(&self, drift_floor: f64) -> [f64; 3] {
        self.comparison.worst(drift_floor)
    }

    /// Least-squares ratio of learned to true values of each coefficient
    /// over the shells with speed in `range`: `sum l t / sum t^2`
    /// ([`ShellComparison::amplitude_ratios`]). For an operator whose
    /// amplitude alone is unknown this is the amplitude recovered relative
    /// to the truth's (`None` without shells in range).
    pub fn amplitude_ratios(&self, range: (f64, f64)) -> Option<[f64; 3]> {
        self.comparison.amplitude_ratios(range)
    }

    /// A table: speed, cells, learned and true values and relative errors.
    pub fn table(&self, drift_floor: f64) -> String {
        let mut s = String::from(
            "   |v|  cells     A_par (learned / true)     D_par (learned / true)    D_perp (learned / true)   errors\n",
        );
        for (sh, e) in self.comparison.shells.iter().zip(self.relative_errors(drift_floor)) {
            s.push_str(&format!(
                "{:6.2} {:6} {:>12.4e} {:>12.4e} {:>12.4e} {:>12.4e} {:>12.4e} {:>12.4e}   {:.3} {:.3} {:.3}\n",
                sh.speed,
                sh.cells,
                sh.model[0],
                sh.reference[0],
                sh.model[1],
                sh.reference[1],
                sh.model[2],
                sh.reference[2],
                e[0],
                e[1],
                e[2]
            ));
        }
        s
    }
}

/// Expected particle counts per cell that some dataset holds in every one of
/// its frames: the smallest count over the frames of each series, then the
/// largest over the series (`particles` per frame, frames normalised to sum
/// one). A cell passes a threshold on this only if one dataset keeps it
/// populated throughout, not merely when a structure sweeps through it.
pub fn min_counts_over_frames(series: &[collop_core::PhaseSpaceSeries], particles: f64) -> Array2<f64> {
    let shape = series.first().map(|s| s.grid.shape()).unwrap_or((0, 0));
    let mut out = Array2::<f64>::zeros(shape);
    for s in series {
        for i in 0..shape.0 {
            for j in 0..shape.1 {
                let m = (0..s.len()).map(|k| s.frames[[k, i, j]]).fold(f64::INFINITY, f64::min);
                out[[i, j]] = out[[i, j]].max(m * particles);
            }
        }
    }
    out
}
