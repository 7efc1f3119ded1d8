//! Averages of the radial coefficients over shells of `|v|`.
//!
//! Each cell's fields are projected onto the direction of its centre
//! ([`FpFields::radial_at`]: `A_par`, `D_par`, `D_perp`) and averaged over
//! the cells whose centre speed falls in one shell ([`ShellSpec`]), over all
//! cells, a mask, or with weights ([`Cells`]):
//!
//! ```text
//! mean_b = sum_{c in b} w_c x_c / W_b,   spread_b^2 = sum_{c in b} w_c (x_c - mean_b)^2 / W_b,
//! W_b = sum_{c in b} w_c
//! ```
//!
//! Shell averages are what the data determine of free per-cell fields (they
//! cancel the grid-scale checkerboards centred stencils leave free, see
//! `collop_learn::recovery`) and what the radial-profile plots show.
//! [`ShellComparison`] sets a model's shell means against a reference's:
//! signed relative deviations (the drift's with a floor, since it vanishes
//! at `v = 0`) and least-squares amplitude ratios.

use ndarray::Array2;

use crate::{CoreError, FpFields, cartesian_to_radial};

/// How speeds are grouped into shells, numbered from 0 at `|v| = 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShellSpec(Layout);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    Width(f64),
    Bins { n: usize, v_max: f64 },
}

impl ShellSpec {
    /// Shells `[b w, (b + 1) w)`, `b = 0, 1, ...`, without an upper end.
    ///
    /// Errors: `width` not finite and positive.
    pub fn width(width: f64) -> Result<Self, CoreError> {
        if !(width.is_finite() && width > 0.0) {
            return Err(CoreError::InvalidArgument(format!("shell width {width}: must be finite and > 0")));
        }
        Ok(Self(Layout::Width(width)))
    }

    /// `n` equal bins over `[0, v_max]`, `[b, b + 1) v_max / n`, the last one
    /// closed (a speed of exactly `v_max` is in bin `n - 1`); speeds above
    /// `v_max` are in none. With `v_max = 0` (a grid whose one cell is at the
    /// origin) speed 0 is in bin 0.
    ///
    /// Errors: `n = 0`, `v_max` not finite or negative.
    pub fn bins(n: usize, v_max: f64) -> Result<Self, CoreError> {
        if n == 0 || !(v_max.is_finite() && v_max >= 0.0) {
            return Err(CoreError::InvalidArgument(format!(
                "{n} speed bins up to |v| = {v_max}: need at least one bin and a finite v_max >= 0"
            )));
        }
        Ok(Self(Layout::Bins { n, v_max }))
    }

    /// The number of shells, `None` for shells of a width (unbounded).
    pub fn count(&self) -> Option<usize> {
        match self.0 {
            Layout::Width(_) => None,
            Layout::Bins { n, .. } => Some(n),
        }
    }

    /// The shell of `speed`, `None` for a speed in no shell (negative, NaN,
    /// or above the last bin).
    pub fn index(&self, speed: f64) -> Option<usize> {
        if speed.is_nan() || speed < 0.0 {
            return None;
        }
        match self.0 {
            // `as` saturates: an overflowing index is still some shell.
            Layout::Width(w) => Some((speed / w) as usize),
            Layout::Bins { v_max, .. } if speed > v_max => None,
            // Only speed 0 is left here, and 0 / 0 would be NaN.
            Layout::Bins { v_max: 0.0, .. } => Some(0),
            Layout::Bins { n, v_max } => Some(((speed / v_max * n as f64) as usize).min(n - 1)),
        }
    }

    /// `(lower, upper)` speeds of shell `index`.
    pub fn edges(&self, index: usize) -> (f64, f64) {
        let b = index as f64;
        match self.0 {
            Layout::Width(w) => (b * w, (index + 1) as f64 * w),
            Layout::Bins { n, v_max } => {
                let w = v_max / n as f64;
                (b * w, (index + 1) as f64 * w)
            }
        }
    }

