//! Networks with conditioners: a time input normalised over the training
//! window, and PIC parameters from args.yaml or the config's `[data]
//! conditions`, min-max normalised over the training datasets; the record
//! a run keeps (conditioning.json), other datasets and conditions
//! evaluated with it, and extrapolation refused unless allowed.

mod common;

use std::path::Path;

use collop_experiment::conditioning::Extrapolation;
use collop_experiment::fields_model::FieldsModel;
use collop_experiment::{
    AnyModel, Dataset, FieldsSource, OperatorParams, TrainOptions, TrainedRun, evaluate, train,
};
use collop_learn::FeatureRange;

use common::{MLP_CONFIG, config, read_json, write_dataset};

fn mlp(folders: &[&Path], conditions: &str, conditioners: &str) -> collop_experiment::TrainConfig {
    let folders: Vec<_> = folders.iter().map(|f| f.to_path_buf()).collect();
    let text = MLP_CONFIG
        .replace("FOLDERS", &format!("FOLDERS\n{conditions}"))
        .replace("CONDITIONERS", conditioners);
    config(&folders, &text)
}

/// Per-step mean absolute errors of `params` on `ds` under the run's evaluation numerics.
fn per_step_mae(run: &TrainedRun, params: &OperatorParams, ds: &Dataset) -> (Vec<f64>, String) {
    let model = AnyModel::Trained(Box::new(run.clone()));
    let e = evaluate(params, ds, &run.config.evaluation, model.eval_options(None, false)).unwrap();
    let collop_experiment::Score::Scored { errors, .. } = &e.score else { panic!("diverged: {:?}", e.score) };
    (errors.per_step.iter().map(|x| x.mae).collect(), e.operator)
}

/// A par/perp MLP with a time input: one operator slot per dump step of
/// the training window (4), the same slots on a longer dataset followed by
/// extrapolated ones, which are refused unless allowed, and then reported.
#[test]
fn time_conditioned_network_slots_and_extrapolation() {
    let dir = tempfile::tempdir().unwrap();
    let (data, longer) = (dir.path().join("data"), dir.path().join("longer"));
    write_dataset(&data, 5, 0.5, &[]);
    write_dataset(&longer, 8, 0.5, &[]);
    let cfg = mlp(&[&data], "", r#"["time"]"#);
    let run = dir.path().join("run");
    let out = train(&cfg, &run, TrainOptions::default(), &mut []).unwrap();
    assert_eq!(out.epochs, 6);
    assert!(out.model.contains("par/perp MLP") && out.model.contains("time over 4 steps"), "{}", out.model);
    let record = read_json(&run.join("conditioning.json"));
    assert_eq!(record["time_window_steps"], 4);
    assert_eq!(record["features"], serde_json::json!([]));
    let r = TrainedRun::load(&run).unwrap();
    assert!(r.is_conditioned());
    assert_eq!(r.time_window(), Some(4));

    let ds = Dataset::load(&data).unwrap();
    let (params, notes) = r.params_for(&ds, Extrapolation::Refuse).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(params.n_slots, 4);
    // model.npz holds the operator of the training data.
    assert_eq!(params.theta, r.theta);
    let (maes, operator) = per_step_mae(&r, &params, &ds);
    assert!(maes.len() == 4 && maes.iter().all(|m| m.is_finite()), "{maes:?}");
    assert!(operator.contains("4 time slot"), "{operator}");

    // Beyond the training window the time input extrapolates.
    let long = Dataset::load(&longer).unwrap();
    let e = r.params_for(&long, Extrapolation::Refuse).unwrap_err().to_string();
    assert!(e.contains("window of 4") && e.contains("--extrapolate"), "{e}");
    let (p7, notes) = r.params_for(&long, Extrapolation::Allow).unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with("time: 7 dump steps") && notes[0].contains("window of 4"), "{notes:?}");
    assert_eq!(p7.n_slots, 7);
    // The time input is normalised over the training window, not the
    // dataset's: the first four slots are the training ones.
    assert_eq!(p7.theta[..params.theta.len()], params.theta[..]);
    let (maes, operator) = per_step_mae(&r, &p7, &long);
    assert!(maes.len() == 7 && maes.iter().all(|m| m.is_finite()), "{maes:?}");
    assert!(operator.contains("7 time slot"), "{operator}");
}

