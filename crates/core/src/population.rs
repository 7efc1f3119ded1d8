//! Sub-populations of a species in velocity space: the one specification
//! shared by `collop pic` (whose decks define them) and `collop import`
//! (which selects them among the particles of another code's output).
//!
//! The TOML syntax is the deck's `[phase_space]` table ([`PhaseSpaceDeck`])
//! and its `[[sub_populations]]` tables ([`SubPopulationDeck`]), documented
//! in `collop_pic::deck`. Velocities are momenta `u = gamma v` in units of the
//! species' thermal spread `v_th` (the rms of `u_x` about its mean), like the
//! histograms.
//!
//! Membership is decided by a particle's velocity at the first dump (its
//! initial velocity `v0`) through one routine per method, used by both
//! commands: [`Region::contains`] with [`first_region`] (regions exclusive
//! in order), [`selected`] (rejection on `g(v0) / (M f(v0))` with a
//! per-particle uniform number [`uniform_hash`] of the seed and the id) and
//! [`reweighting_weight`] (`g(v0) / f(v0)`).

use serde::{Deserialize, Serialize};

/// A 64-bit hash of `(seed, stream, id)` mapped to a uniform number in
/// `(0, 1)`: order-independent random draws per particle (SplitMix64
/// finaliser, Steele, Lea & Flood, OOPSLA 2014).
pub fn uniform_hash(seed: u64, stream: u64, id: u64) -> f64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ id.wrapping_mul(0xD1B5_4A32_D192_ED03);
    for _ in 0..2 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Whether the particle `id` of initial velocity `(vx, vy)` (in `v_th`)
/// joins the selection of `target` from `background` with rejection bound
/// `bound` ([`selection_bound`]): `uniform_hash(seed, stream, id) < g / (M f)`.
#[allow(clippy::too_many_arguments)]
pub fn selected(
    target: &Distribution,
    background: &Distribution,
    bound: f64,
    seed: u64,
    stream: u64,
    id: u64,
    vx: f64,
    vy: f64,
) -> bool {
    let accept = target.pdf2(vx, vy) / (bound * background.pdf2(vx, vy));
    uniform_hash(seed, stream, id) < accept
}

/// Reweighting weight `g(v0) / f(v0)` of an initial velocity `(vx, vy)`
/// (in `v_th`); 0 where the background vanishes.
pub fn reweighting_weight(target: &Distribution, background: &Distribution, vx: f64, vy: f64) -> f64 {
    let f = background.pdf2(vx, vy);
    if f > 0.0 { target.pdf2(vx, vy) / f } else { 0.0 }
}

/// The key of item `id` of weight `w > 0` in [`choose`]: `ln(u) / w` with
/// `u = uniform_hash(seed, stream, id)`; the `count` largest keys are chosen,
/// so a reader that sees the items one at a time keeps the best `count`.
pub fn choose_key(seed: u64, stream: u64, id: u64, w: f64) -> f64 {
    uniform_hash(seed, stream, id).ln() / w
}

/// `count` items chosen at random with probability proportional to their
/// weight, without replacement (Efraimidis & Spirakis, Inf. Process. Lett.
/// 97 (2006) 181: the largest keys `u^(1/w)`), from hashes of the ids so
/// the choice does not depend on particle order. Returned ids ascending.
pub fn choose(items: impl Iterator<Item = (u64, f64)>, count: usize, seed: u64, stream: u64) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    let mut keyed: Vec<(f64, u64)> =
        items.filter(|&(_, w)| w > 0.0).map(|(id, w)| (choose_key(seed, stream, id, w), id)).collect();
    let take = count.min(keyed.len());
    if take < keyed.len() {
        keyed.select_nth_unstable_by(take, |a, b| b.0.total_cmp(&a.0));
    }
    let mut ids: Vec<u64> = keyed[..take].iter().map(|&(_, id)| id).collect();
    ids.sort_unstable();
    ids
}

/// The first of `regions` that contains `(vx, vy)` (in `v_th`): the regions
/// of one species are exclusive in order.
pub fn first_region(regions: &[&Region], vx: f64, vy: f64) -> Option<usize> {
    regions.iter().position(|r| r.contains(vx, vy))
}

