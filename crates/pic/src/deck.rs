//! The input deck: a typed TOML file, unknown keys rejected.
//!
//! Units are those of OSIRIS: time `1/omega_p`, length `c/omega_p`,
//! momentum `u = gamma v` in `c`, charge in `e`, mass in `m_e`, density in
//! `n_0` (so a species of density 1, charge -1 and mass 1 has plasma
//! frequency 1).
//!
//! ```toml
//! seed = 1
//!
//! [grid]
//! nx = 128
//! ny = 128
//! dx = 0.05            # c / omega_p
//! dy = 0.05
//!
//! [time]
//! dt = 0.03            # 1 / omega_p
//! n_steps = 1000
//! dump_every = 50      # steps between diagnostic dumps
//!
//! [solver]
//! kind = "em"          # "em" (Yee FDTD + Esirkepov) or "es" (FFT Poisson)
//! shape_order = 2      # B-spline order 1..4
//! filter_passes = 0    # binomial 1-2-1 passes on J (em) or rho (es)
//! es_scheme = "momentum"  # or "energy" (es only)
//! sort_every = 50      # steps between particle sorts by cell
//!
//! [[species]]
//! name = "electrons"
//! charge = -1.0
//! mass = 1.0
//! density = 1.0
//! ppc = 16
//! positions = "random" # or "quiet"
//! distribution = { kind = "maxwellian", u_th = 0.1 }
//!
//! [[species]]
//! name = "ions"
//! charge = 1.0
//! mass = 1836.0
//! density = 1.0
//! mobile = false       # a uniform neutralising background
//!
//! [output]
//! energy_every = 10           # steps between energy records
//! checkpoint_every_dumps = 20 # 0: no checkpoints
//! fields_every_dumps = 0      # field snapshots fields/NNNNNN.npz (0: none)
//!
//! [phase_space]
//! bins = 51            # histogram cells per axis
//! v_max = 5.0          # window [-v_max, v_max]^2 in units of the species' v_th
//!
//! [[sub_populations]]
//! name = "blob"
//! species = "electrons"
//! method = "test_species"   # or "selection", "reweighting", "region", "all" (below)
//! fraction = 0.02           # test_species only: density fraction
//! target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }  # in v_th
//! tracks = 1000             # particles whose velocities are saved at every dump
//! ```
//!
//! Sub-population targets are in units of the thermal spread `v_th` of
//! their species (the rms of `u_x` of its initial distribution), like the
//! phase-space window.
//!
//! Distributions (`distribution` of a species, `target` of a
//! sub-population), by `kind`:
//!
//! ```toml
//! { kind = "maxwellian", u_th = 0.05, drift = [0.0, 0.0, 0.0] }
//! { kind = "bi_maxwellian", u_th = [0.3, 0.1, 0.1] }     # spreads along x, y, z
//! { kind = "ring", radius = 2.0, width = 0.2, u_th_z = 1.0 }
//! { kind = "waterbag", radius = 0.1 }                    # u_z: Gaussian of rms radius / 2
//! { kind = "waterbag", radius = 0.1, centre = [0.0, 0.0], u_th_z = 0.05 }
//! { kind = "sum", components = [{ fraction = 1.0, distribution = { ... } }, ...] }
//! ```
//!
//! A waterbag is uniform in the disk `|(u_x, u_y) - centre| <= radius`; its
//! `v_th` (rms of `u_x`) is `radius / 2`, so a waterbag of edge `v_w` has
//! `v_th = v_w / 2`, and the edge sits at `2 v_th` in the datasets. Its
//! `u_z` is Gaussian with the same rms `radius / 2` unless `u_th_z` says
//! otherwise: the pressure tensor is then isotropic, whereas a `u_z`
//! colder or hotter than the plane would make an electromagnetic run
//! Weibel-unstable ([`Distribution::Waterbag`]). A `bi_maxwellian`
//! species' `v_th` is its spread along `x`: its sub-populations, regions and
//! histograms are in that unit along both axes.
//!
//! Sub-populations that partition a species by initial velocity, and the
//! whole species' histogram:
//!
//! ```toml
//! [[sub_populations]]
//! name = "blob_-1_0"
//! species = "electrons"
//! method = "region"
//! region = { kind = "blob", centre = [-1.0, 0.0], radius = 0.5 }   # in v_th
//! tracks = 2000
//!
//! [[sub_populations]]
//! name = "ring_1_1.5"
//! species = "electrons"
//! method = "region"
//! region = { kind = "ring", r_min = 1.0, r_max = 1.5, angles = [0.0, 180.0] }   # degrees
//!
//! [[sub_populations]]
//! name = "rest"
//! species = "electrons"
//! method = "region"
//! region = { kind = "rest" }     # everything the regions above left: the partition is complete
//!
//! [[sub_populations]]
//! name = "background"
//! species = "electrons"
//! method = "all"                 # every particle of the species
//! ```
//!
//! The regions of a species are exclusive in deck order (a particle belongs
//! to the first region containing its initial velocity; see [`Region`]), so
//! with a `rest` their histograms sum exactly to the `all` histogram at every
//! dump. A region that would hold no particle, a `rest` before another
//! region of its species, regions or `all` on a species that also has test
//! species, and more than 32 sub-populations by selection or region are
//! refused. The run also writes `background.csv`, the moments of every
//! thermal species at every dump ([`mod@crate::run`]).

use serde::{Deserialize, Serialize};

use crate::PicError;

// The sub-population specification is shared with `collop import`: its types
// live in `collop_core::population` and keep the deck's syntax.
pub use collop_core::population::{
    Component, Distribution, MAX_TAGGED, Method, PhaseSpaceDeck, Region, SubPopulationDeck, erf,
    region_fractions, selection_bound,
};

/// A whole PIC run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deck {
    /// Seed of every random draw of the run.
    #[serde(default)]
    pub seed: u64,
    /// The periodic box.
    pub grid: GridDeck,
    /// Time step and run length.
    pub time: TimeDeck,
    /// Field solver and particle numerics.
    #[serde(default)]
    pub solver: SolverDeck,
    /// Particle species (at least one mobile).
    pub species: Vec<SpeciesDeck>,
    /// Energy history and checkpoints.
    #[serde(default)]
    pub output: OutputDeck,
    /// The velocity histograms written at every dump.
    #[serde(default)]
    pub phase_space: PhaseSpaceDeck,
    /// Tagged sub-populations whose histograms and tracks are written.
    #[serde(default)]
    pub sub_populations: Vec<SubPopulationDeck>,
}

