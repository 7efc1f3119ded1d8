//! Decks shared by the physics tests.
#![allow(dead_code)]

use collop_pic::deck::{
    Deck, Distribution, EsScheme, GridDeck, OutputDeck, PhaseSpaceDeck, Positions, SolverDeck, SolverKind,
    SpeciesDeck, TimeDeck,
};

/// Electrons over an immobile ion background in an `nx x ny` periodic box.
pub struct Setup {
    pub kind: SolverKind,
    pub order: usize,
    pub nx: usize,
    pub ny: usize,
    pub dx: f64,
    pub dt: f64,
    pub ppc: usize,
    pub u_th: f64,
    pub positions: Positions,
    pub seed: u64,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            kind: SolverKind::Em,
            order: 2,
            nx: 16,
            ny: 16,
            dx: 0.05,
            dt: 0.02,
            ppc: 4,
            u_th: 0.1,
            positions: Positions::Random,
            seed: 1,
        }
    }
}

impl Setup {
    pub fn deck(&self) -> Deck {
        Deck {
            seed: self.seed,
            grid: GridDeck { nx: self.nx, ny: self.ny, dx: self.dx, dy: self.dx },
            time: TimeDeck { dt: self.dt, n_steps: 1, dump_every: 1 },
            solver: SolverDeck {
                kind: self.kind,
                shape_order: self.order,
                filter_passes: 0,
                es_scheme: EsScheme::Momentum,
                sort_every: 20,
                external_b: [0.0; 3],
            },
            species: vec![
                SpeciesDeck {
                    name: "electrons".into(),
                    charge: -1.0,
                    mass: 1.0,
                    density: 1.0,
                    ppc: self.ppc,
                    positions: self.positions,
                    mobile: true,
                    distribution: Some(Distribution::Maxwellian { u_th: self.u_th, drift: [0.0; 3] }),
                },
                SpeciesDeck {
                    name: "ions".into(),
                    charge: 1.0,
                    mass: 1836.0,
                    density: 1.0,
                    ppc: 0,
                    positions: Positions::Random,
                    mobile: false,
                    distribution: None,
                },
            ],
            output: OutputDeck::default(),
            phase_space: PhaseSpaceDeck::default(),
            sub_populations: Vec::new(),
        }
    }
}

/// Frequency of the dominant oscillation of a signal sampled every `dt`:
/// zero crossings of the mean-removed signal, refined by linear
/// interpolation, give half-periods; their average over the whole record is
/// accurate to (sampling error) / (number of periods).
pub fn crossing_frequency(signal: &[f64], dt: f64) -> f64 {
    let mean = signal.iter().sum::<f64>() / signal.len() as f64;
    let s: Vec<f64> = signal.iter().map(|v| v - mean).collect();
    let mut crossings = Vec::new();
    for k in 1..s.len() {
        if s[k - 1] == 0.0 || s[k - 1].signum() != s[k].signum() {
            let frac = s[k - 1] / (s[k - 1] - s[k]);
            crossings.push((k as f64 - 1.0 + frac) * dt);
        }
    }
    assert!(crossings.len() >= 3, "too few zero crossings: {}", crossings.len());
    let half_period = (crossings[crossings.len() - 1] - crossings[0]) / (crossings.len() - 1) as f64;
    std::f64::consts::PI / half_period
}

/// Frequency by a discrete Fourier transform of a record, refined around
/// the peak by maximising |sum s_k exp(-i omega t_k)| with a golden search
/// over one bin (`window` Hann-tapered to suppress leakage).
pub fn spectral_frequency(signal: &[f64], dt: f64, omega_min: f64, omega_max: f64) -> f64 {
    let n = signal.len();
    let mean = signal.iter().sum::<f64>() / n as f64;
    let s: Vec<f64> = signal
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / (n - 1) as f64).cos();
            (v - mean) * w
        })
        .collect();
    let power = |om: f64| {
        let (mut re, mut im) = (0.0, 0.0);
        for (k, v) in s.iter().enumerate() {
            let ph = om * k as f64 * dt;
            re += v * ph.cos();
            im -= v * ph.sin();
        }
        re * re + im * im
    };
    let bins = 2000;
    let mut best = (omega_min, 0.0);
    for b in 0..=bins {
        let om = omega_min + (omega_max - omega_min) * b as f64 / bins as f64;
        let p = power(om);
        if p > best.1 {
            best = (om, p);
        }
    }
    let h = (omega_max - omega_min) / bins as f64;
    let (mut lo, mut hi) = (best.0 - h, best.0 + h);
    let g = 0.5 * (5f64.sqrt() - 1.0);
    for _ in 0..60 {
        let (a, b) = (hi - g * (hi - lo), lo + g * (hi - lo));
        if power(a) > power(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    0.5 * (lo + hi)
}

/// The `[[species]]` tables of the test decks written in TOML: electrons
/// (charge -1, mass 1, density 1) with `ppc` macro-particles per cell and
/// the velocity `distribution` (an inline table, e.g. `{ kind =
/// "maxwellian", u_th = 0.1 }`), over immobile ions of the same density
/// and mass 1836.
pub fn electrons_over_ions(ppc: usize, distribution: &str) -> String {
    format!(
        "[[species]]\nname = \"electrons\"\ncharge = -1.0\nmass = 1.0\ndensity = 1.0\nppc = {ppc}\n\
         distribution = {distribution}\n[[species]]\nname = \"ions\"\ncharge = 1.0\nmass = 1836.0\n\
         density = 1.0\nmobile = false\n"
    )
}