/// The velocity histograms of the sub-populations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpaceDeck {
    /// Cells per velocity axis.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// Half-width of the window `[-v_max, v_max]^2`, in units of `v_th`.
    #[serde(default = "default_v_max")]
    pub v_max: f64,
    /// First dump readers use (`i_start` of `args.yaml`); earlier dumps are
    /// written too.
    #[serde(default)]
    pub i_start: usize,
}

fn default_bins() -> usize {
    51
}

fn default_v_max() -> f64 {
    5.0
}

impl Default for PhaseSpaceDeck {
    fn default() -> Self {
        Self { bins: default_bins(), v_max: default_v_max(), i_start: 0 }
    }
}

/// How the particles of a sub-population are obtained.
///
/// - `test_species`: extra real particles of the species' charge and mass,
///   with the background's weight, drawn from the target and spread
///   uniformly in space, at a density `fraction` of the species (whose own
///   density drops by the same amount, keeping `omega_p`). The background
///   drifts to cancel the net current of the sub-population (and the
///   random net momentum of its own sample), which would otherwise drive a
///   uniform field oscillating at `omega_p`. The
///   sub-population is made of plasma particles, so it feels the full
///   drag and it exists at any target; but it perturbs the plasma by its
///   fraction, and its noise level is set by its own particle count.
/// - `selection`: background particles join the sub-population with
///   probability `g(v0) / (M f(v0))` of their initial velocity `v0`
///   (rejection sampling, `M = max g / f` over the window, so the target is
///   clipped where it exceeds `M f`). The plasma stays exactly thermal; the
///   sub-population holds about `N / M` particles.
/// - `reweighting`: every background particle enters the histogram with
///   weight `g(v0) / f(v0)`. Any number of sub-populations from one thermal
///   run at no cost; the noise is set by the effective sample size
///   `(sum w)^2 / sum w^2`, reported, which falls quickly for targets far in
///   the tail of `f`.
/// - `region`: the species' own particles whose initial velocity `v0` (in
///   `v_th`) lies in a [`Region`] of velocity space (a disk, an annulus or
///   an annular sector, or the rest). The regions of one species are
///   exclusive in deck order: a particle belongs to the first region that
///   contains it, so regions ending with a `rest` partition the species and
///   their histograms sum exactly to the species' histogram. Nothing is
///   added or weighted: the sub-populations are pieces of the background
///   itself, which may be far from thermal (a waterbag) and evolve.
/// - `all`: every particle of the species (its own particles, not its test
///   species): the whole background's histogram, on the same grid and in
///   the same units as the sub-populations. It takes no part in the
///   exclusivity of regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A separate species of real particles.
    TestSpecies,
    /// Rejection on the initial velocity of background particles.
    Selection,
    /// Background particles weighted by `g(v0) / f(v0)`.
    Reweighting,
    /// Background particles whose initial velocity lies in a region,
    /// exclusive in deck order.
    Region,
    /// Every particle of the species.
    All,
}

impl Method {
    /// The deck's name of the method.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TestSpecies => "test_species",
            Self::Selection => "selection",
            Self::Reweighting => "reweighting",
            Self::Region => "region",
            Self::All => "all",
        }
    }

    /// Whether the method draws its particles from a `target` distribution.
    pub fn needs_target(&self) -> bool {
        matches!(self, Self::TestSpecies | Self::Selection | Self::Reweighting)
    }

    /// Whether membership is a bit of `Particles::tag` (selection, region).
    pub fn uses_tag(&self) -> bool {
        matches!(self, Self::Selection | Self::Region)
    }
}

