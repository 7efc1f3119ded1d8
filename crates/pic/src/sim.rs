//! The simulation state and its time step.
//!
//! Leapfrog in time (Birdsall & Langdon 1991, chapters 4 and 15): positions
//! and fields at integer steps `n`, momenta at half steps `n - 1/2`. One
//! electromagnetic step:
//!
//! 1. gather `E^n, B^n` at `x^n`, Boris push to `u^{n+1/2}`, move to
//!    `x^{n+1}`, deposit `J^{n+1/2}` (Esirkepov), all in one pass;
//! 2. `B^{n+1/2} = B^n - dt/2 curl E^n`, `E^{n+1} = E^n + dt (curl B^{n+1/2} - J^{n+1/2})`,
//!    `B^{n+1} = B^{n+1/2} - dt/2 curl E^{n+1}` (Yee, with `B` kept at integer times).
//!
//! One electrostatic step: gather `E^n`, push, move, deposit `rho^{n+1}`,
//! solve Poisson for `E^{n+1}`. Initial momenta are taken as `u^{-1/2}`; the
//! initial `E` solves Gauss's law for the initial charge in both solvers.

use rayon::prelude::*;

use crate::PicError;
use crate::advance::{self, Chunk, Coeffs, EmFields, EsFields, Sources};
use crate::deck::{Deck, EsScheme, Method, SolverKind};
use crate::filter::binomial;
use crate::grid::Grid;
use crate::load::{load, load_uniform};
use crate::particles::{Particles, SortScratch};
use crate::poisson::PoissonSolver;
use crate::push::kinetic;
use crate::yee::{self, Fields};

/// A particle species and its macro-particles.
#[derive(Debug, Clone, PartialEq)]
pub struct Species {
    /// Name from the deck.
    pub name: String,
    /// Charge, `e`.
    pub charge: f64,
    /// Mass, `m_e`.
    pub mass: f64,
    /// Density, `n_0`.
    pub density: f64,
    /// Macro-particles per cell (0 for a test species spread over the box).
    pub ppc: usize,
    /// Density carried by one macro-particle spread over one cell.
    pub weight: f64,
    /// Drift added to the initial momenta to cancel the current of the
    /// species' test species, `c`.
    pub drift: [f64; 3],
    /// The macro-particles.
    pub particles: Particles,
}

/// Energies at one time, in `m_e c^2 n_0 (c/omega_p)^2` (per unit length along z).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnergyRecord {
    /// Step number.
    pub step: u64,
    /// Time, `1/omega_p`.
    pub time: f64,
    /// Electric field energy `sum E^2 / 2 dx dy` (es: `sum rho phi / 2 dx dy`).
    pub electric: f64,
    /// Magnetic field energy `sum B^2 / 2 dx dy`.
    pub magnetic: f64,
    /// Kinetic energy `sum m w (gamma - 1) dx dy` per species (deck order,
    /// mobile species only), the mean of its values at `n - 1/2` and `n + 1/2`.
    pub kinetic: Vec<f64>,
    /// Field plus kinetic.
    pub total: f64,
}

/// One thread's deposit buffers (padded) and kinetic-energy sum.
#[derive(Debug)]
struct Buffer {
    jx: Vec<f64>,
    jy: Vec<f64>,
    jz: Vec<f64>,
    rho: Vec<f64>,
    ke: f64,
}

/// A running 2D3V PIC simulation.
#[derive(Debug)]
pub struct Simulation {
    /// The periodic grid.
    pub grid: Grid,
    /// Time step, `1/omega_p`.
    pub dt: f64,
    /// Shape order, 1 to 4.
    pub order: usize,
    /// Field solver.
    pub kind: SolverKind,
    /// Electrostatic interpolation scheme.
    pub es_scheme: EsScheme,
    /// Binomial filter passes.
    pub filter_passes: usize,
    /// Steps between sorts (0: never).
    pub sort_every: usize,
    /// External uniform magnetic field.
    pub b0: [f64; 3],
    /// Mobile species, in deck order, each followed by its test species.
    pub species: Vec<Species>,
    /// Charge density of the immobile background species.
    pub background_rho: f64,
    /// Fields, current and charge.
    pub fields: Fields,
    step: u64,
    buffers: Vec<Buffer>,
    poisson: PoissonSolver,
    sort_scratch: SortScratch,
    tmp: Vec<f64>,
    simd: bool,
}

