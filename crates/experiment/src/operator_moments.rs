//! What a learned operator does, in physical terms (`collop moments`): the
//! Kramers-Moyal moments of its columns (`collop_fp::JumpMoments`: drift,
//! diffusion and the higher, non-Fokker-Planck terms) at every cell the
//! data populate, and for kernel models the kernels themselves at chosen
//! velocities, as arXiv 2601.13377 shows them.
//!
//! The kernel operator of that paper is a probe of which terms the data
//! need: a kernel of size `k > 2` can represent jumps beyond
//! advection-diffusion. Whether it uses them is read from the higher
//! moments `M_3, M_4` against the drift and diffusion, term by term of the
//! Kramers-Moyal expansion on the velocity scale of the data
//! ([`collop_fp::JumpMoments::term_sizes`]); the same analysis of a model
//! trained on Fokker-Planck data (which has no higher terms) gives the
//! level reached by the discretisation and the noise alone.
//!
//! Any model collop rolls out can be analysed (kernels, Fokker-Planck
//! tensors, networks, theory, tracks); Fokker-Planck models have, by
//! construction, only their discretisation's higher moments.
//!
//! Output folder:
//!
//! ```text
//! moments.json             settings and the per-slot summary (`OperatorMoments`)
//! summary.csv              per time slot: populated interior cells, weighted term shares, higher share quantiles
//! moments_slot<S>.csv      per cell of the first and last slot: v_x, v_y, weight, populated, interior, M_0 ... M_4, term sizes, higher share
//! moments_slot<S>.png      drift, diffusion, M_3 and M_4 sizes, higher share over velocity space
//! kernels_slot<S>.png      (kernel models) K_x, K_y at the chosen velocities, in v_th omega_p
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use collop_core::{PhaseSpaceSeries, VelocityGrid};
use collop_fp::JumpMoments;
use collop_plot::MapPanel;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::conditioning::Extrapolation;
use crate::dataset::Dataset;
use crate::error::{ExperimentError, Result, bail};
use crate::evaluate::AnyModel;
use crate::spec::OperatorShape;

/// The record of an analysis in its folder.
pub const MOMENTS_FILE: &str = "moments.json";
/// The format this version writes.
pub const FORMAT_VERSION: u32 = 1;

fn holds(dir: &Path) -> bool {
    dir.join(MOMENTS_FILE).is_file()
}

fn owns(entry: &Path) -> bool {
    let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == MOMENTS_FILE
        || name == "summary.csv"
        || (name.starts_with("moments_slot") || name.starts_with("kernels_slot"))
            && (name.ends_with(".csv") || name.ends_with(".png"))
}

/// An analysis folder, for the overwrite rule of [`collop_io::OutputDir`].
pub const OPERATOR_MOMENTS: collop_io::OutputKind = collop_io::OutputKind {
    name: "an operator analysis",
    holds,
    owns: Some(owns),
    accepts: "replace it with `--overwrite`",
};

/// What to analyse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MomentSettings {
    /// A trained run or a fields model.
    pub model: PathBuf,
    /// Datasets: the grid, the dump steps (time slots) and the weight of
    /// every cell (their time-averaged histograms, each normalised).
    pub data: Vec<PathBuf>,
    /// Velocity scale of the term sizes (`v_th`).
    pub scale: f64,
    /// Velocities `(v_x, v_y)` where a kernel model's kernels are drawn.
    pub cells: Vec<[f64; 2]>,
}

/// The analysis of one time slot over the populated interior cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotSummary {
    /// Time slot.
    pub slot: usize,
    /// Cells counted: populated and more than the operator's reach from every edge.
    pub cells: usize,
    /// Shares of the four Kramers-Moyal terms (drift, diffusion, third,
    /// fourth) in their sum, averaged with the cells' weights.
    pub term_shares: [f64; 4],
    /// Weighted mean, median, 90th percentile and largest value of the
    /// higher terms' share per cell.
    pub higher_share: [f64; 4],
    /// Weighted mean of the zeroth term's share, `|M_0| scale^2` against
    /// it plus the four term sizes (zero for an operator that conserves
    /// particles).
    pub loss: f64,
}

/// The result of [`analyse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorMoments {
    /// Format of the record.
    pub format_version: u32,
    /// The collop version that made it.
    pub version: String,
    /// What was analysed.
    pub settings: MomentSettings,
    /// The model, in words.
    pub model: String,
    /// Kernel size and outer difference, for kernel models.
    pub kernel: Option<(usize, collop_fp::Difference)>,
    /// Longest jump of the operator, in cells.
    pub reach: usize,
    /// One summary per time slot.
    pub slots: Vec<SlotSummary>,
}

