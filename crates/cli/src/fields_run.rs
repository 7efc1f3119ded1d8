//! Fixed-fields model directories: Fokker-Planck coefficient fields that are
//! not learned (theory, particle-track estimates), rolled out like any model.
//!
//! Layout of `DIR`:
//! - `fields.npz`: `a_x, a_y, d_xx, d_yy, d_xy`, each `(n_slots, nx, ny)` in
//!   physical units (`v_th omega_p`, `v_th^2 omega_p`; slot `s` is used at
//!   dump step `s`, the last one after), and
//!   `grid = [nx, ny, vx_min, vx_max, vy_min, vy_max]` (velocities in `v_th`);
//! - `run.json`: `{"kind": "fields", "source": ..., "version": ..., ...}`.
//!
//! Both files are written atomically (write then rename).

use std::path::Path;

use anyhow::{Context, Result, bail};
use collop_core::{FpFields, VelocityGrid};
use ndarray::{Array3, ArrayD, Axis, Ix3, IxDyn};

/// The coefficient arrays.
pub const FIELDS_FILE: &str = "fields.npz";
/// The metadata.
pub const RUN_FILE: &str = "run.json";
/// Array names in `fields.npz`, in [`collop_core::FIELD_NAMES`] order.
const NAMES: [&str; 5] = ["a_x", "a_y", "d_xx", "d_yy", "d_xy"];

/// Whether `dir` holds a fixed-fields model (a `fields.npz`).
pub fn is_fields_run(dir: &Path) -> bool {
    dir.join(FIELDS_FILE).is_file()
}

/// Write `fields` (one per time slot, all on one grid) and `meta` (a JSON
/// object; `kind` is set to `"fields"`) into `dir`, created if needed.
pub fn save_fields_run(dir: &Path, fields: &[FpFields], meta: serde_json::Value) -> Result<()> {
    let Some(first) = fields.first() else { bail!("a fields run needs at least one set of fields") };
    let g = first.grid;
    for (s, f) in fields.iter().enumerate() {
        if !f.grid.same_as(&g) {
            bail!("slot {s} is on grid {}, slot 0 on {g}: every slot must share one grid", f.grid);
        }
        f.validate().with_context(|| format!("slot {s}"))?;
    }
    let serde_json::Value::Object(mut meta) = meta else { bail!("run metadata must be a JSON object") };
    meta.insert("kind".into(), "fields".into());
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut arrays: Vec<(&str, ArrayD<f64>)> = Vec::new();
    for (k, name) in NAMES.iter().enumerate() {
        let mut a = Array3::zeros((fields.len(), g.nx, g.ny));
        for (s, f) in fields.iter().enumerate() {
            a.index_axis_mut(Axis(0), s).assign(f.as_array()[k]);
        }
        arrays.push((name, a.into_dyn()));
    }
    let grid = vec![g.nx as f64, g.ny as f64, g.x_range[0], g.x_range[1], g.y_range[0], g.y_range[1]];
    arrays.push(("grid", ArrayD::from_shape_vec(IxDyn(&[6]), grid).expect("6 values")));
    let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
        arrays.iter().map(|(n, a)| (*n, a.view())).collect();
    collop_io::write_npz(dir.join(FIELDS_FILE), &views)?;
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(meta))?;
    collop_io::write_text(dir.join(RUN_FILE), &text)?;
    Ok(())
}

