//! Data-parallel training: the processes that share one training and the
//! sum of their partial losses and gradients.
//!
//! Training over `P` processes (ranks) splits the windows of every epoch
//! into `P` contiguous blocks in a fixed order ([`Part`]: windows are
//! numbered by dataset, then by starting dump, and rank `r` takes the
//! windows `[r n / P, (r + 1) n / P)`), so every rank runs the simulator
//! on its own block. The loss is the mean over ALL windows, so each rank
//! weights its windows by `1 / n` (the global count) and the ranks' sums
//! add up to the single-process loss:
//!
//! ```text
//! loss(phi) = sum_r sum_{w in block r} loss_w(phi) / n + R(phi)
//! dloss/dphi = sum_r (d/dphi of rank r's part) + dR/dphi
//! ```
//!
//! [`Communicator::all_reduce_sum`] adds the ranks' parts; the
//! regularisation `R` is added afterwards on every rank (the same value
//! everywhere), and every rank then takes the same optimiser step, so the
//! parameters stay identical on all ranks without being sent. The result
//! differs from one process's only by the order of the floating-point
//! additions (see `docs/cluster.md` for the bound).
//!
//! [`SingleProcess`] is the default (one rank, the sum is the identity);
//! the MPI adapter (feature `mpi`, [`crate::mpi`]) gathers the parts on
//! rank 0, adds them in rank order and broadcasts the sum, so that a given
//! rank count always gives the same bits.

use crate::LearnError;

/// The processes that share one training.
pub trait Communicator {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Replaces `values` on every rank by their sum over the ranks, added
    /// in a fixed order (the same bits on every rank, and for a given
    /// rank count on every run). Every rank must call it with a slice of
    /// the same length.
    fn all_reduce_sum(&self, values: &mut [f64]) -> Result<(), LearnError>;
}

/// One process: the sum over ranks is the value itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct SingleProcess;

impl Communicator for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_reduce_sum(&self, _values: &mut [f64]) -> Result<(), LearnError> {
        Ok(())
    }
}

/// The block of a numbered list that one rank takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// The rank.
    pub rank: usize,
    /// The number of ranks.
    pub size: usize,
}

impl Part {
    /// The whole list (one rank).
    pub const WHOLE: Part = Part { rank: 0, size: 1 };

    /// This communicator's part.
    pub fn of(comm: &dyn Communicator) -> Self {
        Part { rank: comm.rank(), size: comm.size().max(1) }
    }

    /// The indices `[rank n / size, (rank + 1) n / size)` of a list of `n`:
    /// contiguous blocks whose lengths differ by at most one.
    pub fn range(&self, n: usize) -> std::ops::Range<usize> {
        (self.rank * n / self.size)..((self.rank + 1) * n / self.size)
    }
}

/// Sums a flag over the ranks: `Ok` when no rank failed, else the local
/// error (or, on the ranks that did not fail, an error naming how many
/// ranks did). Called by every rank at the same point, so that a failure
/// on one rank (a missing file, a locked directory) ends all of them
/// instead of leaving the others waiting in the next sum.
pub fn agree<T>(comm: &dyn Communicator, local: Result<T, LearnError>) -> Result<T, LearnError> {
    if comm.size() <= 1 {
        return local;
    }
    let mut failed = [if local.is_err() { 1.0 } else { 0.0 }];
    comm.all_reduce_sum(&mut failed)?;
    match local {
        Err(e) => Err(e),
        Ok(_) if failed[0] > 0.0 => Err(LearnError::Data(format!(
            "{} other rank(s) failed (their error is printed by them); this rank stops too",
            failed[0]
        ))),
        Ok(v) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_list_once_in_order() {
        for n in [0, 1, 2, 5, 7, 190] {
            for size in 1..=4 {
                let mut all = Vec::new();
                for rank in 0..size {
                    let r = Part { rank, size }.range(n);
                    assert!(r.len() + 1 >= n / size && r.len() <= n.div_ceil(size), "{n} {size} {r:?}");
                    all.extend(r);
                }
                assert_eq!(all, (0..n).collect::<Vec<_>>());
            }
        }
    }
}
