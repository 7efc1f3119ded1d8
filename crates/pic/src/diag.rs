//! Sub-population diagnostics: velocity histograms, particle tracks and the
//! moments of the background species.
//!
//! Velocities are the momenta `u = gamma v` (OSIRIS' `p1`, `p2` phase
//! spaces) in units of the owning species' thermal spread `v_th` (the rms
//! of its initial `u_x`), the units in which targets and regions are given;
//! for `v_th << c` they equal `v / v_th` to `O(v^2 / c^2)`. For a waterbag
//! of radius `v_w`, `v_th = v_w / 2` (the edge sits at `2 v_th`); for an
//! anisotropic species `v_th` is the spread along `x` only. The cell-centred grid is
//! `[-v_max, v_max]^2` of [`collop_core::VelocityGrid`], axis 0 = `v_x`.
//! Histograms hold particle counts (test species, selection, region, all)
//! or sums of weights `g(v0) / f(v0)` (reweighting), like the reference data.
//!
//! [`BackgroundRecord`]s (the run's `background.csv`) follow every thermal
//! species through the run: its temperatures, kurtoses and L1 distance from
//! the Maxwellian of its temperature, at every dump.

use std::collections::HashMap;

use collop_core::VelocityGrid;
use collop_io::TrackData;
use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;

use crate::PicError;
use collop_core::population::{choose, reweighting_weight, selected};

use crate::deck::{Deck, Distribution, Method, Region, erf, selection_bound};
use crate::particles::Particles;
use crate::sim::Simulation;

/// One sub-population at run time.
#[derive(Debug, Clone)]
pub struct SubPopulation {
    /// Name (dataset folder).
    pub name: String,
    /// How it was made.
    pub method: Method,
    /// Index in `Simulation::species` of the particles it is drawn from
    /// (the test species itself, or the owning species).
    pub species: usize,
    /// Membership bit in `Particles::tag` (selection).
    pub bit: u32,
    /// Thermal spread of the owning species, `c`.
    pub v_th: f64,
    /// Target density in `v_th` units (test species, selection, reweighting).
    pub target: Option<Distribution>,
    /// Region of initial velocities in `v_th` units (region).
    pub region: Option<Region>,
    /// Initial density of the owning species in `v_th` units.
    pub background: Distribution,
    /// Selection bound `M`.
    pub bound: f64,
    /// Tracked particles and their history.
    pub tracks: Tracks,
}

/// Velocities (and optionally positions) of chosen particles at every dump.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tracks {
    /// Ids of the tracked particles, ascending.
    pub ids: Vec<u64>,
    /// Whether positions are recorded.
    pub positions: bool,
    /// Dump times, `1/omega_p`.
    pub times: Vec<f64>,
    /// Per dump, per tracked particle: `u_x, u_y, u_z` (in `v_th`), then
    /// `x, y` (in `c/omega_p`) when recorded, flattened.
    pub data: Vec<f64>,
}

impl Tracks {
    /// Values stored per particle per dump.
    pub fn width(&self) -> usize {
        if self.positions { 5 } else { 3 }
    }
}

/// A thermal species whose moments are recorded at every dump.
#[derive(Debug, Clone, PartialEq)]
pub struct Background {
    /// Name of the species.
    pub name: String,
    /// Its index in `Simulation::species`.
    pub species: usize,
    /// Its thermal spread `v_th` (rms of the initial `u_x`), `c`.
    pub v_th: f64,
}