/// Read a fixed-fields model: its fields per slot and its `run.json`.
pub fn load_fields_run(dir: &Path) -> Result<(Vec<FpFields>, serde_json::Value)> {
    let path = dir.join(FIELDS_FILE);
    if !path.is_file() {
        bail!(
            "{}: no {FIELDS_FILE}; not a fields run (write one with `collop theory` or `collop tracks`)",
            dir.display()
        );
    }
    let arrays = collop_io::read_npz(&path)
        .with_context(|| format!("{}: unreadable (corrupt or not a numpy archive)", path.display()))?;
    let get = |name: &str| {
        arrays
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
            .with_context(|| format!("{}: array `{name}` is missing", path.display()))
    };
    let g = get("grid")?;
    let gv: Vec<f64> = g.iter().copied().collect();
    if gv.len() != 6 || gv[0] < 1.0 || gv[1] < 1.0 || gv[0].fract() != 0.0 || gv[1].fract() != 0.0 {
        bail!("{}: `grid` must be [nx, ny, vx_min, vx_max, vy_min, vy_max], found {gv:?}", path.display());
    }
    let grid = VelocityGrid::new(gv[0] as usize, gv[1] as usize, [gv[2], gv[3]], [gv[4], gv[5]])
        .with_context(|| format!("{}: invalid `grid`", path.display()))?;
    let mut comps = Vec::new();
    for name in NAMES {
        let a = get(name)?
            .clone()
            .into_dimensionality::<Ix3>()
            .map_err(|_| anyhow::anyhow!("{}: `{name}` must have 3 axes (slot, v_x, v_y)", path.display()))?;
        let (_, nx, ny) = a.dim();
        if (nx, ny) != grid.shape() || a.dim().0 == 0 {
            bail!(
                "{}: `{name}` has shape {:?}, the grid is {} x {}",
                path.display(),
                a.dim(),
                grid.nx,
                grid.ny
            );
        }
        comps.push(a);
    }
    let n_slots = comps[0].dim().0;
    if comps.iter().any(|a| a.dim().0 != n_slots) {
        bail!("{}: the five arrays have different numbers of time slots", path.display());
    }
    let mut fields = Vec::with_capacity(n_slots);
    for s in 0..n_slots {
        let mut f = FpFields::zeros(grid);
        for (dst, src) in f.as_array_mut().into_iter().zip(&comps) {
            dst.assign(&src.index_axis(Axis(0), s));
        }
        f.validate().with_context(|| format!("{}: slot {s}", path.display()))?;
        fields.push(f);
    }
    let run = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&run).with_context(|| format!("reading {}", run.display()))?;
    let meta: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: invalid JSON", run.display()))?;
    if meta.get("kind").and_then(|k| k.as_str()) != Some("fields") {
        bail!("{}: `kind` is not \"fields\"", run.display());
    }
    Ok((fields, meta))
}

/// The operator parameters (grid units, slots concatenated) of `fields` for
/// a rollout on `grid`, refused if the grids differ.
pub fn fields_theta(fields: &[FpFields], grid: &VelocityGrid, dir: &Path) -> Result<Vec<f64>> {
    let mut theta = Vec::with_capacity(5 * grid.len() * fields.len());
    for f in fields {
        if !f.grid.same_as(grid) {
            bail!(
                "{}: the fields are on grid {}, the dataset on {grid}; write them for this dataset's grid \
                 (collop theory or collop tracks ... --grid-from DATASET)",
                dir.display(),
                f.grid
            );
        }
        theta.extend(f.to_grid_units());
    }
    Ok(theta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let g = VelocityGrid::new(5, 4, [-2.0, 2.0], [-1.0, 3.0]).unwrap();
        let f0 = FpFields::from_fn(g, |x, y| [x, y, 1.0 + x * x, 2.0, 0.1 * x * y]);
        let f1 = FpFields::from_fn(g, |x, y| [-x, y, 1.0, 2.0 + y * y, 0.0]);
        save_fields_run(dir.path(), &[f0.clone(), f1.clone()], serde_json::json!({"source": "test"}))
            .unwrap();
        let (back, meta) = load_fields_run(dir.path()).unwrap();
        assert_eq!(back, vec![f0.clone(), f1]);
        assert_eq!(meta["kind"], "fields");
        assert_eq!(meta["source"], "test");
        let theta = fields_theta(&back, &g, dir.path()).unwrap();
        assert_eq!(theta.len(), 2 * 5 * g.len());
        let other = VelocityGrid::square(5, 2.0).unwrap();
        let e = fields_theta(&back, &other, dir.path()).unwrap_err().to_string();
        assert!(e.contains("--grid-from"), "{e}");
        std::fs::write(dir.path().join(FIELDS_FILE), b"not an archive").unwrap();
        let e = format!("{:#}", load_fields_run(dir.path()).unwrap_err());
        assert!(e.contains("unreadable"), "{e}");
        let e = load_fields_run(&dir.path().join("none")).unwrap_err().to_string();
        assert!(e.contains("not a fields run"), "{e}");
    }
}