    /// The middle speed of shell `index`.
    pub fn centre(&self, index: usize) -> f64 {
        let w = match self.0 {
            Layout::Width(w) => w,
            Layout::Bins { n, v_max } => v_max / n as f64,
        };
        (index as f64 + 0.5) * w
    }
}

/// Which cells are averaged, and with what weight.
#[derive(Debug, Clone, Copy, Default)]
pub enum Cells<'a> {
    /// Every cell, weight 1.
    #[default]
    All,
    /// The cells where the mask is true, weight 1 (e.g. the cells the data
    /// populate: free fields are arbitrary elsewhere).
    Mask(&'a Array2<bool>),
    /// Every cell with its weight (finite, `>= 0`); cells of weight 0 are
    /// left out.
    Weights(&'a Array2<f64>),
}

impl Cells<'_> {
    /// The weight of each cell in row-major order, checked against `shape`.
    fn weights(&self, shape: (usize, usize)) -> Result<Array2<f64>, CoreError> {
        let dim = match self {
            Cells::All => shape,
            Cells::Mask(m) => m.dim(),
            Cells::Weights(w) => w.dim(),
        };
        if dim != shape {
            return Err(CoreError::ShapeMismatch(format!(
                "shell averages: cell {} of shape {dim:?} for a {} x {} grid",
                if matches!(self, Cells::Mask(_)) { "mask" } else { "weights" },
                shape.0,
                shape.1
            )));
        }
        match self {
            Cells::All => Ok(Array2::ones(shape)),
            Cells::Mask(m) => Ok(m.mapv(|b| if b { 1.0 } else { 0.0 })),
            Cells::Weights(w) => {
                if let Some(((i, j), v)) = w.indexed_iter().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
                    return Err(CoreError::InvalidArgument(format!(
                        "shell averages: cell weight {v} at ({i}, {j}); weights must be finite and >= 0"
                    )));
                }
                Ok((*w).clone())
            }
        }
    }
}

/// The average of one field set's radial coefficients over one shell.
#[derive(Debug, Clone, PartialEq)]
pub struct ShellMean {
    /// The shell's number in its [`ShellSpec`].
    pub index: usize,
    /// Weighted mean speed of the shell's cells, `v_th`.
    pub speed: f64,
    /// Cells averaged (weight > 0).
    pub cells: usize,
    /// Their total weight (`cells` for a mask).
    pub weight: f64,
    /// Weighted means of `[A_par, D_par, D_perp]`.
    pub mean: [f64; 3],
    /// Weighted standard deviations about them over the shell's cells: how
    /// far the fields are from isotropic and, for isotropic fields, the
    /// profile's change across the shell.
    pub spread: [f64; 3],
}

/// Shell means of `fields`' radial coefficients over `cells`, shells laid
/// out by `spec`: the shells holding a cell of positive weight, by
/// increasing index (empty when no cell is kept).
///
/// Errors: fields whose shapes disagree with their grid or that hold a
/// non-finite value; a mask or weights of another shape than the grid's;
/// negative or non-finite weights.
pub fn average_shells(
    fields: &FpFields,
    cells: Cells<'_>,
    spec: ShellSpec,
) -> Result<Vec<ShellMean>, CoreError> {
    fields.validate()?;
    let g = &fields.grid;
    let weights = cells.weights(g.shape())?;
    // (shell, weight, speed, [A_par, D_par, D_perp]) of every kept cell, in
    // row-major order; kept for the second pass.
    let mut kept = Vec::new();
    for i in 0..g.nx {
        for j in 0..g.ny {
            let w = weights[[i, j]];
            if w == 0.0 {
                continue;
            }
            let (speed, direction) = g.cell_speed_and_direction(i, j);
            if let Some(b) = spec.index(speed) {
                kept.push((b, w, speed, cartesian_to_radial(direction, fields.at(i, j)).to_array()));
            }
        }
    }
    let n = kept.iter().map(|c| c.0 + 1).max().unwrap_or(0);
    let mut out: Vec<ShellMean> = (0..n)
        .map(|index| ShellMean { index, speed: 0.0, cells: 0, weight: 0.0, mean: [0.0; 3], spread: [0.0; 3] })
        .collect();
    for &(b, w, speed, x) in &kept {
        let s = &mut out[b];
        s.cells += 1;
        s.weight += w;
        s.speed += w * speed;
        for (m, x) in s.mean.iter_mut().zip(x) {
            *m += w * x;
        }
    }
    for s in out.iter_mut().filter(|s| s.cells > 0) {
        s.speed /= s.weight;
        s.mean.iter_mut().for_each(|m| *m /= s.weight);
    }
    // Two passes (means, then spreads about them) for a stable variance.
    for &(b, w, _, x) in &kept {
        let s = &mut out[b];
        for ((v, x), m) in s.spread.iter_mut().zip(x).zip(s.mean) {
            *v += w * (x - m) * (x - m) / s.weight;
        }
    }
    out.retain(|s| s.cells > 0);
    out.iter_mut().for_each(|s| s.spread = s.spread.map(f64::sqrt));
    Ok(out)
}