/// Weighted quantile `q` of `values` (weights > 0, not empty).
fn weighted_quantile(values: &[(f64, f64)], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|p| p.1).sum();
    let mut acc = 0.0;
    for (x, w) in &v {
        acc += w;
        if acc >= q * total {
            return *x;
        }
    }
    v.last().map_or(0.0, |p| p.0)
}

/// The time-averaged histogram of every series, each normalised to total
/// one, summed: the weight of each cell; and the cells whose weight
/// reaches `1e-3` of the peak of one series (where the data constrain the
/// operator; the rule of `collop compare`'s radial profiles).
pub(crate) fn cell_weights<'a>(
    series: impl IntoIterator<Item = &'a PhaseSpaceSeries>,
    grid: &VelocityGrid,
) -> (Array2<f64>, Array2<bool>) {
    let mut weight = Array2::zeros(grid.shape());
    let mut keep = Array2::from_elem(grid.shape(), false);
    for s in series {
        let mean = s.frames.mean_axis(ndarray::Axis(0)).expect("at least one frame");
        let total: f64 = mean.sum();
        let peak = mean.iter().fold(0.0_f64, |m, &v| m.max(v));
        if total > 0.0 {
            weight.scaled_add(1.0 / total, &mean);
        }
        for (k, &v) in keep.iter_mut().zip(mean.iter()) {
            *k |= peak > 0.0 && v >= 1e-3 * peak;
        }
    }
    (weight, keep)
}

/// Summary of one slot's moments over the populated interior cells.
fn summarise(
    slot: usize,
    m: &JumpMoments,
    scale: f64,
    weight: &Array2<f64>,
    keep: &Array2<bool>,
) -> SlotSummary {
    let terms = m.term_sizes(scale);
    let share = m.higher_share(scale);
    let mut shares = [0.0; 4];
    let mut higher = Vec::new();
    let mut loss = 0.0;
    let mut total_w = 0.0;
    for ((at, &w), (&inside, &populated)) in weight.indexed_iter().zip(m.interior.iter().zip(keep.iter())) {
        if !(inside && populated) || w <= 0.0 {
            continue;
        }
        let sum: f64 = terms.iter().map(|t| t[at]).sum();
        if sum > 0.0 {
            for (s, t) in shares.iter_mut().zip(&terms) {
                *s += w * t[at] / sum;
            }
        }
        // The zeroth term `M_0 f` on the same footing (times scale^2).
        let t0 = m.loss[at].abs() * scale * scale;
        loss += w * if t0 + sum > 0.0 { t0 / (t0 + sum) } else { 0.0 };
        higher.push((share[at], w));
        total_w += w;
    }
    if total_w > 0.0 {
        shares.iter_mut().for_each(|s| *s /= total_w);
        loss /= total_w;
    }
    let higher_share = if higher.is_empty() {
        [0.0; 4]
    } else {
        let mean = higher.iter().map(|(s, w)| s * w).sum::<f64>() / total_w;
        let max = higher.iter().map(|p| p.0).fold(0.0, f64::max);
        [mean, weighted_quantile(&higher, 0.5), weighted_quantile(&higher, 0.9), max]
    };
    SlotSummary { slot, cells: higher.len(), term_shares: shares, higher_share, loss }
}