/// A region of the `(v_x, v_y)` plane in units of the species' `v_th`,
/// for `method = "region"`.
///
/// ```toml
/// region = { kind = "blob", centre = [-2.0, 0.0], radius = 0.6 }
/// region = { kind = "ring", r_min = 1.0, r_max = 1.5 }               # an annulus about 0
/// region = { kind = "ring", r_min = 1.5, r_max = 2.0, angles = [0.0, 90.0] }   # a sector
/// region = { kind = "rest" }                                          # everything else
/// ```
///
/// A blob holds `|v - centre| < radius`; a ring `r_min <= |v - centre| <
/// r_max` and, with `angles = [a_min, a_max]` (degrees, counter-clockwise
/// from `+v_x`, `a_min < a_max <= a_min + 360`), only the polar angles
/// `a_min <= phi < a_max` (taken modulo 360); `rest` holds every velocity,
/// so it takes what the species' earlier regions left and must be the last
/// region of its species.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Region {
    /// A disk.
    Blob {
        /// Centre, `v_th`.
        #[serde(default)]
        centre: [f64; 2],
        /// Radius (> 0), `v_th`.
        radius: f64,
    },
    /// An annulus, or an annular sector with `angles`.
    #[serde(alias = "shell")]
    Ring {
        /// Centre, `v_th`.
        #[serde(default)]
        centre: [f64; 2],
        /// Inner radius (>= 0), `v_th`.
        r_min: f64,
        /// Outer radius (> r_min), `v_th`.
        r_max: f64,
        /// Polar-angle range `[a_min, a_max)` in degrees (all angles if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        angles: Option<[f64; 2]>,
    },
    /// Every velocity not taken by an earlier region of the species.
    Rest,
}

impl std::fmt::Display for Region {
    /// As in the deck (velocities in `v_th`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Region::Blob { centre, radius } => {
                write!(f, "{{ kind = \"blob\", centre = [{}, {}], radius = {radius} }}", centre[0], centre[1])
            }
            Region::Ring { centre, r_min, r_max, angles } => {
                write!(
                    f,
                    "{{ kind = \"ring\", centre = [{}, {}], r_min = {r_min}, r_max = {r_max}",
                    centre[0], centre[1]
                )?;
                if let Some([a, b]) = angles {
                    write!(f, ", angles = [{a}, {b}]")?;
                }
                write!(f, " }}")
            }
            Region::Rest => write!(f, "{{ kind = \"rest\" }}"),
        }
    }
}

impl Region {
    /// Whether the velocity `(vx, vy)` (in `v_th`) lies in the region
    /// (regardless of earlier regions).
    pub fn contains(&self, vx: f64, vy: f64) -> bool {
        match self {
            Self::Blob { centre, radius } => (vx - centre[0]).hypot(vy - centre[1]) < *radius,
            Self::Ring { centre, r_min, r_max, angles } => {
                let (dx, dy) = (vx - centre[0], vy - centre[1]);
                let r = dx.hypot(dy);
                if !(r >= *r_min && r < *r_max) {
                    return false;
                }
                match angles {
                    None => true,
                    Some([a0, a1]) => {
                        let phi = dy.atan2(dx).to_degrees();
                        // The angle in [a0, a0 + 360).
                        let phi = a0 + (phi - a0).rem_euclid(360.0);
                        phi < *a1
                    }
                }
            }
            Self::Rest => true,
        }
    }

    /// Refuse non-finite or impossible parameters; the message starts with `what`.
    pub fn check(&self, what: &str) -> Result<(), String> {
        let bad = |msg: String| Err(format!("{what}: {msg}"));
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        match self {
            Self::Blob { centre, radius } => {
                if !finite(centre) {
                    return bad(format!("region centre = {centre:?} must be finite"));
                }
                if !(radius.is_finite() && *radius > 0.0) {
                    return bad(format!("region radius = {radius} must be finite and > 0 (in v_th)"));
                }
            }
            Self::Ring { centre, r_min, r_max, angles } => {
                if !finite(centre) {
                    return bad(format!("region centre = {centre:?} must be finite"));
                }
                if !(r_min.is_finite() && r_max.is_finite() && *r_min >= 0.0 && r_max > r_min) {
                    return bad(format!(
                        "region needs finite 0 <= r_min < r_max (in v_th), got r_min = {r_min}, r_max = {r_max}"
                    ));
                }
                if let Some([a0, a1]) = angles
                    && !(a0.is_finite() && a1.is_finite() && a1 > a0 && a1 - a0 <= 360.0)
                {
                    return bad(format!(
                        "region angles = [{a0}, {a1}] must be finite degrees with a_min < a_max <= a_min + 360 \
                             (leave angles out for the whole annulus)"
                    ));
                }
            }
            Self::Rest => {}
        }
        Ok(())
    }
}

