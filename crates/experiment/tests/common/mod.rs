//! Fixtures shared by the integration tests of this crate: tiny datasets
//! (with PIC parameters in their args.yaml), synthetic particle-track
//! files, PIC decks and training configs, and readers of what the library
//! writes.
//!
//! Each test binary uses a part of them.
#![allow(dead_code)]

// The PIC crate's deck fragments, shared rather than copied.
#[path = "../../../pic/tests/common/mod.rs"]
mod pic;

use std::path::{Path, PathBuf};

use collop_core::VelocityGrid;
use collop_experiment::TrainConfig;
use ndarray::{Array2, Array3, ArrayD};

/// The grid of the tiny datasets: 12 x 12 cells over `[-3, 3]^2` v_th.
pub fn grid() -> VelocityGrid {
    VelocityGrid::square(12, 3.0).unwrap()
}

/// A small dataset: a Gaussian blob drifting right by `shift` v_th per
/// dump over `frames` frames (dumps 3, 4, ... at t = 1.5, 2.0, ...: dt =
/// 0.5), with the PIC parameters `pic` in its args.yaml. Returns the
/// frames as written (before normalisation).
pub fn write_dataset(dir: &Path, frames: usize, shift: f64, pic: &[(&str, f64)]) -> Array3<f64> {
    let grid = grid();
    let f = Array3::from_shape_fn((frames, 12, 12), |(k, i, j)| {
        let (x, y) = (grid.vx(i) - shift * k as f64, grid.vy(j));
        1000.0 * (-(x * x + y * y)).exp()
    });
    let mut meta = collop_io::DatasetMeta::new(grid, 0.5, 3, 1.5);
    for &(key, value) in pic {
        meta = meta.with_extra(key, value);
    }
    collop_io::write_dataset(dir, &meta, f.view()).unwrap();
    f
}

/// Standard normal numbers from a fixed seed (splitmix64 and Box-Muller),
/// so that the tests need no random-number crate.
pub struct Normals(pub u64);

