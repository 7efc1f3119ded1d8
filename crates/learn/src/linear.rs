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

    /// The composition `P Q` (`self` after `inner`): `y = P (Q x)`.
    pub fn compose(&self, inner: &SparseLinear) -> SparseLinear {
        assert_eq!(self.cols, inner.rows, "composing maps of mismatched sizes");
        // Inner terms are sorted by row: the terms of row r are starts[r]..starts[r + 1].
        let mut starts = vec![0usize; inner.rows + 1];
        for &(r, _, _) in &inner.terms {
            starts[r as usize + 1] += 1;
        }
        for r in 0..inner.rows {
            starts[r + 1] += starts[r];
        }
        let mut terms = Vec::new();
        for &(r, c, w) in &self.terms {
            for &(_, c2, w2) in &inner.terms[starts[c as usize]..starts[c as usize + 1]] {
                terms.push((r, c2, w * w2));
            }
        }
        SparseLinear::new(self.rows, inner.cols, terms)
    }

    /// `x_bar += P^T y_bar`.
    pub fn apply_transpose(&self, y_bar: &[f64], x_bar: &mut [f64]) {
        for &(r, c, w) in &self.terms {
            x_bar[c as usize] += w * y_bar[r as usize];
        }
    }
}