/// A tagged sub-population of a species.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubPopulationDeck {
    /// Name (unique; the dataset folder `<run>/<name>/f`).
    pub name: String,
    /// The species it belongs to (mobile, with a thermal distribution).
    pub species: String,
    /// How it is made.
    pub method: Method,
    /// Target initial distribution, momenta in units of the species' `v_th`
    /// (`test_species`, `selection`, `reweighting`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Distribution>,
    /// The region of initial velocities (`region` only), in `v_th`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// Density fraction (`test_species` only), in `(0, 0.5]`.
    #[serde(default)]
    pub fraction: f64,
    /// Number of particles whose velocities are saved at every dump (all if
    /// larger than the sub-population): a random subset of its members,
    /// seeded by the deck's seed (`reweighting` tracks background particles
    /// drawn with probability proportional to their weight).
    #[serde(default)]
    pub tracks: usize,
    /// Save positions too.
    #[serde(default)]
    pub track_positions: bool,
}

/// A momentum distribution (`u = gamma v` in `c`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Isotropic Maxwellian of per-component spread `u_th`, shifted by `drift`.
    Maxwellian {
        /// Standard deviation of each momentum component.
        u_th: f64,
        /// Mean momentum.
        #[serde(default)]
        drift: [f64; 3],
    },
    /// Gaussian with a different spread along each axis.
    BiMaxwellian {
        /// Standard deviations along x, y, z.
        u_th: [f64; 3],
        /// Mean momentum.
        #[serde(default)]
        drift: [f64; 3],
    },
    /// A ring in the `(u_x, u_y)` plane: uniform angle, Gaussian radius.
    Ring {
        /// Ring radius.
        radius: f64,
        /// Standard deviation of the radius.
        width: f64,
        /// Centre of the ring in `(u_x, u_y)`.
        #[serde(default)]
        centre: [f64; 2],
        /// Standard deviation of `u_z`.
        #[serde(default)]
        u_th_z: f64,
    },
    /// A waterbag: `(u_x, u_y)` uniform in the disk of radius `radius`
    /// about `centre`, `u_z` Gaussian of standard deviation `u_th_z`.
    ///
    /// The in-plane marginals are semicircles: each in-plane component has
    /// the rms `radius / 2` (so the species' `v_th` is `radius / 2` and the
    /// waterbag's edge sits at `v_w = 2 v_th`) and the kurtosis
    /// `<u_x^4> / <u_x^2>^2 = 2` (a Maxwellian's is 3). Without `u_th_z`
    /// the spread of `u_z` is `radius / 2` too, so the pressure tensor is
    /// isotropic: a `u_z` colder or hotter than the plane would be a
    /// temperature anisotropy, Weibel-unstable in an electromagnetic run,
    /// and its magnetic fields would relax the distribution besides the
    /// collisions under study. Give `u_th_z` only to override that choice.
    Waterbag {
        /// Radius of the disk in `(u_x, u_y)` (> 0).
        radius: f64,
        /// Centre of the disk in `(u_x, u_y)`.
        #[serde(default)]
        centre: [f64; 2],
        /// Standard deviation of `u_z` (default `radius / 2`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        u_th_z: Option<f64>,
    },
    /// A mixture: each particle drawn from component `k` with probability
    /// `fraction_k / sum fraction`.
    Sum {
        /// The components.
        components: Vec<Component>,
    },
}

/// One term of a [`Distribution::Sum`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Relative weight (> 0).
    pub fraction: f64,
    /// The distribution.
    pub distribution: Distribution,
}

impl Distribution {
    /// The same distribution with every momentum multiplied by `f` (> 0).
    pub fn scaled(&self, f: f64) -> Self {
        let s3 = |v: &[f64; 3]| [v[0] * f, v[1] * f, v[2] * f];
        match self {
            Self::Maxwellian { u_th, drift } => Self::Maxwellian { u_th: u_th * f, drift: s3(drift) },
            Self::BiMaxwellian { u_th, drift } => Self::BiMaxwellian { u_th: s3(u_th), drift: s3(drift) },
            Self::Ring { radius, width, centre, u_th_z } => Self::Ring {
                radius: radius * f,
                width: width * f,
                centre: [centre[0] * f, centre[1] * f],
                u_th_z: u_th_z * f,
            },
            Self::Waterbag { radius, centre, u_th_z } => Self::Waterbag {
                radius: radius * f,
                centre: [centre[0] * f, centre[1] * f],
                u_th_z: u_th_z.map(|u| u * f),
            },
            Self::Sum { components } => Self::Sum {
                components: components
                    .iter()
                    .map(|c| Component { fraction: c.fraction, distribution: c.distribution.scaled(f) })
                    .collect(),
            },
        }
    }