impl Normals {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 + 0.5 / (1u64 << 53) as f64
    }

    /// The next standard normal number.
    pub fn next(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A `tracks.npz` as `collop pic` writes it: `n` Ornstein-Uhlenbeck tracks
/// (rate `nu`, unit thermal speed: drag `-nu v`, diffusion `D_xx = D_yy =
/// 2 nu`) at `dumps` dumps `h` apart from t = 0, with a NaN at (dump,
/// particle) if asked; in units of `v_th / scale` (`v_th_c = 0.01 / scale`).
pub fn write_tracks(
    path: &Path,
    n: usize,
    dumps: usize,
    h: f64,
    nu: f64,
    nan: Option<(usize, usize)>,
    scale: f64,
) {
    let mut g = Normals(11);
    let (a, b) = ((-nu * h).exp(), (1.0 - (-2.0 * nu * h).exp()).sqrt());
    let mut vx = Array2::<f64>::zeros((dumps, n));
    let mut vy = vx.clone();
    for p in 0..n {
        let (mut x, mut y) = (g.next(), g.next());
        for k in 0..dumps {
            vx[[k, p]] = x;
            vy[[k, p]] = y;
            x = a * x + b * g.next();
            y = a * y + b * g.next();
        }
    }
    if let Some((k, p)) = nan {
        vx[[k, p]] = f64::NAN;
    }
    vx.mapv_inplace(|v| v * scale);
    vy.mapv_inplace(|v| v * scale);
    let data = collop_io::TrackData {
        ids: (0..n as u64).collect(),
        times: (0..dumps).map(|k| k as f64 * h).collect(),
        vz: vx.mapv(|_| 0.0),
        vx,
        vy,
        x: None,
        y: None,
        v_th_c: Some(0.01 / scale),
    };
    collop_io::write_tracks(path, &data).unwrap();
}

/// A PIC deck of a small electrostatic thermal plasma (16 x 16 cells of
/// lambda_D, 16 particles per cell, quadratic shapes, immobile ions) with `seed` and the deck's other tables
/// (`[time]`, `[output]`, `[phase_space]`, `[[sub_populations]]`) from `rest`.
pub fn es_deck(seed: u64, rest: &str) -> String {
    format!(
        r#"seed = {seed}
[grid]
nx = 16
ny = 16
dx = 0.1
dy = 0.1
[solver]
kind = "es"
shape_order = 2
{}{rest}"#,
        pic::electrons_over_ions(16, r#"{ kind = "maxwellian", u_th = 0.1 }"#)
    )
}

/// The tables of a tiny PIC run (on [`es_deck`]) with two tracked
/// sub-populations, a drifting blob and a ring.
pub const TWO_POPULATIONS: &str = r#"
[time]
dt = 0.05
n_steps = 60
dump_every = 10
[output]
energy_every = 10
checkpoint_every_dumps = 0
[phase_space]
bins = 15
v_max = 4.0
i_start = 1
[[sub_populations]]
name = "blob"
species = "electrons"
method = "selection"
target = { kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }
tracks = 300
[[sub_populations]]
name = "ring"
species = "electrons"
method = "selection"
target = { kind = "ring", radius = 2.0, width = 0.3, u_th_z = 1.0 }
tracks = 300
"#;

/// The tables of a tiny PIC run (on [`es_deck`]) of `n_steps` steps, a
/// dump every 10 and no checkpoint, with one sub-population `pop`: a
/// drifting blob by selection.
pub fn one_population(n_steps: usize, pop: &str) -> String {
    format!(
        r#"
[time]
dt = 0.05
n_steps = {n_steps}
dump_every = 10
[output]
energy_every = 10
checkpoint_every_dumps = 0
[phase_space]
bins = 11
v_max = 4.0
i_start = 0
[[sub_populations]]
name = "{pop}"
species = "electrons"
method = "selection"
target = {{ kind = "maxwellian", u_th = 0.5, drift = [-2.0, 0.0, 0.0] }}
"#
    )
}

/// Run the PIC code on a deck's text into `dir`, silently.
pub fn run_pic(deck: &str, dir: &Path) -> collop_pic::RunSummary {
    let deck = collop_pic::Deck::from_toml(deck).unwrap();
    collop_pic::run(&deck, dir, &collop_pic::RunOptions::default(), &mut collop_pic::Silent).unwrap()
}

/// A free tensor (the default model) trained with Adam on the MSE of
/// every step, no validation: `epochs.0` epochs at unroll 1 (rate 1e-2),
/// then `epochs.1` at unroll 2 (rate 1e-3), a checkpoint every
/// `checkpoint_every` epochs.
pub fn tensor_config(folders: &[PathBuf], epochs: (usize, usize), checkpoint_every: usize) -> TrainConfig {
    let rest = format!(
        "seed = 3\n[data]\nfolders = FOLDERS\nvalidation_fraction = 0.0\n[training]\nloss = \"mse\"\n\
         accumulation = \"all-steps\"\noptimiser = {{ kind = \"adam\" }}\ncheckpoint_every = {checkpoint_every}\n\
         stages = [{{ unroll = 1, epochs = {}, lr = 1e-2 }}, {{ unroll = 2, epochs = {}, lr = 1e-3 }}]\n",
        epochs.0, epochs.1
    );
    config(folders, &rest)
}

/// A training config from TOML text (without `[data] folders`, which are
/// `folders`), validated as a config file would be.
pub fn config(folders: &[PathBuf], rest: &str) -> TrainConfig {
    let names: Vec<String> = (0..folders.len()).map(|k| format!("\"f{k}\"")).collect();
    let text = rest.replace("FOLDERS", &format!("[{}]", names.join(", ")));
    let mut cfg = TrainConfig::from_toml(&text, "test config").unwrap();
    cfg.data.folders = folders.to_vec();
    cfg
}

/// A par/perp MLP on `FOLDERS` (see [`config`]) with the conditioners
/// `CONDITIONERS` (a TOML list), trained for 4 + 2 epochs: small enough to
/// train in a fraction of a second.
pub const MLP_CONFIG: &str = r#"
seed = 5
[data]
folders = FOLDERS
validation_fraction = 0.0
[model]
kind = "parperp-mlp"
symmetry = "none"
n_radial = 8
time_nodes = 0
lambda1 = 0.0
lambda2 = 0.0
kernel_size = 2
difference = "forward"
kernel_transpose = false
hidden = [6, 6]
conditioners = CONDITIONERS
[training]
loss = "mse"
accumulation = "all-steps"
optimiser = { kind = "adam" }
checkpoint_every = 0
stages = [{ unroll = 1, epochs = 4, lr = 1e-3 }, { unroll = 2, epochs = 2, lr = 1e-3 }]
"#;

/// The array `name` of the numpy archive `path`.
pub fn npz(path: &Path, name: &str) -> ArrayD<f64> {
    collop_io::read_npz(path)
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in {}", path.display()))
        .1
}

/// A JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