/// The moments of one background species at one dump (a row of
/// `background.csv`). Velocities are momenta `u` in units of the species'
/// initial `v_th`, so a species starts with `T_x = 1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackgroundRecord {
    /// Dump number.
    pub dump: usize,
    /// Time, `1/omega_p`.
    pub time: f64,
    /// Index of the species in [`Diagnostics::backgrounds`].
    pub background: usize,
    /// Particles of the species.
    pub particles: usize,
    /// Mean `<u_a>`, `a = x, y, z`.
    pub mean: [f64; 3],
    /// Temperatures `T_a = <(u_a - <u_a>)^2>` (`v_th^2`).
    pub temperature: [f64; 3],
    /// Kurtoses `<(u_a - <u_a>)^4> / T_a^2`, `a = x, y`: 2 for a
    /// waterbag (semicircle marginals), 3 for a Maxwellian.
    pub kurtosis: [f64; 2],
    /// Kurtosis of the in-plane speed about the mean, `<w^4> / <w^2>^2` with
    /// `w^2 = (u_x - <u_x>)^2 + (u_y - <u_y>)^2`: 4/3 for a waterbag, 2 for
    /// an isotropic 2D Maxwellian.
    pub kurtosis_plane: f64,
    /// `sum |p - q|` over the histogram cells: `p` the species' histogram
    /// divided by its particle count, `q` the cell probabilities of the
    /// isotropic in-plane Maxwellian of the same mean and temperature
    /// `(T_x + T_y) / 2` (exact integrals over the cells). 0 for a perfect
    /// Maxwellian, at most 2.
    pub l1_maxwellian: f64,
    /// The `l1_maxwellian` a sample of as many particles drawn from that
    /// Maxwellian would have on average: `sum MAD(N q) / N` with
    /// `MAD(mu) = 2 e^{-mu} mu^{m+1} / m!`, `m = floor(mu)`, the mean absolute
    /// deviation of a Poisson count of mean `mu` (De Moivre's formula; the
    /// cell counts of a multinomial sample are Poisson to `O(q)`). The noise
    /// floor of `l1_maxwellian`.
    pub l1_noise: f64,
}

impl BackgroundRecord {
    /// The header of `background.csv`.
    pub const CSV_HEADER: &'static str = "dump,time,species,particles,mean_x,mean_y,mean_z,T_x,T_y,T_z,\
kurtosis_x,kurtosis_y,kurtosis_plane,l1_maxwellian,l1_noise";

    /// The record as a row of `background.csv` (`species` by name).
    pub fn csv_row(&self, species: &str) -> String {
        let mut row = format!("{},{:.10e},{species},{}", self.dump, self.time, self.particles);
        let values = self.mean.iter().chain(&self.temperature).chain(&self.kurtosis).chain([
            &self.kurtosis_plane,
            &self.l1_maxwellian,
            &self.l1_noise,
        ]);
        for v in values {
            row.push_str(&format!(",{v:.10e}"));
        }
        row
    }
}

/// All sub-populations of a run and the histogram grid.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The sub-populations, in deck order.
    pub pops: Vec<SubPopulation>,
    /// Histogram grid (in `v_th`).
    pub grid: VelocityGrid,
    /// The thermal mobile species of the deck (in deck order), whose
    /// moments are recorded.
    pub backgrounds: Vec<Background>,
}