macro_rules! with_order {
    ($order:expr, $O:ident => $body:expr) => {
        match $order {
            1 => {
                const $O: usize = 1;
                $body
            }
            2 => {
                const $O: usize = 2;
                $body
            }
            3 => {
                const $O: usize = 3;
                $body
            }
            4 => {
                const $O: usize = 4;
                $body
            }
            o => unreachable!("shape order {o}"),
        }
    };
}

/// Run `kernel` on `buffers.len()` contiguous chunks of `p` in parallel,
/// chunk `c` writing into buffer `c`; the chunking depends only on the
/// particle count and the number of buffers, so results are reproducible
/// for a given thread count.
fn for_chunks<F>(p: &mut Particles, buffers: &mut [Buffer], kernel: F)
where
    F: Fn(Chunk<'_>, &mut Buffer) -> f64 + Sync + Send,
{
    let n = p.len();
    if n == 0 {
        return;
    }
    let cs = n.div_ceil(buffers.len()).max(1);
    (
        p.x.par_chunks_mut(cs),
        p.y.par_chunks_mut(cs),
        p.ux.par_chunks_mut(cs),
        p.uy.par_chunks_mut(cs),
        p.uz.par_chunks_mut(cs),
        buffers.par_iter_mut(),
    )
        .into_par_iter()
        .for_each(|(x, y, ux, uy, uz, b)| {
            let ke = kernel(Chunk { x, y, ux, uy, uz }, b);
            b.ke += ke;
        });
}

/// `dst = sum_c pick(buffer c)` row by row in parallel, buffers zeroed after.
fn reduce(stride: usize, dst: &mut [f64], buffers: &mut [Buffer], pick: fn(&mut Buffer) -> &mut Vec<f64>) {
    {
        let srcs: Vec<&[f64]> = buffers.iter_mut().map(|b| pick(b).as_slice()).collect();
        dst.par_chunks_mut(stride).enumerate().for_each(|(r, row)| {
            let off = r * stride;
            row.copy_from_slice(&srcs[0][off..off + stride]);
            for s in &srcs[1..] {
                for (d, v) in row.iter_mut().zip(&s[off..off + stride]) {
                    *d += v;
                }
            }
        });
    }
    buffers.par_iter_mut().for_each(|b| pick(b).fill(0.0));
}

impl Simulation {
    /// Load the particles and solve for the initial fields. `chunks` is the
    /// number of particle chunks (and deposit buffers) per species, normally
    /// the number of threads.
    pub fn new(deck: &Deck, chunks: usize) -> Result<Self, PicError> {
        deck.validate()?;
        let grid = Grid { nx: deck.grid.nx, ny: deck.grid.ny, dx: deck.grid.dx, dy: deck.grid.dy };
        let mut species = Vec::new();
        let mut background_rho = 0.0;
        let cells = grid.nx * grid.ny;
        for (s, sd) in deck.species.iter().enumerate() {
            if !sd.mobile {
                background_rho += sd.charge * sd.density;
                continue;
            }
            // Test species take their density from the species.
            let total = deck.test_fraction(&sd.name);
            let density = sd.density * (1.0 - total);
            let mut particles =
                load(grid.nx, grid.ny, sd.ppc, sd.positions, sd.distribution.as_ref(), deck.seed, s as u32);
            let weight = density / sd.ppc as f64;
            let mut tests = Vec::new();
            let mut current = [0.0; 3];
            for (k, sub) in deck.sub_populations.iter().enumerate() {
                if sub.species != sd.name || sub.method != Method::TestSpecies {
                    continue;
                }
                let n = sub.test_particles(sd.ppc, cells, total);
                let target = sub.target.as_ref().expect("validated: test species have a target");
                let target = target.scaled(sd.thermal_spread());
                let p = load_uniform(n, grid.nx, grid.ny, &target, deck.seed, (1000 + k as u64) << 32);
                for (c, u) in current.iter_mut().zip([&p.ux, &p.uy, &p.uz]) {
                    *c += u.iter().sum::<f64>();
                }
                tests.push(Species {
                    name: sub.name.clone(),
                    charge: sd.charge,
                    mass: sd.mass,
                    density: sd.density * sub.fraction,
                    ppc: 0,
                    weight,
                    drift: [0.0; 3],
                    particles: p,
                });
            }
            let mut drift = [0.0; 3];
            if !tests.is_empty() {
                // The background drifts to cancel the test species' current,
                // and its own sample's, so that the species' momenta (equal
                // weights) sum to zero and no uniform field is driven.
                let nb = particles.len() as f64;
                let arrays = [&mut particles.ux, &mut particles.uy, &mut particles.uz];
                for ((u, c), d) in arrays.into_iter().zip(current).zip(&mut drift) {
                    *d = -(c + u.iter().sum::<f64>()) / nb;
                    u.iter_mut().for_each(|v| *v += *d);
                }
            }
            species.push(Species {
                name: sd.name.clone(),
                charge: sd.charge,
                mass: sd.mass,
                density,
                ppc: sd.ppc,
                weight,
                drift,
                particles,
            });
            species.append(&mut tests);
        }
        let em = deck.solver.kind == SolverKind::Em;
        let chunks = chunks.max(1);
        let buffers = (0..chunks)
            .map(|_| Buffer {
                jx: if em { grid.zeros() } else { Vec::new() },
                jy: if em { grid.zeros() } else { Vec::new() },
                jz: if em { grid.zeros() } else { Vec::new() },
                rho: if em { Vec::new() } else { grid.zeros() },
                ke: 0.0,
            })
            .collect();
        let mut sim = Self {
            grid,
            dt: deck.time.dt,
            order: deck.solver.shape_order,
            kind: deck.solver.kind,
            es_scheme: deck.solver.es_scheme,
            filter_passes: deck.solver.filter_passes,
            sort_every: deck.solver.sort_every,
            b0: deck.solver.external_b,
            species,
            background_rho,
            fields: Fields::zeros(&grid),
            step: 0,
            buffers,
            poisson: PoissonSolver::new(grid),
            sort_scratch: SortScratch::default(),
            tmp: grid.zeros(),
            simd: advance::simd_available(),
        };
        sim.sort();
        sim.initialise_fields();
        Ok(sim)
    }

    /// Steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Current time, `1/omega_p`.
    pub fn time(&self) -> f64 {
        self.step as f64 * self.dt
    }

    /// Set the step counter (when restoring a checkpoint).
    pub fn set_step_count(&mut self, step: u64) {
        self.step = step;
    }

    /// Choose the AVX2 + FMA build of the particle kernels (granted only
    /// where the CPU has them; the default where it does) or the portable
    /// one. The two round differently, so bit-for-bit reproducibility holds
    /// for a given choice, seed and thread count.
    pub fn use_simd(&mut self, on: bool) {
        self.simd = on && advance::simd_available();
    }

    /// Whether the AVX2 + FMA kernels are in use.
    pub fn simd(&self) -> bool {
        self.simd
    }

    /// Number of particle chunks (deposit buffers).
    pub fn chunks(&self) -> usize {
        self.buffers.len()
    }

    /// Total macro-particles.
    pub fn particle_count(&self) -> usize {
        self.species.iter().map(|s| s.particles.len()).sum()
    }

    /// Solve Gauss's law for `E` from the present charge (B unchanged): the
    /// start of a run, or after moving particles by hand.
    pub fn initialise_fields(&mut self) {
        let mut rho = std::mem::take(&mut self.fields.rho);
        self.charge_density_into(&mut rho);
        self.fields.rho = rho;
        self.solve_electrostatic();
    }

    /// `phi` from `fields.rho`, then `E` as the solver and scheme require.
    fn solve_electrostatic(&mut self) {
        let f = &mut self.fields;
        self.poisson.solve(&f.rho, &mut f.phi);
        match (self.kind, self.es_scheme) {
            (SolverKind::Es, EsScheme::Momentum) => {
                yee::centred_gradient(&self.grid, &f.phi, &mut f.ex, &mut f.ey)
            }
            _ => yee::staggered_gradient(&self.grid, &f.phi, &mut f.ex, &mut f.ey),
        }
    }

    /// Total charge density on the nodes at the present positions (particles
    /// plus background, filtered like the solver's source, guards filled).
    pub fn charge_density(&self) -> Vec<f64> {
        let mut rho = self.grid.zeros();
        let mut tmp = self.grid.zeros();
        self.deposit_rho(&mut rho);
        binomial(&self.grid, &mut rho, &mut tmp, self.filter_passes);
        rho
    }

    fn charge_density_into(&mut self, rho: &mut [f64]) {
        rho.iter_mut().for_each(|v| *v = 0.0);
        self.deposit_rho(rho);
        binomial(&self.grid, rho, &mut self.tmp, self.filter_passes);
    }

    fn deposit_rho(&self, rho: &mut [f64]) {
        let g = &self.grid;
        for sp in &self.species {
            let p = &sp.particles;
            advance::deposit_charge(self.order, &p.x, &p.y, sp.charge * sp.weight, g.stride(), rho);
        }
        g.fold_guards(rho);
        self.add_background(rho);
    }

    fn add_background(&self, rho: &mut [f64]) {
        let g = &self.grid;
        for i in 0..g.nx {
            let k = g.idx(i, 0);
            rho[k..k + g.ny].iter_mut().for_each(|v| *v += self.background_rho);
        }
        g.fill_guards(rho);
    }

    /// Largest `|div E - rho|` on the nodes (Gauss's law; em, or es with the
    /// energy scheme whose `E` is staggered).
    pub fn gauss_residual(&self) -> f64 {
        yee::gauss_residual(&self.grid, &self.fields, &self.charge_density())
    }

    /// Electric and magnetic field energies at the present step.
    pub fn field_energy(&self) -> (f64, f64) {
        let g = &self.grid;
        let da = g.cell_area();
        let sq = |v: f64| v * v;
        match self.kind {
            SolverKind::Em => {
                let f = &self.fields;
                let e = g.sum_interior(&f.ex, sq) + g.sum_interior(&f.ey, sq) + g.sum_interior(&f.ez, sq);
                let b = g.sum_interior(&f.bx, sq) + g.sum_interior(&f.by, sq) + g.sum_interior(&f.bz, sq);
                (0.5 * e * da, 0.5 * b * da)
            }
            SolverKind::Es => {
                let f = &self.fields;
                let mut e = 0.0;
                for i in 0..g.nx {
                    let k = g.idx(i, 0);
                    e += f.rho[k..k + g.ny].iter().zip(&f.phi[k..k + g.ny]).map(|(r, p)| r * p).sum::<f64>();
                }
                (0.5 * e * da, 0.0)
            }
        }
    }

    /// Kinetic energy of each species from the stored momenta `u^{n-1/2}`.
    pub fn kinetic_energy_now(&self) -> Vec<f64> {
        let da = self.grid.cell_area();
        self.species
            .iter()
            .map(|sp| {
                let p = &sp.particles;
                let sum: f64 = (0..p.len()).map(|k| kinetic(p.u(k))).sum();
                sum * sp.mass * sp.weight * da
            })
            .collect()
    }

    /// Advance one time step.
    pub fn step(&mut self) {
        self.step_impl(false);
    }

    /// Advance one time step and return the energies at the time it started.
    pub fn step_with_energy(&mut self) -> EnergyRecord {
        let (step, time) = (self.step, self.time());
        let (electric, magnetic) = self.field_energy();
        let kinetic = self.step_impl(true);
        let total = electric + magnetic + kinetic.iter().sum::<f64>();
        EnergyRecord { step, time, electric, magnetic, kinetic, total }
    }

    fn step_impl(&mut self, ke: bool) -> Vec<f64> {
        let mut kinetic = if ke { Vec::with_capacity(self.species.len()) } else { Vec::new() };
        let g = self.grid;
        let da = g.cell_area();
        for s in 0..self.species.len() {
            self.buffers.iter_mut().for_each(|b| b.ke = 0.0);
            self.advance_species(s, ke);
            if ke {
                let sp = &self.species[s];
                let sum: f64 = self.buffers.iter().map(|b| b.ke).sum();
                kinetic.push(sum * sp.mass * sp.weight * da);
            }
        }
        let stride = g.stride();
        match self.kind {
            SolverKind::Em => {
                let f = &mut self.fields;
                reduce(stride, &mut f.jx, &mut self.buffers, |b| &mut b.jx);
                reduce(stride, &mut f.jy, &mut self.buffers, |b| &mut b.jy);
                reduce(stride, &mut f.jz, &mut self.buffers, |b| &mut b.jz);
                for j in [&mut f.jx, &mut f.jy, &mut f.jz] {
                    g.fold_guards(j);
                    binomial(&g, j, &mut self.tmp, self.filter_passes);
                }
                yee::advance_b(&g, f, 0.5 * self.dt);
                yee::advance_e(&g, f, self.dt);
                yee::advance_b(&g, f, 0.5 * self.dt);
            }
            SolverKind::Es => {
                let mut rho = std::mem::take(&mut self.fields.rho);
                reduce(stride, &mut rho, &mut self.buffers, |b| &mut b.rho);
                g.fold_guards(&mut rho);
                self.add_background(&mut rho);
                binomial(&g, &mut rho, &mut self.tmp, self.filter_passes);
                self.fields.rho = rho;
                self.solve_electrostatic();
            }
        }
        self.step += 1;
        if self.sort_every > 0 && self.step.is_multiple_of(self.sort_every as u64) {
            self.sort();
        }
        kinetic
    }

    /// Sort every species by cell.
    pub fn sort(&mut self) {
        for sp in &mut self.species {
            sp.particles.sort_by_cell(self.grid.nx, self.grid.ny, &mut self.sort_scratch);
        }
    }

    fn advance_species(&mut self, s: usize, ke: bool) {
        let g = self.grid;
        let sp = &mut self.species[s];
        let qw = sp.charge * sp.weight;
        let k = Coeffs {
            h: 0.5 * sp.charge * self.dt / sp.mass,
            dtx: self.dt / g.dx,
            dty: self.dt / g.dy,
            jx: -qw * g.dx / self.dt,
            jy: -qw * g.dy / self.dt,
            jz: qw,
            qw,
            nx: g.nx as f64,
            ny: g.ny as f64,
            b0: self.b0,
        };
        let f = &self.fields;
        let simd = self.simd;
        let stride = g.stride();
        let bufs = &mut self.buffers;
        let p = &mut sp.particles;
        match self.kind {
            SolverKind::Em => {
                let ef =
                    EmFields { ex: &f.ex, ey: &f.ey, ez: &f.ez, bx: &f.bx, by: &f.by, bz: &f.bz, stride };
                with_order!(self.order, O => {
                    if ke {
                        for_chunks(p, bufs, |c, b| {
                            advance::em::<O, true>(simd, c, &ef, &k, Sources { jx: &mut b.jx, jy: &mut b.jy, jz: &mut b.jz })
                        })
                    } else {
                        for_chunks(p, bufs, |c, b| {
                            advance::em::<O, false>(simd, c, &ef, &k, Sources { jx: &mut b.jx, jy: &mut b.jy, jz: &mut b.jz })
                        })
                    }
                })
            }
            SolverKind::Es => {
                let ef = EsFields { ex: &f.ex, ey: &f.ey, stride };
                let energy = self.es_scheme == EsScheme::Energy;
                with_order!(self.order, O => {
                    match (ke, energy) {
                        (true, true) => for_chunks(p, bufs, |c, b| advance::es::<O, true, true>(simd, c, &ef, &k, &mut b.rho)),
                        (true, false) => for_chunks(p, bufs, |c, b| advance::es::<O, true, false>(simd, c, &ef, &k, &mut b.rho)),
                        (false, true) => for_chunks(p, bufs, |c, b| advance::es::<O, false, true>(simd, c, &ef, &k, &mut b.rho)),
                        (false, false) => for_chunks(p, bufs, |c, b| advance::es::<O, false, false>(simd, c, &ef, &k, &mut b.rho)),
                    }
                })
            }
        }
    }
}
