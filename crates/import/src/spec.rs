//! What to import: the sub-populations, in the syntax of a `collop pic`
//! deck (its `[phase_space]` table and `[[sub_populations]]` tables; the
//! types are shared through [`collop_core::population`]).
//!
//! ```toml
//! seed = 1                 # the uniform numbers of selections and track choices
//!
//! [phase_space]
//! bins = 51
//! v_max = 5.0              # in v_th
//!
//! [[sub_populations]]
//! name = "blob"
//! species = "electrons"
//! method = "region"
//! region = { kind = "blob", centre = [-2.0, 0.0], radius = 0.6 }
//! tracks = 1000
//!
//! [[sub_populations]]
//! name = "background"
//! species = "electrons"
//! method = "all"
//! ```
//!
//! Membership is decided at the first imported dump by the particles'
//! velocities then (their `v0`), exactly as `collop pic` decides it at
//! `t = 0`: `region` (first containing region in file order), `selection`
//! (rejection against the background), `reweighting` (weights `g / f`) and
//! `all`. The background `f` of selection and reweighting is the
//! Maxwellian of the species' measured mean and `v_th` at that dump (a PIC
//! code's file does not say which distribution it loaded). `test_species`
//! has no meaning here: a test species is a species of the file, imported
//! with `method = "all"`.

use collop_core::population::{Method, PhaseSpaceDeck, Region, SubPopulationDeck};
use serde::{Deserialize, Serialize};

use crate::ImportError;

/// The sub-populations to import and their grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSpec {
    /// Seed of the selections' uniform numbers and of the tracked particles' choice.
    #[serde(default)]
    pub seed: u64,
    /// The histogram grid (`bins`, `v_max` in `v_th`; `i_start`).
    #[serde(default)]
    pub phase_space: PhaseSpaceDeck,
    /// The sub-populations, in order (regions of a species exclusive in this order).
    pub sub_populations: Vec<SubPopulationDeck>,
}

impl ImportSpec {
    /// Parses a TOML specification (unknown keys refused) and checks it.
    pub fn from_toml(text: &str) -> Result<Self, ImportError> {
        let spec: Self =
            toml::from_str(text).map_err(|e| ImportError::Spec(format!("import specification: {e}")))?;
        spec.check()?;
        Ok(spec)
    }

    /// The specification of `collop import`'s quick flags: one
    /// sub-population of `species` per blob (`[v_x, v_y, radius]` in
    /// `v_th`, named `blob_<v_x>_<v_y>`) and per ring about the origin
    /// (`[r_min, r_max]`, named `ring_<r_min>_<r_max>`), selected by region
    /// in that order, and the whole species (named after it) when `all` is
    /// asked or no region is given; each keeps `tracks` tracked particles.
    /// Default grid and seed; checked.
    pub fn from_regions(
        species: &str,
        blobs: &[[f64; 3]],
        rings: &[[f64; 2]],
        all: bool,
        tracks: usize,
    ) -> Result<Self, ImportError> {
        let sub = |name: String, method: Method, region: Option<Region>| SubPopulationDeck {
            name,
            species: species.to_string(),
            method,
            target: None,
            region,
            fraction: 0.0,
            tracks,
            track_positions: false,
        };
        let mut subs: Vec<SubPopulationDeck> = blobs
            .iter()
            .map(|&[x, y, radius]| {
                sub(format!("blob_{x}_{y}"), Method::Region, Some(Region::Blob { centre: [x, y], radius }))
            })
            .collect();
        subs.extend(rings.iter().map(|&[r_min, r_max]| {
            sub(
                format!("ring_{r_min}_{r_max}"),
                Method::Region,
                Some(Region::Ring { centre: [0.0, 0.0], r_min, r_max, angles: None }),
            )
        }));
        if subs.is_empty() || all {
            subs.push(sub(species.to_string(), Method::All, None));
        }
        let spec = Self { seed: 0, phase_space: Default::default(), sub_populations: subs };
        spec.check()?;
        Ok(spec)
    }

    /// The specification as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The distinct species, in order of first appearance.
    pub fn species(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for sp in &self.sub_populations {
            if !out.contains(&sp.species) {
                out.push(sp.species.clone());
            }
        }
        out
    }

