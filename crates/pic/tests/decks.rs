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
