//! The MPI adapter of [`Communicator`] (feature `mpi`, the rsmpi crate):
//! `mpirun -np N` or `srun` starts the ranks, and the sum over ranks is a
//! gather of every rank's values on rank 0, added there in rank order, and
//! a broadcast of the sum, so a given rank count always gives the same
//! bits (an `MPI_Allreduce` may add in an order that depends on the
//! message sizes and the library).

use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, Root as _};

use crate::{Communicator, LearnError};

/// The ranks of `MPI_COMM_WORLD`; MPI is finalised when it is dropped.
pub struct MpiCommunicator {
    world: SimpleCommunicator,
    /// Rank 0's buffer for the gathered values.
    gathered: std::cell::RefCell<Vec<f64>>,
    /// Sums done and the wall time spent in them (waiting for the slowest
    /// rank included).
    sums: std::cell::Cell<(usize, f64)>,
    _universe: Universe,
}

impl MpiCommunicator {
    /// Initialises MPI (once per process). `None` when MPI was already
    /// initialised.
    pub fn init() -> Option<Self> {
        let universe = mpi::initialize()?;
        let world = universe.world();
        Some(Self { world, gathered: Default::default(), sums: Default::default(), _universe: universe })
    }

    /// The sums done so far and the wall time spent in them, seconds: the
    /// communication of a training plus the wait for the slowest rank.
    pub fn communication(&self) -> (usize, f64) {
        self.sums.get()
    }
}

impl Communicator for MpiCommunicator {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_reduce_sum(&self, values: &mut [f64]) -> Result<(), LearnError> {
        let size = self.size();
        if size <= 1 {
            return Ok(());
        }
        let start = std::time::Instant::now();
        let root = self.world.process_at_rank(0);
        if self.rank() == 0 {
            let mut all = self.gathered.borrow_mut();
            all.resize(values.len() * size, 0.0);
            root.gather_into_root(&values[..], &mut all[..]);
            let n = values.len();
            for (k, v) in values.iter_mut().enumerate() {
                // Rank order: ((r0 + r1) + r2) + ...
                *v = (0..size).fold(0.0, |s, r| s + all[r * n + k]);
            }
        } else {
            root.gather_into(&values[..]);
        }
        root.broadcast_into(values);
        let (n, t) = self.sums.get();
        self.sums.set((n + 1, t + start.elapsed().as_secs_f64()));
        Ok(())
    }
}