/// The periodic box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridDeck {
    /// Cells along x.
    pub nx: usize,
    /// Cells along y.
    pub ny: usize,
    /// Cell width along x, `c/omega_p`.
    pub dx: f64,
    /// Cell width along y, `c/omega_p`.
    pub dy: f64,
}

/// Time step and run length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeDeck {
    /// Time step, `1/omega_p`.
    pub dt: f64,
    /// Number of steps.
    pub n_steps: usize,
    /// Steps between diagnostic dumps (dump 0 is the initial state).
    pub dump_every: usize,
}

/// The field solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SolverKind {
    /// Yee FDTD Maxwell solver with Esirkepov current deposition.
    #[default]
    Em,
    /// FFT Poisson solver (electrostatic, no light waves, no Courant limit).
    Es,
}

/// How the electrostatic field is interpolated to the particles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EsScheme {
    /// `E` on the nodes by centred differences of `phi`, gathered with the
    /// deposition shape: no self-force, total momentum conserved exactly
    /// (Birdsall & Langdon 1991, section 8-5); energy drifts slowly (grid
    /// heating when `dx >> lambda_D`).
    #[default]
    Momentum,
    /// `E` staggered by one-sided differences of `phi`, gathered with the
    /// shape of one order lower along the field component: the force is
    /// minus the gradient of the particle's interpolated potential, so total
    /// energy is conserved in the limit `dt -> 0` (Lewis, J. Comput. Phys. 6
    /// (1970) 136); momentum is not conserved exactly.
    Energy,
}

/// Field solver and particle numerics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverDeck {
    /// `"em"` or `"es"`.
    #[serde(default)]
    pub kind: SolverKind,
    /// B-spline shape order, 1 to 4, for deposit and gather.
    #[serde(default = "default_order")]
    pub shape_order: usize,
    /// Passes of the binomial filter on the deposited source.
    #[serde(default)]
    pub filter_passes: usize,
    /// Interpolation of the electrostatic field (es only).
    #[serde(default)]
    pub es_scheme: EsScheme,
    /// Steps between sorts of the particles by cell (0: never).
    #[serde(default = "default_sort")]
    pub sort_every: usize,
    /// A uniform external magnetic field added to the particles' B.
    #[serde(default)]
    pub external_b: [f64; 3],
}

fn default_order() -> usize {
    2
}

fn default_sort() -> usize {
    50
}

impl Default for SolverDeck {
    fn default() -> Self {
        Self {
            kind: SolverKind::Em,
            shape_order: default_order(),
            filter_passes: 0,
            es_scheme: EsScheme::Momentum,
            sort_every: default_sort(),
            external_b: [0.0; 3],
        }
    }
}

/// Initial positions of a species.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Positions {
    /// Uniformly random in each cell (`ppc` per cell).
    #[default]
    Random,
    /// A regular `px x py` lattice in each cell, `px py = ppc`, `px` the
    /// largest divisor of `ppc` not above its square root.
    Quiet,
}

/// A particle species.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeciesDeck {
    /// Name (unique).
    pub name: String,
    /// Charge, `e`.
    pub charge: f64,
    /// Mass, `m_e`.
    pub mass: f64,
    /// Density, `n_0`.
    pub density: f64,
    /// Macro-particles per cell (mobile species).
    #[serde(default)]
    pub ppc: usize,
    /// Initial positions.
    #[serde(default)]
    pub positions: Positions,
    /// `false`: an immobile uniform background of this charge density.
    #[serde(default = "default_true")]
    pub mobile: bool,
    /// Initial momentum distribution (mobile species; cold if absent).
    #[serde(default)]
    pub distribution: Option<Distribution>,
}

fn default_true() -> bool {
    true
}

/// Energy history and checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputDeck {
    /// Steps between energy-history records (0: only at dumps).
    #[serde(default = "default_energy_every")]
    pub energy_every: usize,
    /// Dumps between checkpoints (0: none).
    #[serde(default)]
    pub checkpoint_every_dumps: usize,
    /// Dumps between field snapshots `fields/NNNNNN.npz` (0: none).
    #[serde(default)]
    pub fields_every_dumps: usize,
}

fn default_energy_every() -> usize {
    10
}

impl Default for OutputDeck {
    fn default() -> Self {
        Self { energy_every: default_energy_every(), checkpoint_every_dumps: 0, fields_every_dumps: 0 }
    }
}

impl SpeciesDeck {
    /// Thermal spread `v_th`: the rms of `u_x` of the initial distribution
    /// about its mean (0 when cold).
    pub fn thermal_spread(&self) -> f64 {
        self.distribution.as_ref().map_or(0.0, |d| d.moments().1[0].sqrt())
    }
}

impl Deck {
    /// Total density fraction of the test species of species `name`.
    pub fn test_fraction(&self, name: &str) -> f64 {
        self.sub_populations
            .iter()
            .filter(|sp| sp.species == name && sp.method == Method::TestSpecies)
            .map(|sp| sp.fraction)
            .sum()
    }
}

