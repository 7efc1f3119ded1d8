//! The cost of the ordered sum over ranks (`collop_learn::mpi`), for the
//! cost model of `docs/cluster.md`: the mean time of one
//! `all_reduce_sum` of S doubles, S from a par/perp model's 98 to a
//! per-dump free tensor's 1.24 M, after a warm-up, with the ranks in step.
//!
//! ```sh
//! cargo build --release -p collop-learn --features mpi --example allreduce
//! mpirun -np 2 target/release/examples/allreduce
//! ```

use collop_learn::Communicator;
use collop_learn::mpi::MpiCommunicator;

fn main() {
    let comm = MpiCommunicator::init().expect("MPI initialised once");
    for s in [98usize, 4_874, 13_007, 22_087, 46_820, 1_235_477] {
        let mut values: Vec<f64> = (0..s).map(|k| (k + comm.rank()) as f64).collect();
        let repeats = (20_000_000 / s).clamp(10, 2000);
        for _ in 0..5 {
            comm.all_reduce_sum(&mut values).unwrap();
        }
        // Start together: one small sum first.
        comm.all_reduce_sum(&mut [0.0]).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..repeats {
            comm.all_reduce_sum(&mut values).unwrap();
        }
        let t = start.elapsed().as_secs_f64() / repeats as f64;
        if comm.rank() == 0 {
            println!(
                "ranks {} S {s:>9} doubles: {:>10.1} us per sum ({:.2} GB/s of gradient)",
                comm.size(),
                t * 1e6,
                8.0 * s as f64 / t / 1e9
            );
        }
    }
}