/// Analyse the model of `s` on its datasets and write the results into
/// `out` (claimed with [`OPERATOR_MOMENTS`] under `existing`).
pub fn analyse(s: &MomentSettings, out: &Path, existing: collop_io::Existing) -> Result<OperatorMoments> {
    if !(s.scale.is_finite() && s.scale > 0.0) {
        bail!("velocity scale {}: must be a positive number of v_th", s.scale);
    }
    if s.data.is_empty() {
        bail!("no dataset: give at least one with --data (its grid, dump steps and populated cells)");
    }
    let model = AnyModel::open(&s.model.to_string_lossy())?;
    let data = Dataset::load_all(&s.data)?;
    let grid = data[0].series.grid;
    if let Some(d) = data.iter().find(|d| !d.series.grid.same_as(&grid)) {
        bail!("{}: its grid {} differs from the first dataset's {grid}", d.folder.display(), d.series.grid);
    }
    for c in &s.cells {
        let inside = |v: f64, r: [f64; 2]| v.is_finite() && v >= r[0] && v < r[1];
        if !(inside(c[0], grid.x_range) && inside(c[1], grid.y_range)) {
            bail!("velocity ({}, {}) is off the grid {grid}: give --cell inside it", c[0], c[1]);
        }
    }
    // The longest series decides the slots (all datasets share the model).
    let longest = data.iter().max_by_key(|d| d.series.len()).expect("not empty");
    let (params, _) = model.params_for(longest, Extrapolation::Refuse)?;
    let op = params.operator(&model.evaluation_numerics())?;
    let mut dir = collop_io::OutputDir::claim(out, &OPERATOR_MOMENTS, existing)?;
    dir.clear_replaced()?;
    let (weight, keep) = cell_weights(data.iter().map(|d| &d.series), &grid);
    let kernel = match params.shape {
        OperatorShape::Kernel { k, difference } => Some((k, difference)),
        OperatorShape::FokkerPlanck => None,
    };
    let mut record = OperatorMoments {
        format_version: FORMAT_VERSION,
        version: env!("CARGO_PKG_VERSION").into(),
        settings: s.clone(),
        model: model.describe(),
        kernel,
        reach: 0,
        slots: Vec::new(),
    };
    let last = params.n_slots - 1;
    let mut failures = Vec::new();
    for slot in 0..params.n_slots {
        let m = JumpMoments::of(op.as_ref(), &params.theta, slot);
        record.reach = record.reach.max(m.reach);
        record.slots.push(summarise(slot, &m, s.scale, &weight, &keep));
        if slot == 0 || slot == last {
            write_cells(out, slot, &m, s.scale, &weight, &keep)?;
            let name = s
                .model
                .file_name()
                .map_or_else(|| record.model.clone(), |n| n.to_string_lossy().into_owned());
            if let Err(e) = moment_maps(out, slot, &m, s.scale, &keep, &name) {
                failures.push(e);
            }
            if let Some((k, _)) = kernel
                && !s.cells.is_empty()
                && let Err(e) = kernel_maps(out, slot, &grid, k, &params.theta, &s.cells)
            {
                failures.push(e);
            }
        }
    }
    write_summary(out, &record)?;
    let text = serde_json::to_string_pretty(&record)
        .map_err(|e| ExperimentError::Config(format!("the analysis cannot be written as JSON: {e}")))?;
    collop_io::write_text(out.join(MOMENTS_FILE), &text)?;
    if !failures.is_empty() {
        bail!("the analysis is written, but pictures failed: {}", failures.join("; "));
    }
    Ok(record)
}

fn write_summary(out: &Path, r: &OperatorMoments) -> Result<()> {
    let mut s = String::from(
        "slot,cells,share_drift,share_diffusion,share_third,share_fourth,higher_mean,higher_median,higher_p90,higher_max,loss\n",
    );
    for x in &r.slots {
        let [a, b, c, d] = x.term_shares;
        let [e, f, g, h] = x.higher_share;
        writeln!(s, "{},{},{a:e},{b:e},{c:e},{d:e},{e:e},{f:e},{g:e},{h:e},{:e}", x.slot, x.cells, x.loss)?;
    }
    collop_io::write_text(out.join("summary.csv"), &s)?;
    Ok(())
}

fn write_cells(
    out: &Path,
    slot: usize,
    m: &JumpMoments,
    scale: f64,
    weight: &Array2<f64>,
    keep: &Array2<bool>,
) -> Result<()> {
    let terms = m.term_sizes(scale);
    let share = m.higher_share(scale);
    let mut s = String::from(
        "v_x,v_y,weight,populated,interior,m0,a_x,a_y,d_xx,d_xy,d_yy,m3_xxx,m3_xxy,m3_xyy,m3_yyy,\
         m4_xxxx,m4_xxxy,m4_xxyy,m4_xyyy,m4_yyyy,term1,term2,term3,term4,higher_share\n",
    );
    for ((i, j), &w) in weight.indexed_iter() {
        let at = (i, j);
        write!(
            s,
            "{},{},{w:e},{},{},{:e}",
            m.grid.vx(i),
            m.grid.vy(j),
            u8::from(keep[at]),
            u8::from(m.interior[at]),
            m.loss[at]
        )?;
        for a in m.drift.iter().chain(&m.diffusion).chain(&m.third).chain(&m.fourth).chain(&terms) {
            write!(s, ",{:e}", a[at])?;
        }
        writeln!(s, ",{:e}", share[at])?;
    }
    collop_io::write_text(out.join(format!("moments_slot{slot}.csv")), &s)?;
    Ok(())
}