/// One shell of a [`ShellComparison`]: the shell means of a model and of a
/// reference over the same cells.
#[derive(Debug, Clone, PartialEq)]
pub struct ShellPair {
    /// The shell's number in its [`ShellSpec`].
    pub index: usize,
    /// Weighted mean speed of the shell's cells, `v_th`.
    pub speed: f64,
    /// Cells averaged.
    pub cells: usize,
    /// The model's `[A_par, D_par, D_perp]`.
    pub model: [f64; 3],
    /// The reference's `[A_par, D_par, D_perp]`.
    pub reference: [f64; 3],
}

/// Shell means of a model's radial coefficients set against a reference's
/// (a learned operator against the true one, a model against a theory).
#[derive(Debug, Clone, PartialEq)]
pub struct ShellComparison {
    /// The shells compared.
    pub spec: ShellSpec,
    /// Shells holding a kept cell, by increasing index.
    pub shells: Vec<ShellPair>,
    /// Scale of the drift: the largest `|A_par|` of the reference's shells
    /// (0 without shells).
    pub drift_scale: f64,
}

impl ShellComparison {
    /// Compare `model` with `reference` over `cells`, in the shells of `spec`.
    ///
    /// Errors: fields on different grids (exact comparison), and those of
    /// [`average_shells`].
    pub fn new(
        model: &FpFields,
        reference: &FpFields,
        cells: Cells<'_>,
        spec: ShellSpec,
    ) -> Result<Self, CoreError> {
        if model.grid != reference.grid {
            return Err(CoreError::ShapeMismatch(format!(
                "shell comparison: the model's grid ({}) is not the reference's ({})",
                model.grid, reference.grid
            )));
        }
        let m = average_shells(model, cells, spec)?;
        let r = average_shells(reference, cells, spec)?;
        // The same grid and cells give the same shells, speeds and counts.
        let shells: Vec<ShellPair> = m
            .into_iter()
            .zip(r)
            .map(|(m, r)| ShellPair {
                index: m.index,
                speed: m.speed,
                cells: m.cells,
                model: m.mean,
                reference: r.mean,
            })
            .collect();
        let drift_scale = shells.iter().fold(0.0_f64, |s, p| s.max(p.reference[0].abs()));
        Ok(Self { spec, shells, drift_scale })
    }

    /// Signed relative deviations `(model - reference) / scale` of
    /// `[A_par, D_par, D_perp]` per shell ([`signed_deviation`] with the
    /// drift's floor `drift_floor * drift_scale`).
    pub fn deviations(&self, drift_floor: f64) -> Vec<[f64; 3]> {
        let floor = drift_floor * self.drift_scale;
        self.shells.iter().map(|s| signed_deviation(s.model, s.reference, floor)).collect()
    }

