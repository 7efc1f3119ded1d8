use ndarray::{Array2, Array3, ArrayView2, Axis};

use crate::{CoreError, Moments, VelocityGrid};

/// Velocity histograms `f(v_x, v_y)` of one sub-population at successive
/// diagnostic dumps, equally spaced in time.
///
/// `frames[[k, i, j]]` is the value in cell `(i, j)` at dump
/// `first_dump + k`, time `t_start + k dt` (in `1/omega_p`).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpaceSeries {
    /// The velocity grid of every frame.
    pub grid: VelocityGrid,
    /// Frames, shape `(n_frames, nx, ny)`.
    pub frames: Array3<f64>,
    /// Time between consecutive frames, `1/omega_p`.
    pub dt: f64,
    /// Dump number of the first frame (`i_start` of the reference layout).
    pub first_dump: usize,
    /// Time of the first frame, `1/omega_p`.
    pub t_start: f64,
}

impl PhaseSpaceSeries {
    /// A series after checking shapes, finiteness and the time step.
    pub fn new(
        grid: VelocityGrid,
        frames: Array3<f64>,
        dt: f64,
        first_dump: usize,
        t_start: f64,
    ) -> Result<Self, CoreError> {
        let (_, nx, ny) = frames.dim();
        if (nx, ny) != grid.shape() {
            return Err(CoreError::ShapeMismatch(format!(
                "frames are {nx} x {ny}, grid is {} x {}",
                grid.nx, grid.ny
            )));
        }
        if frames.len_of(Axis(0)) == 0 {
            return Err(CoreError::InvalidArgument("a series needs at least one frame".into()));
        }
        if !(dt.is_finite() && dt > 0.0) {
            return Err(CoreError::InvalidArgument(format!(
                "time between dumps dt = {dt} must be finite and > 0"
            )));
        }
        if !t_start.is_finite() {
            return Err(CoreError::NonFinite(format!("t_start = {t_start}")));
        }
        if let Some(((k, i, j), v)) = frames.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(CoreError::NonFinite(format!("frame {k} cell ({i}, {j}) is {v}")));
        }
        Ok(Self { grid, frames, dt, first_dump, t_start })
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len_of(Axis(0))
    }

    /// Whether there are no frames (never true for a validated series).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frame `k` (0 = first used dump).
    pub fn frame(&self, k: usize) -> ArrayView2<'_, f64> {
        self.frames.index_axis(Axis(0), k)
    }

    /// Time of frame `k`.
    pub fn time(&self, k: usize) -> f64 {
        self.t_start + k as f64 * self.dt
    }

    /// Times of all frames.
    pub fn times(&self) -> Vec<f64> {
        (0..self.len()).map(|k| self.time(k)).collect()
    }

    /// Scale all frames so that the first sums to one (the reference
    /// normalisation: division by the particle count of the first used dump).
    /// Returns the divisor.
    pub fn normalise_to_first(&mut self) -> Result<f64, CoreError> {
        let total: f64 = self.frame(0).sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(CoreError::InvalidArgument(format!(
                "the first frame sums to {total}; it must be positive to normalise"
            )));
        }
        self.frames.mapv_inplace(|v| v / total);
        Ok(total)
    }

    /// Moments of every frame.
    pub fn moments(&self) -> Vec<Moments> {
        (0..self.len()).map(|k| Moments::of(&self.grid, self.frame(k))).collect()
    }

    /// Copy of frame `k` as an owned array.
    pub fn frame_owned(&self, k: usize) -> Array2<f64> {
        self.frame(k).to_owned()
    }
}
