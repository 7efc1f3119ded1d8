//! The benchmark deck of the issue (also in the crate README).

/// 128 x 128 periodic thermal plasma, v_th = 0.1 c, dx = 0.5 lambda_D, 16 ppc, immobile ions.
pub const BENCH_DECK: &str = r#"
seed = 1
[grid]
nx = 128
ny = 128
dx = 0.05
dy = 0.05
[time]
dt = 0.03
n_steps = 500
dump_every = 50
[solver]
kind = "em"
shape_order = 2
sort_every = 20
[[species]]
name = "electrons"
charge = -1.0
mass = 1.0
density = 1.0
ppc = 16
distribution = { kind = "maxwellian", u_th = 0.1 }
[[species]]
name = "ions"
charge = 1.0
mass = 1836.0
density = 1.0
mobile = false
"#;