impl Diagnostics {
    /// Tag the selected particles, store the initial momenta for
    /// reweighting, and choose the tracked particles, at `t = 0`.
    pub fn new(deck: &Deck, sim: &mut Simulation) -> Result<Self, PicError> {
        let ps = &deck.phase_space;
        let grid = VelocityGrid::square(ps.bins, ps.v_max).map_err(|e| PicError::Deck(e.to_string()))?;
        let mut pops = Vec::new();
        let mut next_bit = 0u32;
        // Region bits already given out, per species (exclusive in deck order).
        let mut claimed: HashMap<usize, u32> = HashMap::new();
        for (k, sub) in deck.sub_populations.iter().enumerate() {
            let owner = deck
                .species
                .iter()
                .find(|s| s.name == sub.species)
                .ok_or_else(|| PicError::Deck(format!("no species '{}'", sub.species)))?;
            let v_th = owner.thermal_spread();
            let find = |name: &str| sim.species.iter().position(|s| s.name == name);
            let owner_idx = find(&owner.name).expect("mobile species are in the simulation");
            // The initial distribution as loaded, including any drift that
            // cancels the current of test species.
            let background = owner
                .distribution
                .as_ref()
                .expect("validated: thermal")
                .shifted(sim.species[owner_idx].drift)
                .scaled(1.0 / v_th);
            let mut pop = SubPopulation {
                name: sub.name.clone(),
                method: sub.method,
                species: owner_idx,
                bit: 0,
                v_th,
                target: sub.target.clone(),
                region: sub.region.clone(),
                background,
                bound: 0.0,
                tracks: Tracks { positions: sub.track_positions, ..Tracks::default() },
            };
            let stream = 3000 + k as u64;
            match sub.method {
                Method::TestSpecies => {
                    pop.species = find(&sub.name).expect("test species are in the simulation");
                    let p = &sim.species[pop.species].particles;
                    pop.tracks.ids = choose(p.id.iter().map(|&id| (id, 1.0)), sub.tracks, deck.seed, stream);
                }
                Method::Selection | Method::Region => {
                    if next_bit as usize == crate::deck::MAX_TAGGED {
                        return Err(PicError::Deck(format!(
                            "at most {} sub-populations by selection or region",
                            crate::deck::MAX_TAGGED
                        )));
                    }
                    pop.bit = 1 << next_bit;
                    next_bit += 1;
                    let p = &mut sim.species[owner_idx].particles;
                    if p.tag.is_empty() {
                        p.tag = vec![0; p.len()];
                    }
                    if let Some(target) = &pop.target {
                        pop.bound = selection_bound(target, &pop.background, ps.v_max.max(6.0));
                        for q in 0..p.len() {
                            let (vx, vy) = (p.ux[q] / v_th, p.uy[q] / v_th);
                            if selected(
                                target,
                                &pop.background,
                                pop.bound,
                                deck.seed,
                                stream,
                                p.id[q],
                                vx,
                                vy,
                            ) {
                                p.tag[q] |= pop.bit;
                            }
                        }
                    } else {
                        let region = pop.region.as_ref().expect("validated: a region sub-population has one");
                        let taken = claimed.entry(owner_idx).or_insert(0);
                        for q in 0..p.len() {
                            if p.tag[q] & *taken == 0 && region.contains(p.ux[q] / v_th, p.uy[q] / v_th) {
                                p.tag[q] |= pop.bit;
                            }
                        }
                        *taken |= pop.bit;
                    }
                    let members: Vec<(u64, f64)> =
                        (0..p.len()).filter(|&q| p.tag[q] & pop.bit != 0).map(|q| (p.id[q], 1.0)).collect();
                    if members.is_empty() && sub.method == Method::Region {
                        return Err(PicError::Deck(format!(
                            "sub-population '{}': no particle of species '{}' starts in region {} (earlier \
                             regions of the species take precedence); enlarge or move it, or remove it",
                            sub.name,
                            sub.species,
                            pop.region.as_ref().expect("validated")
                        )));
                    }
                    pop.tracks.ids = choose(members.into_iter(), sub.tracks, deck.seed, stream + 1000);
                }
                Method::All => {
                    let p = &sim.species[owner_idx].particles;
                    pop.tracks.ids = choose(p.id.iter().map(|&id| (id, 1.0)), sub.tracks, deck.seed, stream);
                }
                Method::Reweighting => {
                    let p = &mut sim.species[owner_idx].particles;
                    if p.u0.is_empty() {
                        p.u0 = (0..p.len()).map(|q| [p.ux[q] as f32, p.uy[q] as f32]).collect();
                    }
                    let weights = (0..p.len()).map(|q| (p.id[q], pop.weight(p.u0[q])));
                    pop.tracks.ids = choose(weights, sub.tracks, deck.seed, stream + 1000);
                }
            }
            pops.push(pop);
        }
        let backgrounds = deck
            .species
            .iter()
            .filter(|s| s.mobile && s.thermal_spread() > 0.0)
            .map(|s| Background {
                name: s.name.clone(),
                species: sim
                    .species
                    .iter()
                    .position(|x| x.name == s.name)
                    .expect("mobile species are simulated"),
                v_th: s.thermal_spread(),
            })
            .collect();
        Ok(Self { pops, grid, backgrounds })
    }