    /// Refuses what cannot be imported, naming the sub-population and the fix.
    pub fn check(&self) -> Result<(), ImportError> {
        let bad = |msg: String| Err(ImportError::Spec(msg));
        let ps = &self.phase_space;
        if !(ps.bins >= 1 && ps.bins <= 4096) {
            return bad(format!("phase_space.bins = {} must be in 1..=4096", ps.bins));
        }
        if !(ps.v_max.is_finite() && ps.v_max > 0.0) {
            return bad(format!("phase_space.v_max = {} must be finite and > 0 (in v_th)", ps.v_max));
        }
        if self.sub_populations.is_empty() {
            return bad("the import specification has no sub-population; add a [[sub_populations]] table \
                        (method = \"all\" imports a whole species)"
                .into());
        }
        let mut names = std::collections::HashSet::new();
        for sp in &self.sub_populations {
            let what = format!("sub-population '{}'", sp.name);
            let name_ok = !sp.name.is_empty()
                && !sp.name.starts_with('.')
                && sp.name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !name_ok {
                return bad(format!("{what}: a name is letters, digits, '_', '-', '.' (it names a folder)"));
            }
            if !names.insert(sp.name.as_str()) {
                return bad(format!("{what}: the name is used twice"));
            }
            match sp.method {
                Method::TestSpecies => {
                    return bad(format!(
                        "{what}: method = \"test_species\" makes particles in collop pic; in another code's output a \
                         test species is a species of its own: import it with species = \"<its name>\", method = \"all\""
                    ));
                }
                Method::Selection | Method::Reweighting => match &sp.target {
                    Some(t) => t.check(&what).map_err(ImportError::Spec)?,
                    None => return bad(format!("{what}: method = \"{}\" needs a target", sp.method.name())),
                },
                Method::Region => match &sp.region {
                    Some(r) => r.check(&what).map_err(ImportError::Spec)?,
                    None => return bad(format!("{what}: method = \"region\" needs a region")),
                },
                Method::All => {}
            }
        }
        for species in self.species() {
            let regions: Vec<(&str, &Region)> = self
                .sub_populations
                .iter()
                .filter(|sp| sp.species == species && sp.method == Method::Region)
                .filter_map(|sp| sp.region.as_ref().map(|r| (sp.name.as_str(), r)))
                .collect();
            if let Some(k) = regions.iter().position(|(_, r)| matches!(r, Region::Rest))
                && k + 1 != regions.len()
            {
                return bad(format!(
                    "sub-population '{}': region {{ kind = \"rest\" }} takes everything earlier regions of species \
                     '{species}' left, so the regions after it would be empty; move it last",
                    regions[k].0
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick flags' specification: blobs, then rings, named by their
    /// numbers; the whole species added when asked or when no region is
    /// given; a region outside the grid refused by the same check as a file.
    #[test]
    fn regions_make_the_quick_specification() {
        let spec =
            ImportSpec::from_regions("electrons", &[[-2.0, 0.0, 0.6]], &[[1.5, 2.5]], true, 7).unwrap();
        let names: Vec<&str> = spec.sub_populations.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["blob_-2_0", "ring_1.5_2.5", "electrons"]);
        assert_eq!(
            spec.sub_populations[1].region,
            Some(Region::Ring { centre: [0.0, 0.0], r_min: 1.5, r_max: 2.5, angles: None })
        );
        assert!(spec.sub_populations.iter().all(|s| s.tracks == 7 && s.species == "electrons"));
        assert_eq!(spec.sub_populations[2].method, Method::All);
        let only_all = ImportSpec::from_regions("ions", &[], &[], false, 0).unwrap();
        assert_eq!(only_all.sub_populations.len(), 1);
        assert_eq!(only_all.sub_populations[0].method, Method::All);
        assert!(ImportSpec::from_regions("electrons", &[[-2.0, 0.0, -1.0]], &[], false, 0).is_err());
    }

    /// The deck's syntax parses; what cannot be imported is refused by name.
    #[test]
    fn spec_parses_and_refuses() {
        let good = r#"
            seed = 2
            [phase_space]
            bins = 31
            v_max = 4.0
            [[sub_populations]]
            name = "blob"
            species = "electrons"
            method = "region"
            region = { kind = "blob", centre = [-2.0, 0.0], radius = 0.6 }
            tracks = 10
            [[sub_populations]]
            name = "tail"
            species = "electrons"
            method = "selection"
            target = { kind = "maxwellian", u_th = 0.5, drift = [2.0, 0.0, 0.0] }
        "#;
        let s = ImportSpec::from_toml(good).expect("valid");
        assert_eq!(s.phase_space.bins, 31);
        assert_eq!(s.species(), vec!["electrons".to_string()]);
        assert_eq!(ImportSpec::from_toml(&s.to_toml()).expect("round trip"), s);
        let bad = |text: &str, want: &str| {
            let e = ImportSpec::from_toml(text).expect_err(want).to_string();
            assert!(e.contains(want), "{e}");
        };
        bad(
            "[[sub_populations]]\nname = \"t\"\nspecies = \"e\"\nmethod = \"test_species\"\nfraction = 0.1\n",
            "method = \"all\"",
        );
        bad("[[sub_populations]]\nname = \"s\"\nspecies = \"e\"\nmethod = \"selection\"\n", "needs a target");
        bad(
            "[[sub_populations]]\nname = \"r\"\nspecies = \"e\"\nmethod = \"region\"\nregion = { kind = \"rest\" }\n\
             [[sub_populations]]\nname = \"b\"\nspecies = \"e\"\nmethod = \"region\"\n\
             region = { kind = \"blob\", radius = 1.0 }\n",
            "move it last",
        );
        bad("sub_populations = []\n", "no sub-population");
        bad(
            "[[sub_populations]]\nname = \"a\"\nspecies = \"e\"\nmethod = \"all\"\ncolour = 1\n",
            "unknown field",
        );
    }
}