impl Deck {
    /// Check every sub-population and estimate its size; returns the
    /// estimates and the particles test species add. `names` holds the
    /// species' names (sub-population names join it).
    fn sub_population_infos<'a>(
        &'a self,
        n_dumps: usize,
        names: &mut std::collections::HashSet<&'a str>,
    ) -> Result<(Vec<SubPopulationInfo>, usize), PicError> {
        let refuse = |msg: String| Err(PicError::Deck(msg));
        let g = &self.grid;
        let ps = &self.phase_space;
        let mut sub_info = Vec::new();
        let mut extra_particles = 0usize;
        // Expected fraction of each region sub-population, by name, computed
        // once per species (the regions of a species are exclusive together).
        let mut region_fraction: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
        let tagged = self.sub_populations.iter().filter(|sp| sp.method.uses_tag()).count();
        if tagged > MAX_TAGGED {
            return refuse(format!(
                "{tagged} sub-populations use method = \"selection\" or \"region\"; at most {MAX_TAGGED} \
                 (one bit of the particles' tag each): merge regions or use reweighting"
            ));
        }
        for sp in &self.sub_populations {
            let what = format!("sub-population '{}'", sp.name);
            let name_ok = !sp.name.is_empty()
                && !sp.name.starts_with('.')
                && sp.name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !name_ok {
                return refuse(format!(
                    "{what}: a name is letters, digits, '_', '-', '.' (it names a folder)"
                ));
            }
            if !names.insert(sp.name.as_str()) {
                return refuse(format!("{what}: the name is already used by a species or sub-population"));
            }
            let Some(owner) = self.species.iter().find(|s| s.name == sp.species) else {
                return refuse(format!("{what}: no species '{}'", sp.species));
            };
            let v_th = owner.thermal_spread();
            if !owner.mobile || v_th <= 0.0 {
                return refuse(format!(
                    "{what}: species '{}' must be mobile and thermal (v_th > 0)",
                    sp.species
                ));
            }
            let method = format!("method = \"{}\"", sp.method.name());
            match (&sp.target, sp.method.needs_target()) {
                (None, true) => {
                    return refuse(format!(
                        "{what}: {method} needs a target distribution (target = {{ kind = \"maxwellian\", ... }}, \
                         in v_th)"
                    ));
                }
                (Some(_), false) => {
                    return refuse(format!(
                        "{what}: {method} takes no target (its particles are the species' own); remove the \
                         target key"
                    ));
                }
                (Some(target), true) => target.check(&what).map_err(PicError::Deck)?,
                (None, false) => {}
            }
            match (&sp.region, sp.method) {
                (None, Method::Region) => {
                    return refuse(format!(
                        "{what}: {method} needs a region (region = {{ kind = \"blob\" | \"ring\" | \"rest\", ... }}, \
                         in v_th)"
                    ));
                }
                (Some(_), m) if m != Method::Region => {
                    return refuse(format!(
                        "{what}: the region key is for method = \"region\" only; remove it or change the method"
                    ));
                }
                (Some(region), _) => region.check(&what).map_err(PicError::Deck)?,
                _ => {}
            }
            if sp.method != Method::TestSpecies && sp.fraction != 0.0 {
                return refuse(format!("{what}: fraction is for test_species only; remove it"));
            }
            if matches!(sp.method, Method::Region | Method::All) {
                let tests: Vec<&str> = self
                    .sub_populations
                    .iter()
                    .filter(|t| t.species == sp.species && t.method == Method::TestSpecies)
                    .map(|t| t.name.as_str())
                    .collect();
                if !tests.is_empty() {
                    return refuse(format!(
                        "{what}: {method} on species '{}', which also has test species ({}): whether their \
                         particles belong to the species would be ambiguous; make those sub-populations by \
                         selection or reweighting instead",
                        sp.species,
                        tests.join(", ")
                    ));
                }
            }
            // Checked in `derived` before the sub-populations.
            let n_species = owner.ppc * g.nx * g.ny;
            let (particles, parameter) = match sp.method {
                Method::TestSpecies => {
                    if !(sp.fraction > 0.0 && sp.fraction <= 0.5) {
                        return refuse(format!("{what}: fraction {} must be in (0, 0.5]", sp.fraction));
                    }
                    let total = self.test_fraction(&owner.name);
                    if total > 0.5 {
                        return refuse(format!(
                            "species '{}': test species take {total} of its density; at most 0.5",
                            owner.name
                        ));
                    }
                    let n = sp.test_particles(owner.ppc, g.nx * g.ny, total);
                    if n == 0 {
                        return refuse(format!("{what}: fraction {} gives no particle", sp.fraction));
                    }
                    extra_particles += n;
                    let drift = sp.target.as_ref().expect("checked above").moments().0;
                    let comp = sp.fraction / (1.0 - total) * drift[0].hypot(drift[1]);
                    (n, comp)
                }
                Method::Selection => {
                    let bg = owner.distribution.as_ref().expect("thermal").scaled(1.0 / v_th);
                    let target = sp.target.as_ref().expect("checked above");
                    let m = selection_bound(target, &bg, ps.v_max.max(6.0));
                    if !(m.is_finite() && m > 0.0) {
                        return refuse(format!("{what}: the target has no overlap with the species"));
                    }
                    ((n_species as f64 / m) as usize, m)
                }
                Method::Reweighting | Method::All => (n_species, 0.0),
                Method::Region => {
                    if !region_fraction.contains_key(sp.name.as_str()) {
                        region_fraction.extend(self.check_regions(owner)?);
                    }
                    let p = region_fraction[sp.name.as_str()];
                    let expected = p * n_species as f64;
                    if expected < 1.0 {
                        return refuse(format!(
                            "{what}: region {} is empty: it holds a fraction {p:.2e} of species '{}' \
                             ({expected:.2} of {n_species} particles expected), being outside its initial \
                             distribution or inside earlier regions of the species (which take precedence in \
                             deck order); move or enlarge it, or remove it",
                            sp.region.as_ref().expect("checked above"),
                            sp.species
                        ));
                    }
                    (expected.round() as usize, p)
                }
            };
            let tracks = sp.tracks.min(particles);
            let per_dump = if sp.track_positions { 5 } else { 3 };
            // 8 tracks (1 + per_dump n_dumps) + 8 n_dumps and 8 bins^2 n_dumps,
            // in floating point: the sizes are checked against the machine
            // afterwards, and an absurd deck must not overflow on the way.
            let (tr, nd, bins) = (tracks as f64, n_dumps as f64, ps.bins as f64);
            sub_info.push(SubPopulationInfo {
                name: sp.name.clone(),
                method: sp.method,
                particles,
                parameter,
                tracks,
                track_bytes: bytes(8.0 * tr * (1.0 + per_dump as f64 * nd) + 8.0 * nd),
                histogram_bytes: bytes(8.0 * bins * bins * nd),
            });
        }
        Ok((sub_info, extra_particles))
    }

    /// The region sub-populations of `owner` in deck order, checked for
    /// order (`rest` last and at most once), with the fraction of the
    /// species' initial distribution each holds once the earlier ones took
    /// theirs ([`region_fractions`]).
    fn check_regions<'a>(&'a self, owner: &SpeciesDeck) -> Result<Vec<(&'a str, f64)>, PicError> {
        // One without its region key is refused by name when the caller reaches it.
        let pops: Vec<&SubPopulationDeck> = self
            .sub_populations
            .iter()
            .filter(|sp| sp.species == owner.name && sp.method == Method::Region && sp.region.is_some())
            .collect();
        let regions: Vec<&Region> = pops.iter().filter_map(|sp| sp.region.as_ref()).collect();
        if let Some(k) = regions.iter().position(|r| matches!(r, Region::Rest))
            && k + 1 != regions.len()
        {
            return Err(PicError::Deck(format!(
                "sub-population '{}': region {{ kind = \"rest\" }} takes every particle of species '{}' that \
                 earlier regions left, so the regions after it ('{}', ...) would be empty; move it after the \
                 species' last region",
                pops[k].name,
                owner.name,
                pops[k + 1].name
            )));
        }
        let v_th = owner.thermal_spread();
        let bg = owner.distribution.as_ref().expect("thermal").scaled(1.0 / v_th);
        let fractions = region_fractions(&bg, &regions);
        Ok(pops.iter().map(|sp| sp.name.as_str()).zip(fractions).collect())
    }
}