    /// Histogram of sub-population `k` at the present step.
    pub fn histogram(&self, sim: &Simulation, k: usize) -> Array2<f64> {
        let pop = &self.pops[k];
        let p = &sim.species[pop.species].particles;
        bin(p, pop.v_th, &self.grid, |q| pop.member_weight(p, q))
    }

    /// The moments of every background species at the present step, as
    /// dump `dump` ([`BackgroundRecord`]).
    pub fn background_moments(&self, sim: &Simulation, dump: usize) -> Vec<BackgroundRecord> {
        self.backgrounds
            .iter()
            .enumerate()
            .map(|(b, bg)| {
                let p = &sim.species[bg.species].particles;
                let hist = bin(p, bg.v_th, &self.grid, |_| 1.0);
                moments_of(p, bg.v_th, &self.grid, &hist, dump, sim.time(), b)
            })
            .collect()
    }

    /// Effective sample size `(sum w)^2 / sum w^2` and the number of
    /// contributing particles of sub-population `k`.
    pub fn effective_sample_size(&self, sim: &Simulation, k: usize) -> (f64, usize) {
        let pop = &self.pops[k];
        let p = &sim.species[pop.species].particles;
        let (mut s1, mut s2, mut n) = (0.0, 0.0, 0);
        for q in 0..p.len() {
            let w = pop.member_weight(p, q);
            if w > 0.0 {
                s1 += w;
                s2 += w * w;
                n += 1;
            }
        }
        (if s2 > 0.0 { s1 * s1 / s2 } else { 0.0 }, n)
    }

    /// Append the present state of every tracked particle.
    pub fn record_tracks(&mut self, sim: &Simulation) {
        let dx = sim.grid.dx;
        let dy = sim.grid.dy;
        for pop in &mut self.pops {
            let t = &mut pop.tracks;
            if t.ids.is_empty() {
                continue;
            }
            let col: HashMap<u64, usize> = t.ids.iter().enumerate().map(|(c, &id)| (id, c)).collect();
            let w = t.width();
            let base = t.data.len();
            t.data.resize(base + w * t.ids.len(), f64::NAN);
            let p = &sim.species[pop.species].particles;
            for q in 0..p.len() {
                if let Some(&c) = col.get(&p.id[q]) {
                    let iv = 1.0 / pop.v_th;
                    let row = &mut t.data[base + c * w..base + (c + 1) * w];
                    row[0] = p.ux[q] * iv;
                    row[1] = p.uy[q] * iv;
                    row[2] = p.uz[q] * iv;
                    if t.positions {
                        row[3] = p.x[q] * dx;
                        row[4] = p.y[q] * dy;
                    }
                }
            }
            t.times.push(sim.time());
        }
    }
}

impl SubPopulation {
    /// Reweighting weight `g(v0) / f(v0)` of an initial momentum (in `c`);
    /// 0 without a target.
    pub fn weight(&self, u0: [f32; 2]) -> f64 {
        let (vx, vy) = (u0[0] as f64 / self.v_th, u0[1] as f64 / self.v_th);
        match &self.target {
            Some(target) => reweighting_weight(target, &self.background, vx, vy),
            None => 0.0,
        }
    }

    /// Weight of particle `q` of `p` in this sub-population's histogram.
    #[inline]
    fn member_weight(&self, p: &Particles, q: usize) -> f64 {
        match self.method {
            Method::TestSpecies | Method::All => 1.0,
            Method::Selection | Method::Region => {
                if p.tag[q] & self.bit != 0 {
                    1.0
                } else {
                    0.0
                }
            }
            Method::Reweighting => self.weight(p.u0[q]),
        }
    }

    /// The tracks in the layout of a track file ([`collop_io::tracks`]):
    /// `ids`, dump times, `vx`, `vy`, `vz` (dumps x n: momenta `u` in
    /// `v_th`), `x`, `y` (in `c/omega_p`) when recorded, and `v_th_c`.
    pub fn track_data(&self) -> TrackData {
        let t = &self.tracks;
        let (n, d, w) = (t.ids.len(), t.times.len(), t.width());
        let column = |c: usize| Array2::from_shape_fn((d, n), |(k, i)| t.data[k * n * w + i * w + c]);
        TrackData {
            ids: t.ids.clone(),
            times: t.times.clone(),
            vx: column(0),
            vy: column(1),
            vz: column(2),
            x: t.positions.then(|| column(3)),
            y: t.positions.then(|| column(4)),
            v_th_c: Some(self.v_th),
        }
    }
}