/// Drift, diffusion, the two higher terms' sizes and the higher share,
/// over the populated interior cells (zero elsewhere).
fn moment_maps(
    out: &Path,
    slot: usize,
    m: &JumpMoments,
    scale: f64,
    keep: &Array2<bool>,
    model: &str,
) -> std::result::Result<(), String> {
    let mask = |a: &Array2<f64>| {
        let mut a = a.clone();
        a.zip_mut_with(keep, |v, &k| *v = if k { *v } else { 0.0 });
        a.zip_mut_with(&m.interior, |v, &k| *v = if k { *v } else { 0.0 });
        a
    };
    let terms = m.term_sizes(scale);
    let panel = |values: &Array2<f64>, caption: &str, units: &str, signed: bool| MapPanel {
        grid: m.grid,
        values: mask(values),
        caption: caption.into(),
        units: units.into(),
        signed,
    };
    let panels = [
        panel(&m.drift[0], "drift A_x = M_1x", "v_th ω_p", true),
        panel(&m.drift[1], "drift A_y = M_1y", "v_th ω_p", true),
        panel(
            &m.higher_share(scale),
            &format!("higher terms' share (scale {scale} v_th)"),
            "(3rd + 4th) / all",
            false,
        ),
        panel(&m.diffusion[0], "diffusion D_xx = M_2xx", "v_th² ω_p", true),
        panel(&m.diffusion[2], "diffusion D_yy = M_2yy", "v_th² ω_p", true),
        panel(&m.diffusion[1], "diffusion D_xy = M_2xy", "v_th² ω_p", true),
        panel(&terms[2], "|M_3| / 3! (third term)", "v_th² ω_p", false),
        panel(&terms[3], "|M_4| / 4! (fourth term)", "v_th² ω_p", false),
        panel(&terms[1], "|M_2| / 2 (diffusion term)", "v_th² ω_p", false),
    ];
    let path = out.join(format!("moments_slot{slot}.png"));
    let title = format!("Kramers-Moyal moments of {model}, time slot {slot}");
    collop_plot::maps(&path, &panels, 3, &title).map_err(|e| format!("{}: {e}", path.display()))
}

/// `K_x`, `K_y` at each chosen velocity, over the velocities they read,
/// in physical units (`K dv`, `v_th omega_p`).
fn kernel_maps(
    out: &Path,
    slot: usize,
    grid: &VelocityGrid,
    k: usize,
    theta: &[f64],
    cells: &[[f64; 2]],
) -> std::result::Result<(), String> {
    let n = grid.len();
    let per = 2 * k * k * n;
    let p = (k / 2) as f64;
    let (dx, dy) = (grid.dvx(), grid.dvy());
    let mut panels = Vec::new();
    for c in cells {
        let i = (((c[0] - grid.x_range[0]) / dx).floor() as usize).min(grid.nx - 1);
        let j = (((c[1] - grid.y_range[0]) / dy).floor() as usize).min(grid.ny - 1);
        let q = i * grid.ny + j;
        let (x0, y0) = (grid.vx(i) - (p + 0.5) * dx, grid.vy(j) - (p + 0.5) * dy);
        let taps = VelocityGrid::new(k, k, [x0, x0 + k as f64 * dx], [y0, y0 + k as f64 * dy])
            .map_err(|e| e.to_string())?;
        for (comp, name, d) in [(0, "K_x", dx), (1, "K_y", dy)] {
            let values = Array2::from_shape_fn((k, k), |(l, m)| {
                theta[slot * per + ((comp * k + l) * k + m) * n + q] * d
            });
            panels.push(MapPanel {
                grid: taps,
                values,
                caption: format!("{name} at ({:.2}, {:.2})", grid.vx(i), grid.vy(j)),
                units: "v_th ω_p".into(),
                signed: true,
            });
        }
    }
    let path = out.join(format!("kernels_slot{slot}.png"));
    let title = format!("kernels of size {k}, time slot {slot}: the weight of f at each velocity read");
    collop_plot::maps(&path, &panels, 2, &title).map_err(|e| format!("{}: {e}", path.display()))
}

impl OperatorMoments {
    /// Read the `moments.json` of `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MOMENTS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ExperimentError::file(&path, e))?;
        let r: Self = serde_json::from_str(&text)
            .map_err(|e| ExperimentError::artefact(&path, format!("not an operator analysis: {e}")))?;
        if r.format_version > FORMAT_VERSION {
            return Err(ExperimentError::artefact(
                &path,
                format!(
                    "written in format {}, newer than this collop's {FORMAT_VERSION}; read it with a newer collop",
                    r.format_version
                ),
            ));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_quantiles() {
        let v = [(3.0, 1.0), (1.0, 1.0), (2.0, 2.0)];
        assert_eq!(weighted_quantile(&v, 0.5), 2.0);
        assert_eq!(weighted_quantile(&v, 0.2), 1.0);
        assert_eq!(weighted_quantile(&v, 1.0), 3.0);
    }
}
