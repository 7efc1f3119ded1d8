//! The decks shipped with the crate parse and validate.

use std::path::{Path, PathBuf};

use collop_pic::Deck;
use collop_pic::deck::{Distribution, Method, Region, SolverKind};

/// Every `.toml` under `dir`, subfolders included.
fn decks_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(decks_under(&path));
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn decks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("decks")
}

#[test]
fn shipped_decks_are_valid() {
    let dir = decks_dir();
    let decks = decks_under(&dir);
    for path in &decks {
        let text = std::fs::read_to_string(path).unwrap();
        let deck = Deck::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let d = deck.validate().unwrap();
        // The resolved deck written into a run directory reads back the same.
        assert_eq!(Deck::from_toml(&deck.to_toml()).unwrap(), deck, "{}", path.display());
        // (The electrostatic solver has no Courant limit.)
        assert!(deck.solver.kind == SolverKind::Es || d.courant < 1.0, "{}", path.display());
        assert!(d.particles > 0, "{}", path.display());
    }
    assert!(decks.len() >= 9, "{decks:?}");
    let missing = Deck::from_file(dir.join("no-such-deck.toml")).unwrap_err();
    assert!(matches!(missing, collop_pic::PicError::Io { .. }), "{missing}");
}

/// The waterbag decks of the time-varying study: electromagnetic, a
/// waterbag background of v_th = 0.05 c, at least eight region
/// sub-populations ending with a `rest`, two or three of them tracked and
/// some held out, the whole background's histogram, 100-200 dumps, and
/// dx = lambda_D (the deck's Debye resolution).
#[test]
fn time_varying_waterbag_decks() {
    for name in ["sim1.toml", "sim2.toml"] {
        let deck = Deck::from_file(decks_dir().join("time-varying").join(name)).unwrap();
        let d = deck.validate().unwrap();
        assert_eq!(deck.solver.kind, SolverKind::Em, "{name}");
        assert!(matches!(deck.species[0].distribution, Some(Distribution::Waterbag { .. })), "{name}");
        assert!((d.u_th - 0.05).abs() < 1e-12, "{name}: v_th = radius / 2");
        assert!((d.dx_over_debye - 1.0).abs() < 1e-12, "{name}");
        assert!((100..=200).contains(&d.n_dumps), "{name}: {} dumps", d.n_dumps);
        let regions: Vec<_> = deck.sub_populations.iter().filter(|s| s.method == Method::Region).collect();
        assert!(regions.len() >= 8, "{name}");
        assert!(matches!(regions.last().unwrap().region, Some(Region::Rest)), "{name}");
        let tracked = regions.iter().filter(|s| s.tracks > 0).count();
        assert!((2..=3).contains(&tracked), "{name}");
        assert!(regions.iter().filter(|s| s.name.starts_with("heldout_")).count() >= 2, "{name}");
        assert_eq!(deck.sub_populations.iter().filter(|s| s.method == Method::All).count(), 1, "{name}");
        // The regions share the species out: expected sizes sum to it.
        let shares: f64 =
            d.sub_populations.iter().filter(|s| s.method == Method::Region).map(|s| s.parameter).sum();
        assert!((shares - 1.0).abs() < 1e-9, "{name}: {shares}");
    }
    let (a, b) = (
        Deck::from_file(decks_dir().join("time-varying/sim1.toml")).unwrap().validate().unwrap(),
        Deck::from_file(decks_dir().join("time-varying/sim2.toml")).unwrap().validate().unwrap(),
    );
    assert!(b.particles_per_debye_area > 2.0 * a.particles_per_debye_area, "the sets differ in N_D");
}

/// The Weibel deck: an electromagnetic bi-Maxwellian background hot along
/// x (T_x / T_y between 5 and 10, v_th,x between 0.2 and 0.3 c) in a box of
/// several wavelengths of the fastest-growing mode.
#[test]
fn weibel_deck() {
    let deck = Deck::from_file(decks_dir().join("time-varying/weibel.toml")).unwrap();
    deck.validate().unwrap();
    assert_eq!(deck.solver.kind, SolverKind::Em);
    let Some(Distribution::BiMaxwellian { u_th, .. }) = &deck.species[0].distribution else {
        panic!("a bi-Maxwellian background")
    };
    let anisotropy = (u_th[0] / u_th[1]).powi(2);
    assert!((5.0..=10.0).contains(&anisotropy) && (0.2..=0.3).contains(&u_th[0]), "{u_th:?}");
    let (k, gamma) = collop_theory::weibel_fastest_growth(anisotropy, u_th[1]).unwrap();
    let wavelengths = deck.grid.ny as f64 * deck.grid.dy * k / (2.0 * std::f64::consts::PI);
    assert!(wavelengths >= 3.0, "{wavelengths} fastest wavelengths along y");
    assert!(gamma > 0.05, "growth rate {gamma} / omega_p");
    assert!(deck.sub_populations.iter().filter(|s| s.method == Method::Region).count() >= 8);
}