/// Fixed chunks of particles for parallel sums reduced in order: the same
/// sums for any thread count.
const CHUNK: usize = 1 << 16;

/// Histogram of the momenta of `p` in units of `v_th` on `grid` (square,
/// centred), particle `q` counted with `weight(q)`.
fn bin(p: &Particles, v_th: f64, grid: &VelocityGrid, weight: impl Fn(usize) -> f64 + Sync) -> Array2<f64> {
    let (nb, vmax) = (grid.nx, grid.x_range[1]);
    let scale = nb as f64 / (2.0 * vmax);
    let iv = 1.0 / v_th;
    let parts: Vec<Vec<f64>> = (0..p.len().div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut h = vec![0.0; nb * nb];
            for q in c * CHUNK..((c + 1) * CHUNK).min(p.len()) {
                let w = weight(q);
                if w == 0.0 {
                    continue;
                }
                let (fx, fy) = ((p.ux[q] * iv + vmax) * scale, (p.uy[q] * iv + vmax) * scale);
                if fx >= 0.0 && fy >= 0.0 && fx < nb as f64 && fy < nb as f64 {
                    h[fx as usize * nb + fy as usize] += w;
                }
            }
            h
        })
        .collect();
    let mut h = Array2::zeros((nb, nb));
    for part in parts {
        for (d, v) in h.iter_mut().zip(part) {
            *d += v;
        }
    }
    h
}

/// Sums over fixed chunks of particles, reduced in chunk order.
fn chunked_sums<const N: usize>(n: usize, term: impl Fn(usize, &mut [f64; N]) + Sync) -> [f64; N] {
    let parts: Vec<[f64; N]> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut s = [0.0; N];
            for q in c * CHUNK..((c + 1) * CHUNK).min(n) {
                term(q, &mut s);
            }
            s
        })
        .collect();
    let mut total = [0.0; N];
    for s in parts {
        for (t, v) in total.iter_mut().zip(s) {
            *t += v;
        }
    }
    total
}

/// The [`BackgroundRecord`] of the particles `p` (momenta in `c`, moments
/// in `v_th`), with `hist` their histogram on `grid`.
fn moments_of(
    p: &Particles,
    v_th: f64,
    grid: &VelocityGrid,
    hist: &Array2<f64>,
    dump: usize,
    time: f64,
    background: usize,
) -> BackgroundRecord {
    let n = p.len();
    let nf = n.max(1) as f64;
    let iv = 1.0 / v_th;
    let first = chunked_sums::<3>(n, |q, s| {
        s[0] += p.ux[q] * iv;
        s[1] += p.uy[q] * iv;
        s[2] += p.uz[q] * iv;
    });
    let mean = first.map(|v| v / nf);
    // Central sums: x^2, y^2, z^2, x^4, y^4, w^4 (w^2 = x^2 + y^2).
    let central = chunked_sums::<6>(n, |q, s| {
        let (x, y, z) = (p.ux[q] * iv - mean[0], p.uy[q] * iv - mean[1], p.uz[q] * iv - mean[2]);
        let (x2, y2) = (x * x, y * y);
        s[0] += x2;
        s[1] += y2;
        s[2] += z * z;
        s[3] += x2 * x2;
        s[4] += y2 * y2;
        s[5] += (x2 + y2) * (x2 + y2);
    });
    let temperature = [central[0] / nf, central[1] / nf, central[2] / nf];
    let ratio = |m4: f64, m2: f64| if m2 > 0.0 { m4 / nf / (m2 * m2) } else { f64::NAN };
    let kurtosis = [ratio(central[3], temperature[0]), ratio(central[4], temperature[1])];
    let w2 = temperature[0] + temperature[1];
    let kurtosis_plane = ratio(central[5], w2);
    // The isotropic Maxwellian's probability of each cell: products of
    // differences of the normal distribution function at the cell edges.
    let t = 0.5 * w2;
    let cell_probabilities = |nb: usize, lo: f64, dv: f64, m: f64| -> Vec<f64> {
        let cdf = |v: f64| 0.5 * (1.0 + erf((v - m) / (2.0 * t).sqrt()));
        (0..nb).map(|i| cdf(lo + (i + 1) as f64 * dv) - cdf(lo + i as f64 * dv)).collect()
    };
    let (mut l1, mut noise) = (0.0, 0.0);
    if t > 0.0 && n > 0 {
        let px = cell_probabilities(grid.nx, grid.x_range[0], grid.dvx(), mean[0]);
        let py = cell_probabilities(grid.ny, grid.y_range[0], grid.dvy(), mean[1]);
        for i in 0..grid.nx {
            for j in 0..grid.ny {
                let q = (px[i] * py[j]).max(0.0);
                l1 += (hist[[i, j]] / nf - q).abs();
                noise += poisson_mean_absolute_deviation(nf * q) / nf;
            }
        }
    }
    BackgroundRecord {
        dump,
        time,
        background,
        particles: n,
        mean,
        temperature,
        kurtosis,
        kurtosis_plane,
        l1_maxwellian: if t > 0.0 && n > 0 { l1 } else { f64::NAN },
        l1_noise: noise,
    }
}

