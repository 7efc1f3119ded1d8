//! The benchmark deck of the issue (`decks/bench.toml`).

/// 128 x 128 periodic thermal plasma, v_th = 0.1 c, dx = 0.5 lambda_D, 16 ppc, immobile ions.
pub const BENCH_DECK: &str = include_str!("../decks/bench.toml");