    /// The same distribution displaced by `d` in momentum.
    pub fn shifted(&self, d: [f64; 3]) -> Self {
        let add = |v: &[f64; 3]| [v[0] + d[0], v[1] + d[1], v[2] + d[2]];
        match self {
            Self::Maxwellian { u_th, drift } => Self::Maxwellian { u_th: *u_th, drift: add(drift) },
            Self::BiMaxwellian { u_th, drift } => Self::BiMaxwellian { u_th: *u_th, drift: add(drift) },
            Self::Ring { radius, width, centre, u_th_z } => Self::Ring {
                radius: *radius,
                width: *width,
                centre: [centre[0] + d[0], centre[1] + d[1]],
                u_th_z: *u_th_z,
            },
            // Like a ring, a waterbag has no mean u_z to shift: the in-plane
            // density (all that histograms and targets use) moves.
            Self::Waterbag { radius, centre, u_th_z } => Self::Waterbag {
                radius: *radius,
                centre: [centre[0] + d[0], centre[1] + d[1]],
                u_th_z: *u_th_z,
            },
            Self::Sum { components } => Self::Sum {
                components: components
                    .iter()
                    .map(|c| Component { fraction: c.fraction, distribution: c.distribution.shifted(d) })
                    .collect(),
            },
        }
    }

