//! Batches of distributions in the simulator's internal layout.

use ndarray::{Array3, ArrayView3, Axis};

use crate::FpError;

/// One contiguous block of a batch: `bc` distributions stored cell-major
/// with the batch index fastest, `data[cell * bc + b]`.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    /// Index of the first distribution of the chunk in the batch.
    pub b0: usize,
    /// Number of distributions in the chunk.
    pub bc: usize,
    /// `n * bc` values.
    pub data: Vec<f64>,
    /// Scratch of the same size, for the next state.
    pub scratch: Vec<f64>,
}

/// A batch of `B` distributions on an `nx x ny` grid, split into chunks that
/// are advanced in parallel (one per worker thread).
#[derive(Debug, Clone)]
pub struct BatchState {
    pub(crate) nx: usize,
    pub(crate) ny: usize,
    pub(crate) batch: usize,
    pub(crate) chunks: Vec<Chunk>,
}

impl BatchState {
    /// Chunk sizes for a batch of `batch` over the current rayon pool.
    pub(crate) fn chunk_sizes(batch: usize) -> Vec<usize> {
        let workers = rayon::current_num_threads().max(1);
        let nchunks = workers.min(batch).max(1);
        let base = batch / nchunks;
        let extra = batch % nchunks;
        (0..nchunks).map(|c| base + usize::from(c < extra)).collect()
    }

    /// A batch from frames of shape `(B, nx, ny)`.
    pub fn from_frames(frames: ArrayView3<'_, f64>) -> Result<Self, FpError> {
        let (batch, nx, ny) = frames.dim();
        if batch == 0 {
            return Err(FpError::Shape("an empty batch (0 distributions)".into()));
        }
        if let Some(((b, i, j), v)) = frames.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(FpError::NonFinite(format!("initial distribution {b} is {v} at cell ({i}, {j})")));
        }
        let n = nx * ny;
        let mut chunks = Vec::new();
        let mut b0 = 0;
        for bc in Self::chunk_sizes(batch) {
            let mut data = vec![0.0; n * bc];
            gather_chunk(&frames, b0, bc, &mut data);
            chunks.push(Chunk { b0, bc, scratch: vec![0.0; data.len()], data });
            b0 += bc;
        }
        Ok(Self { nx, ny, batch, chunks })
    }

    /// Number of distributions.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Grid shape `(nx, ny)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// The batch as frames of shape `(B, nx, ny)`.
    pub fn to_frames(&self) -> Array3<f64> {
        let mut out = Array3::zeros((self.batch, self.nx, self.ny));
        for ch in &self.chunks {
            scatter_chunk(&ch.data, ch.bc, out.slice_mut(ndarray::s![ch.b0..ch.b0 + ch.bc, .., ..]));
        }
        out
    }
}

/// Cells per block of the layout transposes.
const CELL_BLOCK: usize = 64;
/// Distributions per block of the layout transposes: eight sequential
/// streams on one side, whole cache lines on the other.
const BATCH_BLOCK: usize = 8;

/// Transpose `rows` (one contiguous slice of `n` cells per distribution)
/// into chunk layout `out[cell * bc + b]`, `bc = rows.len()`.
pub(crate) fn rows_to_chunk(rows: &[&[f64]], out: &mut [f64]) {
    let bc = rows.len();
    let n = out.len() / bc.max(1);
    for cb in (0..n).step_by(CELL_BLOCK) {
        let ce = (cb + CELL_BLOCK).min(n);
        for b0 in (0..bc).step_by(BATCH_BLOCK) {
            let group = &rows[b0..(b0 + BATCH_BLOCK).min(bc)];
            for cell in cb..ce {
                let dst = &mut out[cell * bc + b0..cell * bc + b0 + group.len()];
                for (d, row) in dst.iter_mut().zip(group) {
                    *d = row[cell];
                }
            }
        }
    }
}

/// The inverse of [`rows_to_chunk`].
pub(crate) fn chunk_to_rows(data: &[f64], rows: &mut [&mut [f64]]) {
    let bc = rows.len();
    let n = data.len() / bc.max(1);
    for cb in (0..n).step_by(CELL_BLOCK) {
        let ce = (cb + CELL_BLOCK).min(n);
        for b0 in (0..bc).step_by(BATCH_BLOCK) {
            let end = (b0 + BATCH_BLOCK).min(bc);
            let group = &mut rows[b0..end];
            for cell in cb..ce {
                let src = &data[cell * bc + b0..cell * bc + end];
                for (row, &v) in group.iter_mut().zip(src) {
                    row[cell] = v;
                }
            }
        }
    }
}

/// Copy distributions `b0..b0 + bc` of `frames` `(B, nx, ny)` into chunk layout.
pub(crate) fn gather_chunk(frames: &ndarray::ArrayView3<'_, f64>, b0: usize, bc: usize, out: &mut [f64]) {
    let part = frames.slice(ndarray::s![b0..b0 + bc, .., ..]);
    match part.as_slice() {
        Some(flat) => {
            let n = flat.len() / bc.max(1);
            let rows: Vec<&[f64]> = flat.chunks_exact(n).collect();
            rows_to_chunk(&rows, out);
        }
        None => {
            let owned = part.as_standard_layout();
            let flat = owned.as_slice().expect("standard layout");
            let n = flat.len() / bc.max(1);
            let rows: Vec<&[f64]> = flat.chunks_exact(n).collect();
            rows_to_chunk(&rows, out);
        }
    }
}

/// Copy chunk-layout data into frames `(bc, nx, ny)`.
pub(crate) fn scatter_chunk(data: &[f64], bc: usize, mut out: ndarray::ArrayViewMut3<'_, f64>) {
    if let Some(flat) = out.as_slice_mut() {
        let n = flat.len() / bc.max(1);
        let mut rows: Vec<&mut [f64]> = flat.chunks_exact_mut(n).collect();
        chunk_to_rows(data, &mut rows);
        return;
    }
    for (bl, mut frame) in out.axis_iter_mut(Axis(0)).enumerate() {
        for (cell, v) in frame.iter_mut().enumerate() {
            *v = data[cell * bc + bl];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_round_trip_on_awkward_sizes() {
        for (bc, n) in [(1, 1), (3, 5), (8, 64), (11, 130), (19, 2601)] {
            let rows_data: Vec<Vec<f64>> =
                (0..bc).map(|b| (0..n).map(|c| (b * 100_000 + c) as f64).collect()).collect();
            let rows: Vec<&[f64]> = rows_data.iter().map(|r| &r[..]).collect();
            let mut chunk = vec![0.0; n * bc];
            rows_to_chunk(&rows, &mut chunk);
            for b in 0..bc {
                for c in 0..n {
                    assert_eq!(chunk[c * bc + b], rows_data[b][c]);
                }
            }
            let mut back_data = vec![vec![0.0; n]; bc];
            let mut back: Vec<&mut [f64]> = back_data.iter_mut().map(|r| &mut r[..]).collect();
            chunk_to_rows(&chunk, &mut back);
            assert_eq!(back_data, rows_data);
        }
    }
}
