//! `operator_moments`: the Kramers-Moyal moments of a model, written to a
//! folder, on a Fokker-Planck model whose moments are known.

mod common;

use collop_core::FpFields;
use collop_experiment::operator_moments::{MomentSettings, OperatorMoments, analyse};
use collop_experiment::{FieldsModel, FieldsSource};

/// The Ornstein-Uhlenbeck (Lenard-Bernstein) operator `A = -nu v`,
/// `D = 2 nu` on the test grid, saved as a fields model.
fn ou_model(dir: &std::path::Path, nu: f64) {
    let fields = FpFields::from_fn(common::grid(), |vx, vy| [-nu * vx, -nu * vy, 2.0 * nu, 2.0 * nu, 0.0]);
    let model = FieldsModel::new(vec![fields], FieldsSource::Given { description: "OU".into() }).unwrap();
    model.save(dir).unwrap();
}

fn csv(path: &std::path::Path) -> Vec<std::collections::HashMap<String, f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| head.iter().cloned().zip(l.split(',').map(|v| v.parse::<f64>().unwrap())).collect())
        .collect()
}

/// The moments of a Fokker-Planck model are its fields (drift `-nu v`,
/// diffusion `2 nu`) at every interior cell, to round-off; its higher
/// terms are only its discretisation's: the centred drift stencil has
/// `M_3 = A dv^2` and the diffusion stencil `M_4 = D dv^2` along each
/// axis, so on the scale of 1 v_th the third term is `dv^2 / 6` of the
/// drift term and the fourth `dv^2 / 12` of the diffusion term, and the
/// higher share can nowhere exceed `dv^2 / 6` (0.0104 for dv = 0.25).
#[test]
fn a_fokker_planck_model_has_its_fields_as_moments_and_only_discretisation_beyond() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("blob");
    common::write_dataset(&data, 6, 0.2, &[]);
    let model = tmp.path().join("ou");
    let nu = 0.05;
    ou_model(&model, nu);
    let out = tmp.path().join("moments");
    let settings =
        MomentSettings { model: model.clone(), data: vec![data.clone()], scale: 1.0, cells: vec![] };
    let r = analyse(&settings, &out, collop_io::Existing::Refuse).unwrap();
    assert_eq!(r.kernel, None);
    assert_eq!(r.slots.len(), 1);
    let dv = common::grid().dvx();
    let bound = dv * dv / 6.0;
    let s = &r.slots[0];
    assert!(s.cells > 0);
    assert!(
        s.higher_share[3] <= bound * (1.0 + 1e-9),
        "largest higher share {} > {bound}",
        s.higher_share[3]
    );
    assert!(s.higher_share[0] > 0.0, "the discretisation has higher moments");
    assert!(s.loss < 1e-12, "the operator conserves particles: {}", s.loss);
    let shares: f64 = s.term_shares.iter().sum();
    assert!((shares - 1.0).abs() < 1e-9, "the four shares add up to one: {shares}");
    let rows = csv(&out.join("moments_slot0.csv"));
    let mut interior = 0;
    for row in rows.iter().filter(|r| r["interior"] == 1.0) {
        interior += 1;
        let (vx, vy) = (row["v_x"], row["v_y"]);
        // CSV values are written with full precision ({:e}).
        assert!((row["a_x"] + nu * vx).abs() < 1e-12, "A_x at ({vx}, {vy}): {}", row["a_x"]);
        assert!((row["a_y"] + nu * vy).abs() < 1e-12);
        assert!((row["d_xx"] - 2.0 * nu).abs() < 1e-12 && (row["d_yy"] - 2.0 * nu).abs() < 1e-12);
        assert!(row["d_xy"].abs() < 1e-12);
        assert!((row["m3_xxx"] + nu * vx * dv * dv).abs() < 1e-12, "M_3xxx = A_x dv^2");
        assert!((row["m4_yyyy"] - 2.0 * nu * dv * dv).abs() < 1e-12, "M_4yyyy = D_yy dv^2");
    }
    // 12 x 12 cells; a fields model is rolled out with the reference
    // evaluation numerics (guard-cell edges): jumps of one cell, so cells
    // 2 ..= 9 are interior.
    assert_eq!(r.reach, 1);
    assert_eq!(interior, 8 * 8);
    assert!(out.join("moments_slot0.png").is_file());
    assert_eq!(OperatorMoments::load(&out).unwrap(), r);

    // The folder is the analysis's: refused without --overwrite, replaced with it.
    let e = analyse(&settings, &out, collop_io::Existing::Refuse).unwrap_err().to_string();
    assert!(e.contains("--overwrite"), "{e}");
    analyse(&settings, &out, collop_io::Existing::Overwrite).unwrap();
}

/// Bad input is refused before anything is written.
#[test]
fn bad_input_is_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("blob");
    common::write_dataset(&data, 4, 0.2, &[]);
    let model = tmp.path().join("ou");
    ou_model(&model, 0.05);
    let out = tmp.path().join("moments");
    let base = MomentSettings { model: model.clone(), data: vec![data.clone()], scale: 1.0, cells: vec![] };
    let cases = [
        (MomentSettings { data: vec![], ..base.clone() }, "--data"),
        (MomentSettings { scale: 0.0, ..base.clone() }, "scale"),
        (MomentSettings { cells: vec![[9.0, 0.0]], ..base.clone() }, "off the grid"),
        (MomentSettings { model: tmp.path().join("nothing"), ..base.clone() }, "collop train"),
    ];
    for (s, words) in cases {
        let e = analyse(&s, &out, collop_io::Existing::Refuse).unwrap_err().to_string();
        assert!(e.contains(words), "expected `{words}` in: {e}");
        assert!(!out.join("moments.json").exists());
    }
}