/// Quantities derived from a deck, printed before a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived {
    /// Total plasma frequency `sqrt(sum_s n_s q_s^2 / m_s)` of the mobile species.
    pub omega_p: f64,
    /// Name of the reference species (the first mobile one).
    pub reference_species: String,
    /// Its thermal spread `u_th` (rms of `u_x`), `c`.
    pub u_th: f64,
    /// Its Debye length `u_th / omega_ps`, `c/omega_p`.
    pub debye_length: f64,
    /// `dx / lambda_D`.
    pub dx_over_debye: f64,
    /// `dy / lambda_D`.
    pub dy_over_debye: f64,
    /// Macro-particles of the reference species per Debye area, `n lambda_D^2`.
    pub particles_per_debye_area: f64,
    /// Steps between dumps.
    pub steps_per_dump: usize,
    /// Number of dumps, including the initial one.
    pub n_dumps: usize,
    /// Time between dumps, `1/omega_p`.
    pub dump_dt: f64,
    /// Run length, `1/omega_p`.
    pub t_end: f64,
    /// `c dt sqrt(1/dx^2 + 1/dy^2)` (must be < 1 for em).
    pub courant: f64,
    /// `omega_p dt` (must be < 2 for the leapfrog).
    pub omega_p_dt: f64,
    /// Total macro-particles.
    pub particles: usize,
    /// Expected memory for `threads` threads, bytes.
    pub memory_bytes: usize,
    /// Collision time `tau = v_th^2 / D_xx(0)` of the reference species, `1/omega_p`:
    /// the Landau/Lenard-Balescu velocity diffusion at `v = 0` of point
    /// particles in a 2D Maxwellian plasma with static Debye shielding,
    /// `D_xx(0) = (q/m)^2 (q^2 N) 2 int d^2k/(2 pi)^2 (k_x^2 / (k^2 + k_D^2)^2) pi <delta(k.v')>`
    /// `= pi / (8 sqrt(2 pi)) omega_p v_th^2 / (N lambda_D^2)`, so
    /// `tau = 8 sqrt(2 pi) / pi * N lambda_D^2 / omega_p ~ 6.4 N lambda_D^2 / omega_p`
    /// with `N lambda_D^2` the macro-particles per Debye area. Finite-size
    /// shapes lengthen it (by about 2 at `dx = lambda_D`); the drag on a
    /// particle at speed `v` is slower by `e^{-x} (I_0(x) - I_1(x))`,
    /// `x = v^2 / 4` (0.26 at `v = 2 v_th`). An estimate to plan runs with.
    pub collision_time: f64,
    /// Expected size of each sub-population.
    pub sub_populations: Vec<SubPopulationInfo>,
    /// Advice that does not refuse the deck.
    pub warnings: Vec<String>,
}

/// Expected size of a sub-population and of its outputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubPopulationInfo {
    /// Its name.
    pub name: String,
    /// How it is made.
    pub method: Method,
    /// Expected member particles (reweighting, all: all of the species).
    pub particles: usize,
    /// Selection: the rejection bound `M = max g / f`; test species: the
    /// background's compensating drift (units of `v_th`); region: the
    /// expected fraction of the species it holds ([`region_fractions`]);
    /// reweighting, all: 0.
    pub parameter: f64,
    /// Tracked particles.
    pub tracks: usize,
    /// Bytes of the track file.
    pub track_bytes: usize,
    /// Bytes of the histograms (all dumps).
    pub histogram_bytes: usize,
}

impl std::fmt::Display for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "omega_p dt                 {:.4}", self.omega_p_dt)?;
        writeln!(f, "Courant number             {:.4}", self.courant)?;
        writeln!(f, "reference species          {} (u_th = {:.4e} c)", self.reference_species, self.u_th)?;
        writeln!(f, "Debye length               {:.4e} c/omega_p", self.debye_length)?;
        writeln!(f, "dx / lambda_D, dy / lambda_D {:.4}, {:.4}", self.dx_over_debye, self.dy_over_debye)?;
        writeln!(f, "particles per Debye area   {:.2}", self.particles_per_debye_area)?;
        writeln!(
            f,
            "steps per dump             {} (dump dt = {:.4} / omega_p)",
            self.steps_per_dump, self.dump_dt
        )?;
        writeln!(f, "dumps                      {} (t_end = {:.4} / omega_p)", self.n_dumps, self.t_end)?;
        writeln!(f, "macro-particles            {}", self.particles)?;
        writeln!(f, "expected memory            {:.1} MiB", self.memory_bytes as f64 / (1 << 20) as f64)?;
        writeln!(f, "collision time (estimate)  {:.3e} / omega_p", self.collision_time)?;
        for sp in &self.sub_populations {
            let parameter = match sp.method {
                Method::Selection => format!(", rejection bound M = {:.4}", sp.parameter),
                Method::TestSpecies => format!(", background drift {:.4} v_th to compensate", sp.parameter),
                Method::Region => format!(", fraction {:.4} of the species", sp.parameter),
                Method::Reweighting | Method::All => String::new(),
            };
            writeln!(
                f,
                "sub-population {:<14} {}: ~{} particles{parameter}, {} tracks ({:.1} MiB), histograms {:.1} MiB",
                sp.name,
                sp.method.name(),
                sp.particles,
                sp.tracks,
                sp.track_bytes as f64 / (1 << 20) as f64,
                sp.histogram_bytes as f64 / (1 << 20) as f64
            )?;
        }
        // The warnings are not shown here: a run reports each one through
        // its observer (`Observer::warning`), once.
        Ok(())
    }
}