    /// Probability density of the in-plane momentum `(u_x, u_y)` (the
    /// marginal over `u_z`), normalised to one. A ring's radius is a Gaussian
    /// truncated at zero, as it is sampled.
    pub fn pdf2(&self, ux: f64, uy: f64) -> f64 {
        let gauss = |x: f64, m: f64, s: f64| {
            if s > 0.0 {
                (-(x - m) * (x - m) / (2.0 * s * s)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
            } else {
                0.0
            }
        };
        match self {
            Self::Maxwellian { u_th, drift } => gauss(ux, drift[0], *u_th) * gauss(uy, drift[1], *u_th),
            Self::BiMaxwellian { u_th, drift } => gauss(ux, drift[0], u_th[0]) * gauss(uy, drift[1], u_th[1]),
            Self::Ring { radius, width, centre, .. } => {
                let r = (ux - centre[0]).hypot(uy - centre[1]);
                if r <= 0.0 || *width <= 0.0 {
                    return 0.0;
                }
                // P(radius >= 0) = Phi(R / w) normalises the truncation.
                let z = radius / (width * std::f64::consts::SQRT_2);
                let norm = 0.5 * (1.0 + erf(z));
                gauss(r, *radius, *width) / (2.0 * std::f64::consts::PI * r * norm)
            }
            Self::Waterbag { radius, centre, .. } => {
                if (ux - centre[0]).hypot(uy - centre[1]) <= *radius {
                    1.0 / (std::f64::consts::PI * radius * radius)
                } else {
                    0.0
                }
            }
            Self::Sum { components } => {
                let total: f64 = components.iter().map(|c| c.fraction).sum();
                components.iter().map(|c| c.fraction / total * c.distribution.pdf2(ux, uy)).sum()
            }
        }
    }

    /// Mean and per-axis variance of the momentum.
    pub fn moments(&self) -> ([f64; 3], [f64; 3]) {
        match self {
            Self::Maxwellian { u_th, drift } => (*drift, [u_th * u_th; 3]),
            Self::BiMaxwellian { u_th, drift } => {
                (*drift, [u_th[0].powi(2), u_th[1].powi(2), u_th[2].powi(2)])
            }
            Self::Ring { radius, width, centre, u_th_z } => {
                // <r^2> / 2 per in-plane axis for a uniform angle.
                let r2 = radius * radius + width * width;
                ([centre[0], centre[1], 0.0], [0.5 * r2, 0.5 * r2, u_th_z * u_th_z])
            }
            Self::Waterbag { radius, centre, u_th_z } => {
                // <u_x^2> = R^2 / 4 over the uniform disk.
                let v = 0.25 * radius * radius;
                let vz = u_th_z.map_or(v, |u| u * u);
                ([centre[0], centre[1], 0.0], [v, v, vz])
            }
            Self::Sum { components } => {
                let total: f64 = components.iter().map(|c| c.fraction).sum();
                let (mut mean, mut second) = ([0.0; 3], [0.0; 3]);
                for c in components {
                    let (m, v) = c.distribution.moments();
                    let p = c.fraction / total;
                    for a in 0..3 {
                        mean[a] += p * m[a];
                        second[a] += p * (v[a] + m[a] * m[a]);
                    }
                }
                (mean, [0, 1, 2].map(|a| second[a] - mean[a] * mean[a]))
            }
        }
    }

    /// Refuse non-finite or impossible parameters; the message starts with `what`.
    pub fn check(&self, what: &str) -> Result<(), String> {
        let bad = |msg: String| Err(format!("{what}: {msg}"));
        let finite3 = |v: &[f64]| v.iter().all(|x| x.is_finite());
        match self {
            Self::Maxwellian { u_th, drift } => {
                if !(u_th.is_finite() && *u_th >= 0.0 && finite3(drift)) {
                    return bad(format!(
                        "maxwellian needs finite u_th >= 0 and drift, got {u_th}, {drift:?}"
                    ));
                }
            }
            Self::BiMaxwellian { u_th, drift } => {
                if !(finite3(u_th) && u_th.iter().all(|&v| v >= 0.0) && finite3(drift)) {
                    return bad(format!("bi_maxwellian needs finite u_th >= 0, got {u_th:?}"));
                }
            }
            Self::Ring { radius, width, centre, u_th_z } => {
                let ok = radius.is_finite()
                    && *radius >= 0.0
                    && width.is_finite()
                    && *width >= 0.0
                    && finite3(centre)
                    && u_th_z.is_finite()
                    && *u_th_z >= 0.0;
                if !ok {
                    return bad("ring needs finite radius, width, u_th_z >= 0".into());
                }
            }
            Self::Waterbag { radius, centre, u_th_z } => {
                if !(radius.is_finite() && *radius > 0.0) {
                    return bad(format!(
                        "waterbag radius = {radius} must be finite and > 0 (a cold species has no distribution)"
                    ));
                }
                if !finite3(centre) {
                    return bad(format!("waterbag centre = {centre:?} must be finite"));
                }
                if u_th_z.is_some_and(|u| !(u.is_finite() && u >= 0.0)) {
                    let u = u_th_z.unwrap_or_default();
                    return bad(format!(
                        "waterbag u_th_z = {u} must be finite and >= 0 (leave it out for radius / 2)"
                    ));
                }
            }
            Self::Sum { components } => {
                if components.is_empty() {
                    return bad("sum needs at least one component".into());
                }
                for c in components {
                    if !(c.fraction.is_finite() && c.fraction > 0.0) {
                        return bad(format!("component fraction {} must be > 0", c.fraction));
                    }
                    c.distribution.check(what)?;
                }
            }
        }
        Ok(())
    }
}

impl SubPopulationDeck {
    /// Particles of a test species: `fraction / (1 - F)` of the species'
    /// `ppc cells`, at the weight `n (1 - F) / ppc` of the background, where
    /// `F` is the total fraction of the species' test species.
    pub fn test_particles(&self, ppc: usize, cells: usize, total_fraction: f64) -> usize {
        (self.fraction / (1.0 - total_fraction) * (ppc as f64 * cells as f64)).round() as usize
    }
}

/// Largest number of sub-populations made by selection or region (one bit
/// of `Particles::tag` each).
pub const MAX_TAGGED: usize = 32;

/// The fraction of the in-plane density `f` (in `v_th`) that each region
/// holds when a velocity belongs to the first region containing it:
/// midpoint quadrature of `f` on 801 x 801 points over the square of
/// half-width `8` standard deviations about the mean (wider where a region
/// reaches further), so a `rest` region also holds the (tiny) mass outside
/// the square. Accurate to about `1e-3` of the mass at a discontinuity of
/// `f` such as a waterbag's edge: an estimate to refuse empty regions and
/// report sizes with.
pub fn region_fractions(f: &Distribution, regions: &[&Region]) -> Vec<f64> {
    let (mean, var) = f.moments();
    let mut half: f64 = (0..2).map(|a| mean[a].abs() + 8.0 * var[a].sqrt()).fold(0.0, f64::max);
    for r in regions {
        let reach = match r {
            Region::Blob { centre, radius } => centre[0].abs().max(centre[1].abs()) + radius,
            Region::Ring { centre, r_max, .. } => centre[0].abs().max(centre[1].abs()) + r_max,
            Region::Rest => 0.0,
        };
        half = half.max(reach);
    }
    let n = 801;
    let h = 2.0 * half / n as f64;
    let mut out = vec![0.0; regions.len()];
    for i in 0..n {
        let vx = -half + (i as f64 + 0.5) * h;
        for j in 0..n {
            let vy = -half + (j as f64 + 0.5) * h;
            if let Some(k) = regions.iter().position(|r| r.contains(vx, vy)) {
                out[k] += f.pdf2(vx, vy) * h * h;
            }
        }
    }
    if let Some(k) = regions.iter().position(|r| matches!(r, Region::Rest)) {
        let others: f64 = out.iter().enumerate().filter(|&(j, _)| j != k).map(|(_, v)| v).sum();
        out[k] = (1.0 - others).max(0.0);
    }
    out
}

/// `max g / f` over `[-v, v]^2` (401 x 401 points), the rejection bound of
/// a selection; both densities in the same units.
pub fn selection_bound(g: &Distribution, f: &Distribution, v: f64) -> f64 {
    let n = 401;
    let mut m: f64 = 0.0;
    for i in 0..n {
        let ux = -v + 2.0 * v * i as f64 / (n - 1) as f64;
        for j in 0..n {
            let uy = -v + 2.0 * v * j as f64 / (n - 1) as f64;
            let (gv, fv) = (g.pdf2(ux, uy), f.pdf2(ux, uy));
            if fv > 0.0 && gv > 0.0 {
                m = m.max(gv / fv);
            }
        }
    }
    m
}

/// The error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
pub fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let poly =
        t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regions are exclusive in order: a velocity in two regions belongs to the first.
    #[test]
    fn first_region_takes_precedence() {
        let blob = Region::Blob { centre: [1.0, 0.0], radius: 1.0 };
        let ring = Region::Ring { centre: [0.0, 0.0], r_min: 0.5, r_max: 2.0, angles: None };
        let rest = Region::Rest;
        let regions = [&blob, &ring, &rest];
        assert_eq!(first_region(&regions, 1.0, 0.0), Some(0)); // in the blob and the ring
        assert_eq!(first_region(&regions, -1.0, 0.0), Some(1));
        assert_eq!(first_region(&regions, 0.0, 3.0), Some(2));
        assert_eq!(first_region(&regions[..2], 0.0, 3.0), None);
    }