/// PIC-parameter conditioners: a value missing from a training dataset's
/// args.yaml is named with its folder and the fix, and nothing is written;
/// a constant one is refused; given in `[data] conditions`, the training
/// ranges are recorded, any condition's fields are exported, other
/// datasets are evaluated with the training normalisation, and outside the
/// training range only when allowed.
#[test]
fn pic_parameter_conditioners_from_args_yaml_or_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let folder = |n: &str| dir.path().join(n);
    write_dataset(&folder("a"), 4, 0.5, &[("ppc", 4.0), ("vth_c", 0.01)]);
    write_dataset(&folder("b"), 4, 0.3, &[("ppc", 16.0)]);
    write_dataset(&folder("c"), 4, 0.4, &[("ppc", 64.0), ("vth_c", 0.02)]);
    write_dataset(&folder("d"), 4, 0.3, &[("ppc", 16.0)]);
    let (a, b) = (folder("a"), folder("b"));
    let conditioners = r#"["ppc", "vth_c"]"#;
    let run = folder("run");

    let cfg = mlp(&[&a, &b], "", conditioners);
    let e = train(&cfg, &run, TrainOptions::default(), &mut []).err().expect("b has no vth_c").to_string();
    assert!(e.contains("/b: args.yaml has no `vth_c`") && e.contains("[data] conditions"), "{e}");
    assert!(!run.exists(), "refused before the run directory is written");
    let cfg = mlp(&[&a, &b], "conditions = [{}, { vth_c = 0.01 }]", conditioners);
    let e = train(&cfg, &run, TrainOptions::default(), &mut []).err().expect("constant vth_c").to_string();
    assert!(e.contains("`vth_c` conditioner is 0.01 in every training dataset"), "{e}");

    let cfg = mlp(&[&a, &b], "conditions = [{}, { vth_c = 0.03 }]", conditioners);
    let out = train(&cfg, &run, TrainOptions::default(), &mut []).unwrap();
    assert!(out.model.contains("2 features x 2 conditions"), "{}", out.model);
    let record = read_json(&run.join("conditioning.json"));
    assert_eq!(record["features"][0], serde_json::json!({ "name": "ppc", "min": 4.0, "max": 16.0 }));
    assert_eq!(record["features"][1], serde_json::json!({ "name": "vth_c", "min": 0.01, "max": 0.03 }));
    let r = TrainedRun::load(&run).unwrap();
    let c = r.conditioning.as_ref().unwrap();
    assert_eq!(c.features[1], FeatureRange { name: "vth_c".into(), min: 0.01, max: 0.03 });
    assert_eq!(r.time_window(), None);

    // The fields of any condition: the training dataset's are the operator
    // its evaluation uses; two conditions differ; outside the training
    // range only when allowed, and then recorded.
    let grid = common::grid();
    let ds_a = Dataset::load(&a).unwrap();
    let (pa, notes) = r.params_for(&ds_a, Extrapolation::Refuse).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let fa = r.fields_model(grid, &[4.0, 0.01], 3, Extrapolation::Refuse).unwrap();
    assert_eq!(fa.fields, pa.fields().unwrap());
    let f8 = r.fields_model(grid, &[8.0, 0.02], 3, Extrapolation::Refuse).unwrap();
    let FieldsSource::Learned { condition, extrapolated, .. } = &f8.meta.source else { panic!("learned") };
    assert_eq!(condition, &[("ppc".to_string(), 8.0), ("vth_c".to_string(), 0.02)]);
    assert!(extrapolated.is_empty());
    let f16 = r.fields_model(grid, &[16.0, 0.02], 3, Extrapolation::Refuse).unwrap();
    assert_ne!(f8.fields[0].as_array()[2], f16.fields[0].as_array()[2], "D_xx depends on ppc");
    let e = r.fields_model(grid, &[64.0, 0.02], 3, Extrapolation::Refuse).unwrap_err().to_string();
    assert!(e.contains("ppc = 64") && e.contains("--extrapolate"), "{e}");
    let f64_ = r.fields_model(grid, &[64.0, 0.02], 3, Extrapolation::Allow).unwrap();
    let FieldsSource::Learned { extrapolated, .. } = &f64_.meta.source else { panic!("learned") };
    assert!(extrapolated.len() == 1 && extrapolated[0].contains("[4, 16]"), "{extrapolated:?}");
    let e = r.fields_model(grid, &[8.0], 3, Extrapolation::Refuse).unwrap_err().to_string();
    assert!(e.contains("1 PIC-parameter values given") && e.contains("ppc, vth_c"), "{e}");
    let out = folder("fields-8");
    f8.save(&out).unwrap();
    assert_eq!(FieldsModel::load(&out).unwrap(), f8);

    // A dataset outside the training range, with its own args.yaml values:
    // refused unless allowed, and then reported.
    let ds_c = Dataset::load(&folder("c")).unwrap();
    let e = r.params_for(&ds_c, Extrapolation::Refuse).unwrap_err().to_string();
    assert!(e.contains("outside the training range") && e.contains("--extrapolate"), "{e}");
    let (pc, notes) = r.params_for(&ds_c, Extrapolation::Allow).unwrap();
    assert!(notes.len() == 1 && notes[0].contains("ppc = 64"), "{notes:?}");
    let (maes, _) = per_step_mae(&r, &pc, &ds_c);
    assert!(maes.iter().all(|m| m.is_finite()), "{maes:?}");
    // A training folder gets its config values also when loaded on its own.
    let ds_b = Dataset::load(&b).unwrap();
    let (pb, notes) = r.params_for(&ds_b, Extrapolation::Refuse).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    let fb = r.fields_model(grid, &[16.0, 0.03], 3, Extrapolation::Refuse).unwrap();
    assert_eq!(pb.fields().unwrap(), fb.fields, "b's ppc from args.yaml, vth_c from the config");
    // Outside the config, a missing key can only come from args.yaml.
    let ds_d = Dataset::load(&folder("d")).unwrap();
    let e = r.params_for(&ds_d, Extrapolation::Refuse).unwrap_err().to_string();
    assert!(e.contains("/d: args.yaml has no `vth_c`") && !e.contains("[data] conditions"), "{e}");
}