/// The small deck with `from` replaced by `to` (one occurrence, checked).
fn small_with(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(decks_dir().join("small.toml")).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from} in small.toml");
    text.replace(from, to)
}

/// Absurd sizes are refused with the size named, while the deck is
/// validated: no arithmetic on them wraps around or panics (these decks
/// overflowed `ppc * nx * ny` and the byte counts before), and nothing is
/// allocated for them.
#[test]
fn absurd_sizes_are_refused_naming_them() {
    let cases = [
        ("ppc = 16", "ppc = 18446744073709551615", "ppc = 18446744073709551615"),
        ("nx = 128\nny = 128", "nx = 4294967296\nny = 4294967296", "4294967296 x 4294967296"),
        ("n_steps = 4000", "n_steps = 18446744073709551615", "n_steps = 18446744073709551615"),
        ("bins = 51", "bins = 4294967296", "bins = 4294967296"),
    ];
    for (from, to, named) in cases {
        let e = Deck::from_toml(&small_with(from, to)).unwrap_err().to_string();
        assert!(e.contains(named) && e.contains("more than collop accepts"), "{to}: {e}");
    }
    // A first dataset dump past the run is found in the deck, not after the
    // run (200 dumps after the first: 0 ..= 200).
    let e = Deck::from_toml(&small_with("i_start = 5", "i_start = 200")).unwrap_err().to_string();
    assert!(e.contains("i_start = 200") && e.contains("lower i_start below 200"), "{e}");
    assert!(Deck::from_toml(&small_with("i_start = 5", "i_start = 199")).is_ok());
    // 10^12 macro-particles is a valid deck (for a machine that has the
    // memory), whose estimate is the particles' bytes at least.
    let d = Deck::from_toml(&small_with("nx = 128\nny = 128", "nx = 1000000\nny = 62500"))
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(d.particles, 1_000_000 * 62_500 * 16 + d.sub_populations[0].particles);
    assert!(d.memory_bytes as f64 >= d.particles as f64 * collop_pic::deck::BYTES_PER_PARTICLE as f64);
}

/// A run that needs more memory than the machine has is refused by
/// `check_memory` with both numbers and the fix; one that fits passes, and
/// where the machine's memory is unknown nothing is refused.
#[test]
fn a_run_larger_than_the_memory_is_refused_before_it_starts() {
    let big = Deck::from_toml(&small_with("nx = 128\nny = 128", "nx = 1000000\nny = 62500")).unwrap();
    let d = big.validate().unwrap();
    let e = collop_pic::run::check_memory(&d, Some(24 << 30)).unwrap_err().to_string();
    assert!(e.contains("GiB") && e.contains("24.0 GiB") && e.contains("lower ppc or the grid"), "{e}");
    assert!(collop_pic::run::check_memory(&d, None).is_ok());
    let small = Deck::from_toml(&small_with("ppc = 16", "ppc = 16")).unwrap().validate().unwrap();
    assert!(collop_pic::run::check_memory(&small, Some(24 << 30)).is_ok());
    // On a machine where it can be read, the available memory is > 0.
    if let Some(m) = collop_pic::run::available_memory() {
        assert!(m > 0);
    }
}

/// Tracks asked beyond a sub-population's size are cut to it, and the
/// deck's warnings say so.
#[test]
fn tracks_beyond_the_population_are_said() {
    let d = Deck::from_toml(&small_with("tracks = 500", "tracks = 100000000")).unwrap().validate().unwrap();
    let sub = &d.sub_populations[0];
    assert!(sub.tracks < 100_000_000 && sub.tracks == sub.particles, "{} tracks", sub.tracks);
    let said: Vec<&String> = d.warnings.iter().filter(|w| w.contains("tracks = 100000000")).collect();
    assert_eq!(said.len(), 1, "{:?}", d.warnings);
    assert!(said[0].contains(&format!("about {} particles", sub.tracks)), "{}", said[0]);
    let fine = Deck::from_toml(&small_with("tracks = 500", "tracks = 500")).unwrap().validate().unwrap();
    assert!(fine.warnings.iter().all(|w| !w.contains("tracks")), "{:?}", fine.warnings);
}
