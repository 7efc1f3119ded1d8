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
    fn chunk_sizes(batch: usize) -> Vec<usize> {
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
            for (bl, frame) in frames.slice(ndarray::s![b0..b0 + bc, .., ..]).outer_iter().enumerate() {
                for (cell, &v) in frame.iter().enumerate() {
                    data[cell * bc + bl] = v;
                }
            }
            chunks.push(Chunk { b0, bc, data });
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

/// Copy chunk-layout data into frames `(bc, nx, ny)`.
pub(crate) fn scatter_chunk(data: &[f64], bc: usize, mut out: ndarray::ArrayViewMut3<'_, f64>) {
    for (bl, mut frame) in out.axis_iter_mut(Axis(0)).enumerate() {
        for (cell, v) in frame.iter_mut().enumerate() {
            *v = data[cell * bc + bl];
        }
    }
}
