//! Agreement of every model with the theories: shell averages of the
//! radial coefficients over populated cells, relative deviations, and
//! amplitudes against the dynamic theory.

use collop_core::FpFields;
use collop_core::shells::{Cells, ShellComparison, ShellSpec};
use ndarray::Array2;

use super::{Agreement, Amplitude, Amplitudes, Coefficient, Entry, Family};
use crate::error::Result;
use crate::fields_model::FieldsModel;

/// Width of the `|v|` shells of the agreement table, `v_th`.
pub const SHELL: f64 = 0.5;
/// Shells in the table (`|v| <= 3`).
pub const SHELLS: usize = 6;
/// Speeds over which amplitudes are compared (`|v| <= 3 v_th` without the
/// innermost shell, where the drift vanishes and few cells lie).
pub const AMPLITUDE_RANGE: (f64, f64) = (0.5, 3.0);

const COEFFICIENTS: [Coefficient; 3] = [Coefficient::APar, Coefficient::DPar, Coefficient::DPerp];

/// Shell averages of `model` against `theory` over the cells of `mask`.
fn shells(model: &FpFields, mask: &Array2<bool>, theory: &FpFields) -> Result<ShellComparison> {
    Ok(ShellComparison::new(model, theory, Cells::Mask(mask), ShellSpec::width(SHELL)?)?)
}

/// Signed relative deviations per shell index (`None` where the shell has
/// no cell); `A_par` relative to `max(|A_par|, 0.1 max_shells |A_par|)`
/// since the drift vanishes at `v = 0`.
fn deviations(model: &FpFields, mask: &Array2<bool>, theory: &FpFields) -> Result<Vec<Option<[f64; 3]>>> {
    Ok(shells(model, mask, theory)?.deviations_by_shell(0.1, SHELLS))
}

/// The agreement of every non-theory model with fields with every theory,
/// and the amplitudes against the dynamic theory.
pub(super) fn against_theory(
    entries: &[Entry],
    theories: &[(String, FpFields, FieldsModel)],
    failures: &mut Vec<String>,
) -> (Vec<Agreement>, Option<Amplitudes>) {
    let mut agreement = Vec::new();
    for (tname, tfields, _) in theories {
        for e in entries.iter().filter(|e| e.family != Family::Theory) {
            let Some((f, mask)) = &e.fields else { continue };
            match deviations(f, mask, tfields) {
                Ok(dev) => {
                    for (k, c) in COEFFICIENTS.iter().enumerate() {
                        agreement.push(Agreement {
                            model: e.name.clone(),
                            theory: tname.clone(),
                            coefficient: *c,
                            deviation: dev.iter().map(|d| d.map(|d| d[k])).collect(),
                        });
                    }
                }
                Err(err) => failures.push(format!("agreement of {} with {tname}: {err}", e.name)),
            }
        }
    }
    let amplitude =
        theories.iter().find(|(n, ..)| n == "theory-dynamic").and_then(|(_, dyn_fields, model)| {
            let Some(t) = model.meta.source.theory() else {
                failures.push("amplitude of theory-dynamic: not a theory model".into());
                return None;
            };
            let (c, nd) = (t.amplitude, t.parameters.particles_per_debye_area);
            let mut models = Vec::new();
            for e in entries.iter().filter(|e| e.family != Family::Theory) {
                let Some((f, mask)) = &e.fields else { continue };
                match shells(f, mask, dyn_fields).map(|cmp| cmp.amplitude_ratios(AMPLITUDE_RANGE)) {
                    Ok(Some(r)) => {
                        let c_eff = 0.5 * (r[1] + r[2]) * c;
                        models.push(Amplitude {
                            model: e.name.clone(),
                            ratio: r,
                            c_eff,
                            nd_c_eff: nd * c_eff,
                        });
                    }
                    Ok(None) => {}
                    Err(err) => failures.push(format!("amplitude of {}: {err}", e.name)),
                }
            }
            Some(Amplitudes { theory_c: c, n_d: nd, models })
        });
    (agreement, amplitude)
}