    /// [`ShellComparison::deviations`] by shell index `0 .. n_shells`:
    /// `None` for a shell without a kept cell; shells from `n_shells` on are
    /// left out.
    pub fn deviations_by_shell(&self, drift_floor: f64, n_shells: usize) -> Vec<Option<[f64; 3]>> {
        let mut out = vec![None; n_shells];
        for (s, d) in self.shells.iter().zip(self.deviations(drift_floor)) {
            if let Some(slot) = out.get_mut(s.index) {
                *slot = Some(d);
            }
        }
        out
    }

    /// Relative errors: the magnitudes of [`ShellComparison::deviations`].
    pub fn relative_errors(&self, drift_floor: f64) -> Vec<[f64; 3]> {
        self.deviations(drift_floor).into_iter().map(|d| d.map(f64::abs)).collect()
    }

    /// The largest relative error of each coefficient over the shells (0
    /// without shells).
    pub fn worst(&self, drift_floor: f64) -> [f64; 3] {
        worst(&self.relative_errors(drift_floor))
    }

    /// Least-squares ratios of model to reference per coefficient over the
    /// shells with mean speed in `range` (inclusive), see
    /// [`amplitude_ratios`]; `None` without such shells.
    pub fn amplitude_ratios(&self, range: (f64, f64)) -> Option<[f64; 3]> {
        let inside: Vec<([f64; 3], [f64; 3])> = self
            .shells
            .iter()
            .filter(|s| s.speed >= range.0 && s.speed <= range.1)
            .map(|s| (s.model, s.reference))
            .collect();
        amplitude_ratios(&inside)
    }
}

/// `(model - reference) / scale` for `[A_par, D_par, D_perp]`, with
/// `scale = max(|A_par|, a_par_floor)` for the drift (which passes through
/// zero at `v = 0`) and `|D|` for the diffusions (positive). A zero scale is
/// replaced by the smallest positive number, so a zero reference gives a
/// huge deviation rather than a NaN.
pub fn signed_deviation(model: [f64; 3], reference: [f64; 3], a_par_floor: f64) -> [f64; 3] {
    std::array::from_fn(|k| {
        let scale = if k == 0 { reference[0].abs().max(a_par_floor) } else { reference[k].abs() };
        (model[k] - reference[k]) / scale.max(f64::MIN_POSITIVE)
    })
}

/// Least-squares ratios `sum m r / sum r^2` of model to reference values
/// `(m, r)` per coefficient: for a model whose amplitude alone differs from
/// the reference's, that amplitude relative to the reference's. `None`
/// without pairs.
pub fn amplitude_ratios(pairs: &[([f64; 3], [f64; 3])]) -> Option<[f64; 3]> {
    if pairs.is_empty() {
        return None;
    }
    Some(std::array::from_fn(|k| {
        let mr: f64 = pairs.iter().map(|(m, r)| m[k] * r[k]).sum();
        let rr: f64 = pairs.iter().map(|(_, r)| r[k] * r[k]).sum();
        mr / rr
    }))
}

/// The largest value of each coefficient over rows of errors.
pub fn worst(errors: &[[f64; 3]]) -> [f64; 3] {
    errors.iter().fold([0.0; 3], |w, e| [w[0].max(e[0]), w[1].max(e[1]), w[2].max(e[2])])
}

/// Sub-cells per axis over which [`speed_distribution`] spreads a cell.
const SPEED_SUBCELLS: usize = 8;