/// Bytes per macro-particle: five f64 and an id, plus the sort scratch.
pub const BYTES_PER_PARTICLE: usize = 6 * 8 + 24;

/// Most macro-particles, cells or histogram bins a deck may ask for: 2^50
/// (10^15), beyond any machine's memory at [`BYTES_PER_PARTICLE`] bytes
/// each, so that every size derived from them fits in 64 bits and a
/// deck's sizes never wrap around.
pub const MAX_COUNT: u64 = 1 << 50;

/// A byte count computed in floating point, saturated at `usize::MAX`.
fn bytes(x: f64) -> usize {
    if x >= usize::MAX as f64 { usize::MAX } else { x as usize }
}

impl Deck {
    /// Parse a TOML deck (unknown keys are errors) and validate it.
    pub fn from_toml(text: &str) -> Result<Self, PicError> {
        let deck: Deck = toml::from_str(text).map_err(|e| PicError::Parse(e.to_string()))?;
        deck.validate()?;
        Ok(deck)
    }

    /// Read, parse and validate a deck file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, PicError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| PicError::io(path, e))?;
        Self::from_toml(&text)
    }

    /// The deck as TOML (the resolved configuration of a run).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a deck always serialises")
    }

    /// Refuse impossible or unstable decks with the reason; return the
    /// derived quantities otherwise (for one thread).
    pub fn validate(&self) -> Result<Derived, PicError> {
        self.derived(1)
    }

    /// Derived quantities for a run on `threads` threads, after validation.
    pub fn derived(&self, threads: usize) -> Result<Derived, PicError> {
        let refuse = |msg: String| Err(PicError::Deck(msg));
        let g = &self.grid;
        if g.nx < 8 || g.ny < 8 {
            return refuse(format!("grid {} x {} is too small: need at least 8 cells per axis", g.nx, g.ny));
        }
        if !(g.dx.is_finite() && g.dx > 0.0 && g.dy.is_finite() && g.dy > 0.0) {
            return refuse(format!("cell sizes dx = {}, dy = {} must be finite and > 0", g.dx, g.dy));
        }
        let t = &self.time;
        if !(t.dt.is_finite() && t.dt > 0.0) {
            return refuse(format!("time step dt = {} must be finite and > 0", t.dt));
        }
        if t.n_steps == 0 || t.dump_every == 0 {
            return refuse("n_steps and dump_every must be >= 1".into());
        }
        // Sizes, before anything is multiplied in integers: each factor and
        // product at most MAX_COUNT (in floating point, which cannot wrap).
        let cells = g.nx as f64 * g.ny as f64;
        if cells > MAX_COUNT as f64 {
            return refuse(format!(
                "grid {} x {} = {cells:.3e} cells is more than collop accepts ({MAX_COUNT} = 2^50, far beyond \
                 any machine); give nx and ny of the run you mean (the memory a deck needs is printed by \
                 `collop pic` before it starts)",
                g.nx, g.ny
            ));
        }
        for sp in self.species.iter().filter(|sp| sp.mobile) {
            let n = sp.ppc as f64 * cells;
            if n > MAX_COUNT as f64 {
                return refuse(format!(
                    "species '{}': ppc = {} on {} x {} cells is {n:.3e} macro-particles, more than collop \
                     accepts ({MAX_COUNT} = 2^50, far beyond any machine's memory at {BYTES_PER_PARTICLE} bytes \
                     each); lower ppc or the grid",
                    sp.name, sp.ppc, g.nx, g.ny
                ));
            }
        }
        if (self.phase_space.bins as f64).powi(2) > MAX_COUNT as f64 {
            return refuse(format!(
                "phase_space bins = {} per axis is more than collop accepts (2^25 per axis, histograms far \
                 beyond any machine); the published data use 51",
                self.phase_space.bins
            ));
        }
        if t.n_steps > MAX_COUNT as usize {
            return refuse(format!(
                "n_steps = {} is more than collop accepts (2^50, centuries of computing); give the number of \
                 steps of the run you mean",
                t.n_steps
            ));
        }
        let s = &self.solver;
        if !(1..=4).contains(&s.shape_order) {
            return refuse(format!("shape_order {} is not in 1..=4", s.shape_order));
        }
        if !s.external_b.iter().all(|v| v.is_finite()) {
            return refuse("external_b must be finite".into());
        }
        let courant = t.dt * (1.0 / (g.dx * g.dx) + 1.0 / (g.dy * g.dy)).sqrt();
        if s.kind == SolverKind::Em && courant >= 1.0 {
            return refuse(format!(
                "Courant number c dt sqrt(1/dx^2 + 1/dy^2) = {courant:.4} >= 1: the Yee solver is unstable; \
                 take dt < {:.6}",
                t.dt / courant
            ));
        }
        if self.species.iter().all(|sp| !sp.mobile) {
            return refuse("no mobile species".into());
        }
        let mut names = std::collections::HashSet::new();
        let (mut charge, mut abs_charge, mut wp2) = (0.0, 0.0, 0.0);
        for sp in &self.species {
            let what = format!("species '{}'", sp.name);
            if !names.insert(sp.name.as_str()) {
                return refuse(format!("{what} is defined twice"));
            }
            if !(sp.charge.is_finite() && sp.charge != 0.0) {
                return refuse(format!("{what}: charge {} must be finite and non-zero", sp.charge));
            }
            if !(sp.mass.is_finite() && sp.mass > 0.0) {
                return refuse(format!("{what}: mass {} must be finite and > 0", sp.mass));
            }
            if !(sp.density.is_finite() && sp.density > 0.0) {
                return refuse(format!("{what}: density {} must be finite and > 0", sp.density));
            }
            if sp.mobile && sp.ppc == 0 {
                return refuse(format!("{what}: a mobile species needs ppc >= 1"));
            }
            if let Some(d) = &sp.distribution {
                d.check(&what).map_err(PicError::Deck)?;
            }
            charge += sp.charge * sp.density;
            abs_charge += (sp.charge * sp.density).abs();
            if sp.mobile {
                wp2 += sp.density * sp.charge * sp.charge / sp.mass;
            }
        }
        if charge.abs() > 1e-9 * abs_charge {
            return refuse(format!(
                "net charge density {charge:e}: a periodic plasma must be neutral (add a background species \
                 with mobile = false)"
            ));
        }
        let ps = &self.phase_space;
        if ps.bins == 0 || !(ps.v_max.is_finite() && ps.v_max > 0.0) {
            return refuse(format!(
                "phase_space needs bins >= 1 and v_max > 0, got {} and {}",
                ps.bins, ps.v_max
            ));
        }
        let n_dumps = t.n_steps / t.dump_every + 1;
        // A dataset is read from dump i_start on and a rollout needs two
        // frames: refused here, not after the whole run.
        if ps.i_start.saturating_add(1) >= n_dumps {
            return refuse(format!(
                "[phase_space] i_start = {} leaves fewer than 2 of the run's {n_dumps} dumps (0 to {}) for the \
                 datasets; lower i_start below {}, or run longer ([time] n_steps = {} with dump_every = {})",
                ps.i_start,
                n_dumps - 1,
                n_dumps - 1,
                t.n_steps,
                t.dump_every
            ));
        }
        let (sub_info, extra_particles) = self.sub_population_infos(n_dumps, &mut names)?;
        let omega_p = wp2.sqrt();
        let omega_p_dt = omega_p * t.dt;
        if omega_p_dt >= 2.0 {
            return refuse(format!(
                "omega_p dt = {omega_p_dt:.3} >= 2: the leapfrog is unstable for plasma oscillations"
            ));
        }
        let r = self.species.iter().find(|sp| sp.mobile).expect("checked above");
        let wps = (r.density * r.charge * r.charge / r.mass).sqrt();
        let u_th = r.thermal_spread();
        let debye = u_th / wps;
        let ppd = r.ppc as f64 * debye * debye / (g.dx * g.dy);
        // Each term at most 2^50 (checked above), the sum at most a few 2^50.
        let particles: usize =
            self.species.iter().filter(|sp| sp.mobile).map(|sp| sp.ppc * g.nx * g.ny).sum::<usize>()
                + extra_particles;
        // Particles, fields (padded grids, per-thread current buffers), and
        // what the diagnostics hold for the whole run: every track, and one
        // histogram per sub-population being filled. In floating point,
        // saturated: an absurd deck gets a number, refused by `check_memory`.
        let padded = (g.nx + 2 * crate::grid::GUARD) as f64 * (g.ny + 2 * crate::grid::GUARD) as f64 * 8.0;
        let diagnostics: f64 =
            sub_info.iter().map(|sp| sp.track_bytes as f64 + 8.0 * (ps.bins as f64).powi(2)).sum();
        let memory_bytes = bytes(
            particles as f64 * BYTES_PER_PARTICLE as f64
                + padded * (12.0 + 3.0 * threads.max(1) as f64)
                + cells * 48.0
                + diagnostics,
        );
        let mut warnings = Vec::new();
        if debye > 0.0 && g.dx.max(g.dy) > std::f64::consts::PI * debye && s.kind == SolverKind::Em {
            warnings.push(format!(
                "dx / lambda_D = {:.2} > pi: expect finite-grid-instability heating",
                g.dx.max(g.dy) / debye
            ));
        }
        if omega_p_dt > 0.5 {
            warnings.push(format!("omega_p dt = {omega_p_dt:.2} > 0.5: plasma frequency shifted by > 1 %"));
        }
        if debye == 0.0 {
            warnings.push("cold reference species: Debye length is zero".into());
        }
        for (sp, info) in self.sub_populations.iter().zip(&sub_info) {
            if sp.tracks > info.tracks {
                warnings.push(format!(
                    "sub-population '{}': tracks = {} asked, but it holds about {} particles: all of them are \
                     tracked",
                    sp.name, sp.tracks, info.tracks
                ));
            }
        }
        Ok(Derived {
            omega_p,
            reference_species: r.name.clone(),
            u_th,
            debye_length: debye,
            dx_over_debye: g.dx / debye,
            dy_over_debye: g.dy / debye,
            particles_per_debye_area: ppd,
            steps_per_dump: t.dump_every,
            n_dumps,
            dump_dt: t.dt * t.dump_every as f64,
            t_end: t.dt * t.n_steps as f64,
            courant,
            omega_p_dt,
            particles,
            memory_bytes,
            collision_time: 8.0 * (2.0 * std::f64::consts::PI).sqrt() / std::f64::consts::PI * ppd / wps,
            sub_populations: sub_info,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const THERMAL: &str = r#"
seed = 3
[grid]
nx = 16
ny = 16
dx = 0.05
dy = 0.05
[time]
dt = 0.02
n_steps = 10
dump_every = 5
[solver]
kind = "em"
shape_order = 2
[[species]]
name = "electrons"
charge = -1.0
mass = 1.0
density = 1.0
ppc = 4
distribution = { kind = "maxwellian", u_th = 0.1 }
[[species]]
name = "ions"
charge = 1.0
mass = 1836.0
density = 1.0
mobile = false
"#;

    #[test]
    fn parses_and_derives() {
        let deck = Deck::from_toml(THERMAL).unwrap();
        let d = deck.validate().unwrap();
        assert!((d.debye_length - 0.1).abs() < 1e-15);
        assert!((d.dx_over_debye - 0.5).abs() < 1e-12);
        // ppc lambda_D^2 / (dx dy) = 4 * 0.01 / 0.0025 = 16.
        assert!((d.particles_per_debye_area - 16.0).abs() < 1e-9);
        assert!((d.courant - 0.02 * 2f64.sqrt() / 0.05).abs() < 1e-12);
        assert_eq!(d.n_dumps, 3);
        assert_eq!(Deck::from_toml(&deck.to_toml()).unwrap(), deck);
    }

    #[test]
    fn unknown_keys_and_unstable_decks_are_refused() {
        let typo = THERMAL.replace("ppc = 4", "ppc = 4\nppcc = 3");
        assert!(matches!(Deck::from_toml(&typo), Err(PicError::Parse(_))));
        let typo = THERMAL.replace("u_th = 0.1", "u_th = 0.1, temp = 2");
        assert!(matches!(Deck::from_toml(&typo), Err(PicError::Parse(_))));
        let courant = THERMAL.replace("dt = 0.02", "dt = 0.04");
        let e = Deck::from_toml(&courant).unwrap_err().to_string();
        assert!(e.contains("Courant"), "{e}");
        let charged = THERMAL.replace("density = 1.0\nmobile", "density = 0.5\nmobile");
        assert!(Deck::from_toml(&charged).unwrap_err().to_string().contains("neutral"));
        let order = THERMAL.replace("shape_order = 2", "shape_order = 5");
        assert!(Deck::from_toml(&order).is_err());
        // The electrostatic solver has no Courant limit, but the leapfrog does.
        let es = courant.replace("kind = \"em\"", "kind = \"es\"");
        assert!(Deck::from_toml(&es).is_ok());
        let es = es.replace("dt = 0.04", "dt = 2.5");
        assert!(Deck::from_toml(&es).unwrap_err().to_string().contains("leapfrog"));
    }

    #[test]
    fn sub_populations_are_checked() {
        let blob = |extra: &str| {
            format!(
                "{THERMAL}\n[[sub_populations]]\nname = \"blob\"\nspecies = \"electrons\"\n{extra}\n\
                 target = {{ kind = \"maxwellian\", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }}\n"
            )
        };
        let ok = Deck::from_toml(&blob("method = \"test_species\"\nfraction = 0.02")).unwrap();
        let d = ok.validate().unwrap();
        // 0.02 / 0.98 of 4 ppc x 256 cells.
        assert_eq!(d.sub_populations[0].particles, 21);
        assert_eq!(d.particles, 1024 + 21);
        let sel = Deck::from_toml(&blob("method = \"selection\"")).unwrap().validate().unwrap();
        // M = 4 exp(8/3) = 57.6 for this blob in a unit Maxwellian (401-point scan).
        assert!((sel.sub_populations[0].parameter - 4.0 * (8.0f64 / 3.0).exp()).abs() < 0.5);
        for (bad, why) in [
            ("method = \"test_species\"", "fraction"),
            ("method = \"test_species\"\nfraction = 0.7", "fraction"),
            ("method = \"selection\"\nfraction = 0.1", "test_species only"),
        ] {
            let e = Deck::from_toml(&blob(bad)).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let e = Deck::from_toml(
            &blob("method = \"reweighting\"")
                .replace("species = \"electrons\"\nmethod", "species = \"ions\"\nmethod"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("mobile"), "{e}");
        let e =
            Deck::from_toml(&blob("method = \"reweighting\"").replace("name = \"blob\"", "name = \"../x\""))
                .unwrap_err()
                .to_string();
        assert!(e.contains("folder"), "{e}");
    }

    /// A waterbag species (v_th = radius / 2 = 0.05) with a blob, a ring
    /// sector, `extra` and the rest.
    fn regions(extra: &str) -> String {
        let deck = THERMAL.replace(
            "distribution = { kind = \"maxwellian\", u_th = 0.1 }",
            "distribution = { kind = \"waterbag\", radius = 0.1 }",
        );
        format!(
            "{deck}\n[[sub_populations]]\nname = \"blob\"\nspecies = \"electrons\"\nmethod = \"region\"\n\
             region = {{ kind = \"blob\", centre = [-1.0, 0.0], radius = 0.5 }}\ntracks = 10\n\
             [[sub_populations]]\nname = \"ring\"\nspecies = \"electrons\"\nmethod = \"region\"\n\
             region = {{ kind = \"ring\", r_min = 1.0, r_max = 2.0, angles = [0.0, 90.0] }}\n{extra}\n\
             [[sub_populations]]\nname = \"rest\"\nspecies = \"electrons\"\nmethod = \"region\"\n\
             region = {{ kind = \"rest\" }}\n\
             [[sub_populations]]\nname = \"background\"\nspecies = \"electrons\"\nmethod = \"all\"\n"
        )
    }

    #[test]
    fn region_membership() {
        let blob = Region::Blob { centre: [1.0, -1.0], radius: 0.5 };
        assert!(blob.contains(1.0, -1.0) && blob.contains(1.49, -1.0));
        assert!(!blob.contains(1.5, -1.0) && !blob.contains(0.0, 0.0));
        let annulus = Region::Ring { centre: [0.0; 2], r_min: 1.0, r_max: 2.0, angles: None };
        assert!(annulus.contains(1.0, 0.0) && annulus.contains(0.0, -1.99));
        assert!(!annulus.contains(2.0, 0.0) && !annulus.contains(0.5, 0.5));
        // A sector across the +v_x axis: [-45, 45) and the same as [315, 405).
        for angles in [[-45.0, 45.0], [315.0, 405.0]] {
            let sector = Region::Ring { centre: [0.0; 2], r_min: 1.0, r_max: 2.0, angles: Some(angles) };
            assert!(sector.contains(1.5, 0.0) && sector.contains(1.0, -0.9) && sector.contains(1.0, 0.9));
            assert!(!sector.contains(-1.5, 0.0) && !sector.contains(0.0, 1.5) && !sector.contains(1.0, 1.01));
        }
        // The lower half-plane, about a displaced centre.
        let lower = Region::Ring { centre: [1.0, 1.0], r_min: 0.0, r_max: 1.0, angles: Some([180.0, 360.0]) };
        assert!(lower.contains(1.0, 0.5) && !lower.contains(1.0, 1.5));
        assert!(Region::Rest.contains(f64::MAX, -3.0));
    }

    /// Exclusive fractions of a waterbag of radius 2 (uniform density
    /// 1 / 4 pi): the disk r < 1 holds 1/4; the quarter of the annulus
    /// 1 <= r < 2 holds 3/16, less the part the disk already took (none);
    /// a blob inside the disk holds nothing once the disk took it; the rest
    /// holds what remains. Quadrature error at the waterbag's edge ~ 1e-3.
    #[test]
    fn region_fractions_are_exclusive() {
        let f = Distribution::Waterbag { radius: 2.0, centre: [0.0; 2], u_th_z: None };
        let disk = Region::Blob { centre: [0.0; 2], radius: 1.0 };
        let inner = Region::Blob { centre: [0.2, 0.0], radius: 0.5 };
        let quarter = Region::Ring { centre: [0.0; 2], r_min: 1.0, r_max: 2.5, angles: Some([0.0, 90.0]) };
        let far = Region::Ring { centre: [0.0; 2], r_min: 2.5, r_max: 3.0, angles: None };
        let p = region_fractions(&f, &[&disk, &inner, &quarter, &far, &Region::Rest]);
        assert!((p[0] - 0.25).abs() < 2e-3, "{p:?}");
        assert_eq!(p[1], 0.0);
        assert!((p[2] - 0.1875).abs() < 2e-3, "{p:?}");
        assert_eq!(p[3], 0.0);
        assert!((p[4] - 0.5625).abs() < 3e-3, "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn waterbag_and_regions_validate() {
        let deck = Deck::from_toml(&regions("")).unwrap();
        assert_eq!(Deck::from_toml(&deck.to_toml()).unwrap(), deck, "round trip");
        let d = deck.validate().unwrap();
        // v_th = radius / 2; the regions' expected shares of 1024 particles
        // (waterbag of radius 2 v_th: the blob 1/16, the sector 3/16).
        assert!((d.u_th - 0.05).abs() < 1e-15);
        let share: Vec<f64> = d.sub_populations.iter().map(|s| s.parameter).collect();
        assert!((share[0] - 0.0625).abs() < 2e-3 && (share[1] - 0.1875).abs() < 2e-3, "{share:?}");
        assert!((share[2] - 0.75).abs() < 4e-3, "{share:?}");
        assert_eq!(d.sub_populations[3].particles, 1024);
        assert_eq!(d.sub_populations[0].tracks, 10);
    }

    /// Every refusal names the key at fault and the fix.
    #[test]
    fn region_decks_are_checked() {
        let region_of = |name: &str, region: &str| {
            format!(
                "[[sub_populations]]\nname = \"{name}\"\nspecies = \"electrons\"\nmethod = \"region\"\n\
                 region = {region}\n"
            )
        };
        let cases: Vec<(String, &str)> = vec![
            // A region outside the waterbag (edge at 2 v_th): empty.
            (region_of("far", "{ kind = \"ring\", r_min = 3.0, r_max = 4.0 }"), "'far': region"),
            // Inside an earlier region: empty too.
            (
                region_of("hidden", "{ kind = \"blob\", centre = [-1.0, 0.1], radius = 0.2 }"),
                "earlier regions",
            ),
            (region_of("nan", "{ kind = \"blob\", centre = [0.0, 0.0], radius = nan }"), "radius = NaN"),
            (region_of("flat", "{ kind = \"ring\", r_min = 1.0, r_max = 1.0 }"), "r_min < r_max"),
            (
                region_of("wide", "{ kind = \"ring\", r_min = 0.5, r_max = 1.0, angles = [0.0, 400.0] }"),
                "angles",
            ),
            (
                region_of("far_centre", "{ kind = \"blob\", centre = [inf, 0.0], radius = 1.0 }"),
                "centre",
            ),
            (region_of("rest2", "{ kind = \"rest\" }"), "move it after"),
            (
                "[[sub_populations]]\nname = \"x\"\nspecies = \"electrons\"\nmethod = \"region\"\n".into(),
                "needs a region",
            ),
            (
                "[[sub_populations]]\nname = \"x\"\nspecies = \"electrons\"\nmethod = \"all\"\n\
                 target = { kind = \"maxwellian\", u_th = 1.0 }\n"
                    .into(),
                "remove the target",
            ),
            (
                "[[sub_populations]]\nname = \"x\"\nspecies = \"electrons\"\nmethod = \"selection\"\n".into(),
                "needs a target",
            ),
            (
                "[[sub_populations]]\nname = \"x\"\nspecies = \"electrons\"\nmethod = \"reweighting\"\n\
                 target = { kind = \"maxwellian\", u_th = 1.0 }\nregion = { kind = \"rest\" }\n"
                    .into(),
                "region key is for method = \"region\" only",
            ),
            (
                "[[sub_populations]]\nname = \"x\"\nspecies = \"electrons\"\nmethod = \"all\"\nfraction = 0.1\n"
                    .into(),
                "fraction is for test_species only",
            ),
            (
                "[[sub_populations]]\nname = \"t\"\nspecies = \"electrons\"\nmethod = \"test_species\"\n\
                 fraction = 0.05\ntarget = { kind = \"maxwellian\", u_th = 0.5 }\n"
                    .into(),
                "ambiguous",
            ),
        ];
        for (extra, why) in cases {
            let e = Deck::from_toml(&regions(&extra)).unwrap_err().to_string();
            assert!(e.contains(why), "{extra}: {e}");
        }
        // A rest before another region of its species.
        let early = regions("").replace(
            "region = { kind = \"ring\", r_min = 1.0, r_max = 2.0, angles = [0.0, 90.0] }",
            "region = { kind = \"rest\" }",
        );
        let e = Deck::from_toml(&early).unwrap_err().to_string();
        assert!(e.contains("'ring'") && e.contains("move it after"), "{e}");
        // More tagged sub-populations than bits.
        let many: String = (0..MAX_TAGGED)
            .map(|k| {
                region_of(
                    &format!("r{k}"),
                    &format!(
                        "{{ kind = \"blob\", centre = [0.0, 0.0], radius = {} }}",
                        1.0 + k as f64 * 0.01
                    ),
                )
            })
            .collect();
        let e = Deck::from_toml(&regions(&many)).unwrap_err().to_string();
        assert!(e.contains("at most 32"), "{e}");
        // Waterbag parameters.
        for (bad, why) in [("radius = 0.0", "radius = 0"), ("radius = 0.1, u_th_z = -1.0", "u_th_z = -1")] {
            let e = Deck::from_toml(&regions("").replace("radius = 0.1", bad)).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn mixture_moments() {
        let d = Distribution::Sum {
            components: vec![
                Component {
                    fraction: 1.0,
                    distribution: Distribution::Maxwellian { u_th: 1.0, drift: [1.0, 0.0, 0.0] },
                },
                Component {
                    fraction: 1.0,
                    distribution: Distribution::Maxwellian { u_th: 1.0, drift: [-1.0, 0.0, 0.0] },
                },
            ],
        };
        let (m, v) = d.moments();
        assert_eq!(m, [0.0; 3]);
        assert_eq!(v, [2.0, 1.0, 1.0]);
    }
}
