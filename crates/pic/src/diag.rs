//! Sub-population diagnostics: velocity histograms and particle tracks.
//!
//! Velocities are the momenta `u = gamma v` (OSIRIS' `p1`, `p2` phase
//! spaces) in units of the owning species' thermal spread `v_th` (the rms
//! of its initial `u_x`), the units in which targets are given; for
//! `v_th << c` they equal `v / v_th` to `O(v^2 / c^2)`. The cell-centred grid is
//! `[-v_max, v_max]^2` of [`collop_core::VelocityGrid`], axis 0 = `v_x`.
//! Histograms hold particle counts (test species, selection) or sums of
//! weights `g(v0) / f(v0)` (reweighting), like the reference data.

use std::collections::HashMap;

use collop_core::VelocityGrid;
use collop_io::TrackData;
use ndarray::Array2;
use rayon::prelude::*;

use crate::PicError;
use crate::deck::{Deck, Distribution, Method, selection_bound};
use crate::load::uniform_hash;
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
    /// Target density in `v_th` units.
    pub target: Distribution,
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

/// All sub-populations of a run and the histogram grid.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The sub-populations, in deck order.
    pub pops: Vec<SubPopulation>,
    /// Histogram grid (in `v_th`).
    pub grid: VelocityGrid,
}

impl Diagnostics {
    /// Tag the selected particles, store the initial momenta for
    /// reweighting, and choose the tracked particles, at `t = 0`.
    pub fn new(deck: &Deck, sim: &mut Simulation) -> Result<Self, PicError> {
        let ps = &deck.phase_space;
        let grid = VelocityGrid::square(ps.bins, ps.v_max).map_err(|e| PicError::Deck(e.to_string()))?;
        let mut pops = Vec::new();
        let mut next_bit = 0u32;
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
                Method::Selection => {
                    if next_bit == 32 {
                        return Err(PicError::Deck("at most 32 selected sub-populations".into()));
                    }
                    pop.bit = 1 << next_bit;
                    next_bit += 1;
                    pop.bound = selection_bound(&pop.target, &pop.background, ps.v_max.max(6.0));
                    let p = &mut sim.species[owner_idx].particles;
                    if p.tag.is_empty() {
                        p.tag = vec![0; p.len()];
                    }
                    for q in 0..p.len() {
                        let (vx, vy) = (p.ux[q] / v_th, p.uy[q] / v_th);
                        let accept = pop.target.pdf2(vx, vy) / (pop.bound * pop.background.pdf2(vx, vy));
                        if uniform_hash(deck.seed, stream, p.id[q]) < accept {
                            p.tag[q] |= pop.bit;
                        }
                    }
                    let members = (0..p.len()).filter(|&q| p.tag[q] & pop.bit != 0).map(|q| (p.id[q], 1.0));
                    pop.tracks.ids = choose(members, sub.tracks, deck.seed, stream + 1000);
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
        Ok(Self { pops, grid })
    }

    /// Histogram of sub-population `k` at the present step.
    pub fn histogram(&self, sim: &Simulation, k: usize) -> Array2<f64> {
        let pop = &self.pops[k];
        let p = &sim.species[pop.species].particles;
        let (nb, vmax) = (self.grid.nx, self.grid.x_range[1]);
        let scale = nb as f64 / (2.0 * vmax);
        const CHUNK: usize = 1 << 16;
        // Fixed chunks reduced in order: the same sums for any thread count.
        let parts: Vec<Vec<f64>> = (0..p.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut h = vec![0.0; nb * nb];
                for q in c * CHUNK..((c + 1) * CHUNK).min(p.len()) {
                    let w = pop.member_weight(p, q);
                    if w == 0.0 {
                        continue;
                    }
                    let iv = 1.0 / pop.v_th;
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
    /// Reweighting weight `g(v0) / f(v0)` of an initial momentum (in `c`).
    pub fn weight(&self, u0: [f32; 2]) -> f64 {
        let (vx, vy) = (u0[0] as f64 / self.v_th, u0[1] as f64 / self.v_th);
        let f = self.background.pdf2(vx, vy);
        if f > 0.0 { self.target.pdf2(vx, vy) / f } else { 0.0 }
    }

    /// Weight of particle `q` of `p` in this sub-population's histogram.
    #[inline]
    fn member_weight(&self, p: &Particles, q: usize) -> f64 {
        match self.method {
            Method::TestSpecies => 1.0,
            Method::Selection => {
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

/// `count` items chosen at random with probability proportional to their
/// weight, without replacement (Efraimidis & Spirakis, Inf. Process. Lett.
/// 97 (2006) 181: the largest keys `u^(1/w)`), from hashes of the ids so
/// the choice does not depend on particle order. Returned ids ascending.
fn choose(items: impl Iterator<Item = (u64, f64)>, count: usize, seed: u64, stream: u64) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    let mut keyed: Vec<(f64, u64)> = items
        .filter(|&(_, w)| w > 0.0)
        .map(|(id, w)| (uniform_hash(seed, stream, id).ln() / w, id))
        .collect();
    let take = count.min(keyed.len());
    if take < keyed.len() {
        keyed.select_nth_unstable_by(take, |a, b| b.0.total_cmp(&a.0));
    }
    let mut ids: Vec<u64> = keyed[..take].iter().map(|&(_, id)| id).collect();
    ids.sort_unstable();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

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
