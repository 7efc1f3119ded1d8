//! Sparse linear maps from model parameters to operator parameters.

/// `y = P x` with `P` stored as `(row, col, weight)` terms.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseLinear {
    rows: usize,
    cols: usize,
    terms: Vec<(u32, u32, f64)>,
}

impl SparseLinear {
    /// From terms; duplicates add up.
    pub fn new(rows: usize, cols: usize, mut terms: Vec<(u32, u32, f64)>) -> Self {
        terms.retain(|t| t.2 != 0.0);
        terms.sort_by_key(|t| (t.0, t.1));
        debug_assert!(terms.iter().all(|t| (t.0 as usize) < rows && (t.1 as usize) < cols));
        Self { rows, cols, terms }
    }

    /// The identity on `n` values.
    pub fn identity(n: usize) -> Self {
        Self::new(n, n, (0..n as u32).map(|k| (k, k, 1.0)).collect())
    }

    /// Output length.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input length.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `y = P x` (overwrites `y`).
    pub fn apply(&self, x: &[f64], y: &mut [f64]) {
        y.fill(0.0);
        for &(r, c, w) in &self.terms {
            y[r as usize] += w * x[c as usize];
        }
    }

    /// `x_bar += P^T y_bar`.
    pub fn apply_transpose(&self, y_bar: &[f64], x_bar: &mut [f64]) {
        for &(r, c, w) in &self.terms {
            x_bar[c as usize] += w * y_bar[r as usize];
        }
    }
}