/// The speed distribution `f(|v|) = |v| int dtheta f(|v| cos theta, |v| sin theta)`
/// of a histogram `frame` (density per unit `v_x v_y`, on `grid`) in the
/// shells `0..n` of `spec`: the mass in each shell divided by its width,
/// so that `sum_b f_b width_b` is the mass up to the last shell. Each cell's
/// mass is spread uniformly over the cell (8 x 8 sub-cells, each assigned by
/// its centre speed), so shells narrower than a cell are not left empty or
/// doubled by where the cell centres fall.
///
/// Errors: a frame of another shape than the grid, `n = 0`, a non-finite value.
pub fn speed_distribution(
    frame: ndarray::ArrayView2<'_, f64>,
    grid: &crate::VelocityGrid,
    spec: ShellSpec,
    n: usize,
) -> Result<Vec<f64>, CoreError> {
    if frame.dim() != grid.shape() {
        return Err(CoreError::InvalidArgument(format!(
            "a frame of {:?} cells on a grid of {:?}",
            frame.dim(),
            grid.shape()
        )));
    }
    if n == 0 {
        return Err(CoreError::InvalidArgument("a speed distribution needs at least one shell".into()));
    }
    if let Some(v) = frame.iter().find(|v| !v.is_finite()) {
        return Err(CoreError::InvalidArgument(format!("a frame holding {v}: values must be finite")));
    }
    let (dx, dy) = (grid.dvx(), grid.dvy());
    let m = SPEED_SUBCELLS;
    let sub_area = dx * dy / (m * m) as f64;
    let mut mass = vec![0.0; n];
    for ((i, j), &f) in frame.indexed_iter() {
        if f == 0.0 {
            continue;
        }
        let (x0, y0) = (grid.vx(i) - 0.5 * dx, grid.vy(j) - 0.5 * dy);
        for a in 0..m {
            let x = x0 + (a as f64 + 0.5) * dx / m as f64;
            for b in 0..m {
                let y = y0 + (b as f64 + 0.5) * dy / m as f64;
                if let Some(k) = spec.index(x.hypot(y)).filter(|&k| k < n) {
                    mass[k] += f * sub_area;
                }
            }
        }
    }
    Ok(mass
        .iter()
        .enumerate()
        .map(|(k, &m)| {
            let (lo, hi) = spec.edges(k);
            m / (hi - lo)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Maxwellian of unit density and `v_th = 1` has the speed
    /// distribution `v exp(-v^2 / 2)` (2D); shell means of it match to the
    /// sampling error of a 0.1 v_th grid (sub-cells at a quarter of a shell
    /// width: a few 1e-3 of the peak).
    #[test]
    fn speed_distribution_of_a_maxwellian() {
        let grid = crate::VelocityGrid::square(81, 4.05).unwrap();
        let frame = ndarray::Array2::from_shape_fn(grid.shape(), |(i, j)| {
            let (x, y) = (grid.vx(i), grid.vy(j));
            (-(x * x + y * y) / 2.0).exp() / (2.0 * std::f64::consts::PI)
        });
        let spec = ShellSpec::width(0.25).unwrap();
        let f = speed_distribution(frame.view(), &grid, spec, 14).unwrap();
        for (k, &fk) in f.iter().enumerate() {
            let (lo, hi) = spec.edges(k);
            // Exact shell mean of v exp(-v^2/2): the mass difference over the width.
            let exact = ((-lo * lo / 2.0).exp() - (-hi * hi / 2.0).exp()) / (hi - lo);
            assert!((fk - exact).abs() < 5e-3, "shell {k}: {fk} vs {exact}");
        }
        // The total mass up to 3.5 v_th.
        let total: f64 = f.iter().map(|v| v * 0.25).sum();
        assert!((total - (1.0 - (-3.5f64 * 3.5 / 2.0).exp())).abs() < 2e-3, "{total}");
        assert!(speed_distribution(frame.view(), &grid, spec, 0).is_err());
        let mut bad = frame.clone();
        bad[[3, 3]] = f64::NAN;
        assert!(speed_distribution(bad.view(), &grid, spec, 4).is_err());
    }
    use crate::VelocityGrid;

    /// Sixteen unit cells on `[-2, 2]^2`: centres at `+-0.5, +-1.5`, so four
    /// cells at `|v| = sqrt(0.5)`, eight at `sqrt(2.5)` and four at
    /// `sqrt(4.5)`, each group one orbit of the square's symmetries.
    fn grid() -> VelocityGrid {
        VelocityGrid::square(4, 2.0).unwrap()
    }

    /// `A = -a v`, `D = d I`: `A_par = -a |v|`, `D_par = D_perp = d` in every cell.
    fn radial(g: VelocityGrid, a: f64, d: f64) -> FpFields {
        FpFields::from_fn(g, |x, y| [-a * x, -a * y, d, d, 0.0])
    }

    /// The three cell speeds, `sqrt(0.5)`, `sqrt(2.5)`, `sqrt(4.5)`.
    const SPEEDS: [f64; 3] = [std::f64::consts::FRAC_1_SQRT_2, 1.5811388300841898, 2.1213203435596424];

    // Tolerances: every value below is a handful of roundings of O(1)
    // numbers (a projection, a sum of at most 16 terms, a division), so a
    // few ulps; 1e-14 leaves room without hiding an error of method.
    const TOL: f64 = 1e-14;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < TOL
    }

    #[test]
    fn a_radial_drift_averages_to_minus_the_shell_speed() {
        let f = radial(grid(), 1.0, 2.0);
        let shells = average_shells(&f, Cells::All, ShellSpec::width(1.0).unwrap()).unwrap();
        assert_eq!(shells.iter().map(|s| (s.index, s.cells)).collect::<Vec<_>>(), [(0, 4), (1, 8), (2, 4)]);
        for (s, v) in shells.iter().zip(SPEEDS) {
            assert!(close(s.speed, v) && close(s.weight, s.cells as f64), "{s:?}");
            assert!(close(s.mean[0], -v) && close(s.mean[1], 2.0) && close(s.mean[2], 2.0), "{s:?}");
            // One speed per shell: nothing varies across it.
            assert!(s.spread.iter().all(|&x| x < TOL), "{s:?}");
        }
    }

    #[test]
    fn bins_up_to_the_largest_cell_speed() {
        // Two bins over [0, sqrt 4.5]: sqrt(0.5) / sqrt(4.5) = 1/3 is in bin
        // 0; sqrt(2.5) (ratio 0.75) and sqrt(4.5) itself (the closed top) in
        // bin 1, twelve cells, a third of them at sqrt(4.5).
        let g = grid();
        let f = radial(g, 1.0, 2.0);
        let spec = ShellSpec::bins(2, g.max_cell_speed()).unwrap();
        let shells = average_shells(&f, Cells::All, spec).unwrap();
        assert_eq!(shells.len(), 2);
        assert_eq!((shells[0].cells, shells[1].cells), (4, 12));
        let mean = (8.0 * SPEEDS[1] + 4.0 * SPEEDS[2]) / 12.0;
        // Population sd of two values with weights 2/3, 1/3: |difference| sqrt(2) / 3.
        let sd = (SPEEDS[2] - SPEEDS[1]) * 2f64.sqrt() / 3.0;
        assert!(close(shells[1].speed, mean) && close(shells[1].mean[0], -mean), "{:?}", shells[1]);
        assert!(close(shells[1].spread[0], sd), "{} vs {sd}", shells[1].spread[0]);
        assert!(shells[1].spread[1] < TOL && shells[1].spread[2] < TOL);
    }

    #[test]
    fn masks_and_weights_select_cells() {
        // A = (1, 0): A_par = cos = v_x / |v|, zero on average over a whole
        // shell, not over its half v_x > 0.
        let g = grid();
        let f = FpFields::from_fn(g, |_, _| [1.0, 0.0, 1.0, 1.0, 0.0]);
        let right = Array2::from_shape_fn(g.shape(), |(i, _)| g.vx(i) > 0.0);
        let spec = ShellSpec::width(1.0).unwrap();
        let all = average_shells(&f, Cells::All, spec).unwrap();
        assert!(all.iter().all(|s| s.mean[0].abs() < TOL), "{all:?}");
        let half = average_shells(&f, Cells::Mask(&right), spec).unwrap();
        assert_eq!(half.iter().map(|s| s.cells).collect::<Vec<_>>(), [2, 4, 2]);
        // Shell 0: cos = 0.5 / sqrt(0.5) in both cells; shell 1: cells at
        // v_x = 0.5 and 1.5, two each, mean cos = 1 / sqrt(2.5).
        assert!(close(half[0].mean[0], 0.5 / SPEEDS[0]), "{:?}", half[0]);
        assert!(close(half[1].mean[0], 1.0 / SPEEDS[1]), "{:?}", half[1]);
        // Weight 2 on the right, 1 on the left: shell 0's mean cos is
        // (2 * 2 c - 2 c) / 6 = c / 3 with c = 0.5 / sqrt(0.5).
        let w = right.mapv(|r| if r { 2.0 } else { 1.0 });
        let weighted = average_shells(&f, Cells::Weights(&w), spec).unwrap();
        assert!(close(weighted[0].mean[0], 0.5 / SPEEDS[0] / 3.0), "{:?}", weighted[0]);
        assert!(close(weighted[0].weight, 6.0) && weighted[0].cells == 4);
        // A mask keeping nothing gives no shells; bad masks and weights are errors.
        let none = Array2::from_elem(g.shape(), false);
        assert!(average_shells(&f, Cells::Mask(&none), spec).unwrap().is_empty());
        let wrong = Array2::from_elem((3, 4), true);
        let e = average_shells(&f, Cells::Mask(&wrong), spec).unwrap_err();
        assert!(matches!(e, CoreError::ShapeMismatch(_)), "{e}");
        let mut negative = w.clone();
        negative[[1, 2]] = -1.0;
        let e = average_shells(&f, Cells::Weights(&negative), spec).unwrap_err().to_string();
        assert!(e.contains("(1, 2)") && e.contains("-1"), "{e}");
        let mut nan = f.clone();
        nan.d_xy[[0, 0]] = f64::NAN;
        assert!(matches!(average_shells(&nan, Cells::All, spec), Err(CoreError::NonFinite(_))));
    }

    #[test]
    fn empty_shells_are_left_out() {
        // Shells 0.5 wide: the speeds 0.71, 1.58 and 2.12 fall in shells 1,
        // 3 and 4; shells 0 and 2 hold no cell centre.
        let f = radial(grid(), 1.0, 2.0);
        let spec = ShellSpec::width(0.5).unwrap();
        let shells = average_shells(&f, Cells::All, spec).unwrap();
        assert_eq!(shells.iter().map(|s| s.index).collect::<Vec<_>>(), [1, 3, 4]);
        let cmp = ShellComparison::new(&f, &f, Cells::All, spec).unwrap();
        let by = cmp.deviations_by_shell(0.1, 6);
        assert_eq!(
            by.iter().map(Option::is_some).collect::<Vec<_>>(),
            [false, true, false, true, true, false]
        );
        assert!(by.iter().flatten().all(|d| *d == [0.0; 3]), "a model equal to its reference: {by:?}");
    }

    #[test]
    fn a_rotated_anisotropic_diffusion() {
        // D = R(phi) diag(d1, d2) R(phi)^T, the same in every cell. At a cell
        // of direction theta, D_par = d2 + (d1 - d2) cos^2(theta - phi). Over
        // an orbit of the square's symmetries cos 2(theta - phi) averages to
        // zero (a quarter turn flips its sign), so every shell's D_par and
        // D_perp average to (d1 + d2) / 2. Shell 0's cells sit at 45 degrees
        // plus quarter turns, where D_par alternates between
        // d2 + (d1 - d2) cos^2(a) and d2 + (d1 - d2) sin^2(a), a = 45 - phi:
        // its spread is |d1 - d2| |cos 2a| / 2, sqrt(3) / 4 |d1 - d2| at phi = 30.
        let (d1, d2, phi) = (3.0, 1.0, 30f64.to_radians());
        let (c, s) = (phi.cos(), phi.sin());
        let d = [d1 * c * c + d2 * s * s, d1 * s * s + d2 * c * c, (d1 - d2) * c * s];
        let f = FpFields::from_fn(grid(), |_, _| [0.0, 0.0, d[0], d[1], d[2]]);
        let shells = average_shells(&f, Cells::All, ShellSpec::width(1.0).unwrap()).unwrap();
        for s in &shells {
            assert!(close(s.mean[1], (d1 + d2) / 2.0) && close(s.mean[2], (d1 + d2) / 2.0), "{s:?}");
        }
        let spread = (d1 - d2) * 3f64.sqrt() / 4.0;
        assert!(close(shells[0].spread[1], spread) && close(shells[0].spread[2], spread), "{:?}", shells[0]);
    }

    #[test]
    fn comparison_deviations_floor_and_amplitudes() {
        // Model: drift 1.1 and diffusion 1.2 times the reference's.
        let g = grid();
        let (model, reference) = (radial(g, 1.1, 2.4), radial(g, 1.0, 2.0));
        let spec = ShellSpec::width(1.0).unwrap();
        let cmp = ShellComparison::new(&model, &reference, Cells::All, spec).unwrap();
        assert!(close(cmp.drift_scale, SPEEDS[2]));
        // A floor of half the drift scale lifts shell 0's scale from
        // sqrt(0.5) to sqrt(4.5) / 2: its drift deviation is -0.1 sqrt(0.5)
        // / (sqrt(4.5) / 2) = -0.1 * 2/3. The other shells are above the floor.
        let dev = cmp.deviations(0.5);
        assert!(close(dev[0][0], -0.1 * 2.0 / 3.0), "{dev:?}");
        for d in &dev[1..] {
            assert!(close(d[0], -0.1), "{dev:?}");
        }
        assert!(dev.iter().all(|d| close(d[1], 0.2) && close(d[2], 0.2)), "{dev:?}");
        assert_eq!(cmp.relative_errors(0.5)[0][0], -dev[0][0]);
        let worst = cmp.worst(0.5);
        assert!(close(worst[0], 0.1) && close(worst[1], 0.2), "{worst:?}");
        // Amplitude ratios, over all shells and over the outer two.
        for range in [(0.0, 3.0), (1.0, 3.0)] {
            let r = cmp.amplitude_ratios(range).unwrap();
            assert!(close(r[0], 1.1) && close(r[1], 1.2) && close(r[2], 1.2), "{range:?}: {r:?}");
        }
        assert_eq!(cmp.amplitude_ratios((3.0, 4.0)), None);
        // Fields on another grid are refused.
        let other = radial(VelocityGrid::square(4, 2.5).unwrap(), 1.0, 2.0);
        let e = ShellComparison::new(&model, &other, Cells::All, spec).unwrap_err();
        assert!(matches!(e, CoreError::ShapeMismatch(_)), "{e}");
    }

    #[test]
    fn spec_indices_edges_and_errors() {
        let w = ShellSpec::width(0.5).unwrap();
        assert_eq!(
            (w.index(0.0), w.index(0.49), w.index(0.5), w.index(7.3)),
            (Some(0), Some(0), Some(1), Some(14))
        );
        assert_eq!((w.index(-0.1), w.index(f64::NAN), w.count()), (None, None, None));
        assert_eq!((w.edges(2), w.centre(2)), ((1.0, 1.5), 1.25));
        let b = ShellSpec::bins(4, 2.0).unwrap();
        assert_eq!(
            (b.index(0.0), b.index(0.5), b.index(1.99), b.index(2.0)),
            (Some(0), Some(1), Some(3), Some(3))
        );
        assert_eq!((b.index(2.01), b.count()), (None, Some(4)));
        assert_eq!((b.edges(3), b.centre(0)), ((1.5, 2.0), 0.25));
        let origin = ShellSpec::bins(3, 0.0).unwrap();
        assert_eq!((origin.index(0.0), origin.index(1e-300)), (Some(0), None));
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            assert!(matches!(ShellSpec::width(bad), Err(CoreError::InvalidArgument(_))), "{bad}");
        }
        assert!(ShellSpec::bins(0, 1.0).is_err() && ShellSpec::bins(2, -1.0).is_err());
        assert!(ShellSpec::bins(2, f64::NAN).is_err());
    }
}