/// `E|X - mu|` of a Poisson count `X` of mean `mu >= 0`:
/// `2 e^{-mu} mu^{m+1} / m!`, `m = floor(mu)` (De Moivre; see e.g. Crow,
/// Biometrika 45 (1958) 556), in logarithms with Stirling's series for
/// `ln m!` = `ln Gamma(m + 1)` to `1/x^5` (error below `1e-10` for `m >= 10`).
fn poisson_mean_absolute_deviation(mu: f64) -> f64 {
    if mu <= 0.0 {
        return 0.0;
    }
    let m = mu.floor();
    let ln_factorial = if m < 10.0 {
        (2..=m as u64).map(|j| (j as f64).ln()).sum::<f64>()
    } else {
        let x = m + 1.0;
        let x2 = x * x;
        (x - 0.5) * x.ln() - x
            + 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / (1260.0 * x2)) / x2) / x
    };
    2.0 * (-mu + (m + 1.0) * mu.ln() - ln_factorial).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the definition summed term by term, and the normal limit
    /// `sqrt(2 mu / pi)` for large `mu`.
    #[test]
    fn poisson_deviation() {
        for mu in [0.1_f64, 1.0, 2.5, 9.99, 10.0, 37.3, 150.0] {
            let (mut p, mut sum) = ((-mu).exp(), 0.0);
            for x in 0..2000u32 {
                sum += p * (x as f64 - mu).abs();
                p *= mu / (x + 1) as f64;
            }
            let mad = poisson_mean_absolute_deviation(mu);
            assert!((mad / sum - 1.0).abs() < 1e-9, "mu = {mu}: {mad} vs {sum}");
        }
        let big = poisson_mean_absolute_deviation(1e6);
        assert!((big / (2e6 / std::f64::consts::PI).sqrt() - 1.0).abs() < 1e-5, "{big}");
        assert_eq!(poisson_mean_absolute_deviation(0.0), 0.0);
    }

    #[test]
    fn weighted_choice_prefers_heavy_items() {
        let items = (0..10_000u64).map(|i| (i, if i < 100 { 100.0 } else { 1.0 }));
        let ids = choose(items, 100, 1, 2);
        assert_eq!(ids.len(), 100);
        // Heavy items hold 100 * 100 / (100 * 100 + 9900) = 50 % of the weight:
        // about 40 of them are expected in the first 100 draws without replacement.
        let heavy = ids.iter().filter(|&&i| i < 100).count();
        assert!((20..70).contains(&heavy), "{heavy}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