    /// The selection keeps a fraction `1 / M` of a background it is drawn
    /// from when the target is the background itself (M = 1: everyone), and
    /// the same particle always gets the same answer; reweighting by the
    /// background itself gives weight 1.
    #[test]
    fn selection_and_reweighting_against_their_definitions() {
        let f = Distribution::Maxwellian { u_th: 1.0, drift: [0.0; 3] };
        let bound = selection_bound(&f, &f, 6.0);
        assert!((bound - 1.0).abs() < 1e-12, "{bound}");
        assert!((0..1000).all(|id| selected(&f, &f, bound, 3, 7, id, 0.3, -0.2)));
        let g = Distribution::Maxwellian { u_th: 0.5, drift: [1.0, 0.0, 0.0] };
        let m = selection_bound(&g, &f, 6.0);
        let first: Vec<bool> = (0..200).map(|id| selected(&g, &f, m, 3, 7, id, 1.0, 0.0)).collect();
        let again: Vec<bool> = (0..200).map(|id| selected(&g, &f, m, 3, 7, id, 1.0, 0.0)).collect();
        assert_eq!(first, again);
        // At v = (1, 0) the acceptance is g / (M f); 200 draws hold it within 4 standard errors.
        let p = g.pdf2(1.0, 0.0) / (m * f.pdf2(1.0, 0.0));
        let kept = first.iter().filter(|&&k| k).count() as f64 / 200.0;
        assert!((kept - p).abs() < 4.0 * (p * (1.0 - p) / 200.0).sqrt() + 1e-9, "{kept} vs {p}");
        assert!((reweighting_weight(&f, &f, 0.7, -1.1) - 1.0).abs() < 1e-12);
    }
}
