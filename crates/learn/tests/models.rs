//! Every linear parametrisation: exact vector-Jacobian products (against
//! finite differences, which are exact up to round-off for a linear map, and
//! the dot-product test), the symmetries it promises, and agreement with the
//! theory crate's radial fields.

use collop_core::{FpFields, VelocityGrid};
use collop_fp::{Difference, Edges, Scheme};
use collop_learn::{LinearKind, Model, Symmetry, TimeNodes, linear_model};
use collop_theory::{RadialCoefficients, fields_from_radial_fn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `<theta(u), w> = <u, theta_vjp(w)>` for the linear map (dot-product test),
/// and the regularisation gradient against central differences.
fn conformance(model: &dyn Model, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let np = model.nparams();
    let nt = model.operator().nparams();
    let u = random(&mut rng, np);
    let w = random(&mut rng, nt);
    let mut theta = vec![0.0; nt];
    model.theta(&u, &mut theta).unwrap();
    let mut g = vec![0.0; np];
    model.theta_vjp(&u, &w, &mut g).unwrap();
    let (lhs, rhs) = (dot(&theta, &w), dot(&u, &g));
    assert!((lhs - rhs).abs() <= 1e-12 * (lhs.abs() + 1.0), "{}: {lhs} vs {rhs}", model.describe());
    // Regularisation.
    let mut dr = vec![0.0; np];
    let r = model.regularisation(&u, &mut dr);
    let v = random(&mut rng, np);
    let eps = 1e-6;
    let shift = |s: f64| -> Vec<f64> { u.iter().zip(&v).map(|(a, b)| a + s * b).collect() };
    let mut scratch = vec![0.0; np];
    let fd = (model.regularisation(&shift(eps), &mut scratch)
        - model.regularisation(&shift(-eps), &mut scratch))
        / (2.0 * eps);
    let an = dot(&v, &dr);
    assert!((fd - an).abs() <= 1e-6 * (an.abs() + 1e-8), "{}: R = {r}, dR {an} vs FD {fd}", model.describe());
    // Time nodes: the slots' parameters are the nodes' blocks interpolated,
    // and the blocks' vjp is their map's transpose (dot-product test).
    if let Some(time) = model.time_interpolation() {
        let nn = time.n_nodes();
        let per = nt / time.n_slots();
        let mut nodes = vec![0.0; nn * per];
        model.node_theta(&u, &mut nodes).unwrap();
        for (s, w) in time.weights().iter().enumerate() {
            for p in 0..per {
                let blended: f64 = w.iter().map(|&(k, wk)| wk * nodes[k * per + p]).sum();
                assert!(
                    (blended - theta[s * per + p]).abs() <= 1e-12 * (blended.abs() + 1.0),
                    "{}: slot {s} parameter {p}: nodes blend to {blended}, theta {}",
                    model.describe(),
                    theta[s * per + p]
                );
            }
        }
        let wn = random(&mut rng, nn * per);
        let mut gn = vec![0.5; np];
        model.node_theta_vjp(&wn, &mut gn).unwrap();
        let (lhs, rhs) = (dot(&nodes, &wn), dot(&u, &gn) - 0.5 * u.iter().sum::<f64>());
        assert!((lhs - rhs).abs() <= 1e-12 * (lhs.abs() + 1.0), "{}: nodes {lhs} vs {rhs}", model.describe());
        assert!(model.node_theta(&u, &mut nodes[1..]).is_err(), "a node vector of the wrong length");
    }
}

fn grid() -> VelocityGrid {
    VelocityGrid::square(9, 3.0).unwrap()
}

#[test]
fn all_linear_models_conform() {
    let scheme = Scheme::Reference(Edges::Guard);
    let kinds = [
        LinearKind::FpTensor(Symmetry::None),
        LinearKind::FpTensor(Symmetry::Transpose),
        LinearKind::FpTensor(Symmetry::Axis),
        LinearKind::ParPerp(7),
        LinearKind::Kernel { k: 2, difference: Difference::Forward, transpose: false },
        LinearKind::Kernel { k: 3, difference: Difference::Centred, transpose: true },
    ];
    for (s, kind) in kinds.into_iter().enumerate() {
        for g in [grid(), VelocityGrid::square(8, 3.0).unwrap()] {
            let m = linear_model(g, kind, scheme, false, TimeNodes::constant()).unwrap();
            conformance(&m, s as u64);
            let td = linear_model(g, kind, scheme, false, TimeNodes::uniform(4, 9, 12).unwrap())
                .unwrap()
                .with_time_regularisation(0.3, 0.7);
            conformance(&td, 100 + s as u64);
            let smooth = linear_model(g, kind, scheme, false, TimeNodes::uniform(3, 9, 12).unwrap())
                .unwrap()
                .with_time_regularisation(0.3, 0.7)
                .with_smoothness(0.9, 2 + s % 2)
                .unwrap();
            conformance(&smooth, 200 + s as u64);
        }
    }
}

/// The velocity-space smoothness prior on a grid with `nx != ny` (which
/// catches a swapped stride): zero on its null space (fields linear in `v_x`
/// and `v_y` for the second order, quadratic for the third), and the exact
/// value on a checkerboard, whose `order`-th differences are all
/// `+-2^order`.
#[test]
fn smoothness_prior_null_space_and_checkerboard() {
    let g = VelocityGrid::new(7, 5, [-3.0, 3.0], [-2.0, 2.0]).unwrap();
    let (nx, ny) = g.shape();
    let n = g.len();
    let lambda = 0.5;
    for order in [2, 3] {
        let m = linear_model(
            g,
            LinearKind::FpTensor(Symmetry::None),
            Scheme::Reference(Edges::Guard),
            false,
            TimeNodes::constant(),
        )
        .unwrap()
        .with_smoothness(lambda, order)
        .unwrap();
        let mut phi = vec![0.0; m.nparams()];
        for f in 0..5 {
            for i in 0..nx {
                for j in 0..ny {
                    let (x, y) = (i as f64, j as f64);
                    let quadratic = if order == 3 { 0.2 * x * x - 0.7 * y * y + 0.1 * x * y } else { 0.0 };
                    phi[f * n + i * ny + j] = 0.3 * f as f64 + 1.7 * x - 0.6 * y + quadratic;
                }
            }
        }
        let mut grad = vec![0.0; m.nparams()];
        let r = m.regularisation(&phi, &mut grad);
        assert!(
            r.abs() < 1e-20 && grad.iter().all(|g| g.abs() < 1e-10),
            "order {order}: R = {r} on its null space"
        );
        // A checkerboard in the third field only.
        let mut phi = vec![0.0; m.nparams()];
        for i in 0..nx {
            for j in 0..ny {
                phi[2 * n + i * ny + j] = if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
            }
        }
        let per_field = (nx - order) * ny + nx * (ny - order);
        let r = m.regularisation(&phi, &mut vec![0.0; m.nparams()]);
        let expected = lambda * (per_field as f64 * 4f64.powi(order as i32)) / (5 * per_field) as f64;
        assert!(
            (r - expected).abs() <= 1e-12 * expected,
            "order {order}: R = {r} on a checkerboard, not {expected}"
        );
    }
    // Bad weights and orders are refused.
    let m = || {
        linear_model(g, LinearKind::ParPerp(4), Scheme::Reference(Edges::Guard), false, TimeNodes::constant())
            .unwrap()
    };
    assert!(m().with_smoothness(-1.0, 2).is_err());
    assert!(m().with_smoothness(f64::NAN, 2).is_err());
    assert!(m().with_smoothness(1.0, 4).is_err());
}

fn fields_of(model: &dyn Model, phi: &[f64]) -> FpFields {
    let g = *model.operator().grid();
    let mut theta = vec![0.0; model.operator().nparams()];
    model.theta(phi, &mut theta).unwrap();
    FpFields::from_grid_units(g, &theta[..5 * g.len()]).unwrap()
}

#[test]
fn symmetries_hold() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for g in [grid(), VelocityGrid::square(8, 3.0).unwrap()] {
        let n = g.nx;
        let t = linear_model(
            g,
            LinearKind::FpTensor(Symmetry::Transpose),
            Scheme::Conservative,
            false,
            TimeNodes::constant(),
        )
        .unwrap();
        let f = fields_of(&t, &random(&mut rng, t.nparams()));
        for i in 0..n {
            for j in 0..n {
                assert_eq!(f.a_y[[i, j]], f.a_x[[j, i]]);
                assert_eq!(f.d_yy[[i, j]], f.d_xx[[j, i]]);
            }
        }
        let a = linear_model(
            g,
            LinearKind::FpTensor(Symmetry::Axis),
            Scheme::Conservative,
            false,
            TimeNodes::constant(),
        )
        .unwrap();
        assert_eq!(a.nparams(), 3 * (n - n / 2) * n, "half the grid is free");
        let f = fields_of(&a, &random(&mut rng, a.nparams()));
        for i in 0..n {
            for j in 0..n {
                let m = n - 1 - i;
                assert_eq!(f.a_x[[m, j]], -f.a_x[[i, j]], "A_x odd in v_x");
                assert_eq!(f.d_xx[[m, j]], f.d_xx[[i, j]], "D_xx even in v_x");
                assert_eq!(f.d_xy[[m, j]], -f.d_xy[[i, j]], "D_xy odd in v_x");
                assert_eq!(f.a_y[[i, j]], f.a_x[[j, i]]);
            }
        }
    }
}

/// Profiles linear in |v| are represented exactly by linear interpolation,
/// so the par/perp model reproduces the theory crate's rotation to round-off.
#[test]
fn par_perp_matches_theory_rotation() {
    let g = VelocityGrid::square(11, 4.0).unwrap();
    let nr = 9;
    let m =
        linear_model(g, LinearKind::ParPerp(nr), Scheme::Conservative, false, TimeNodes::constant()).unwrap();
    let nodes = collop_learn::radial_nodes(&g, nr);
    let profile =
        |v: f64| RadialCoefficients { a_par: -0.1 * v, d_par: 0.2 + 0.01 * v, d_perp: 0.3 - 0.02 * v };
    let (h, h2) = (g.dvx(), g.dvx() * g.dvx());
    let mut phi = vec![0.0; 3 * nr];
    for (k, &v) in nodes.iter().enumerate() {
        let p = profile(v);
        phi[k] = p.a_par / h;
        phi[nr + k] = p.d_par / h2;
        phi[2 * nr + k] = p.d_perp / h2;
    }
    let ours = fields_of(&m, &phi);
    let theory = fields_from_radial_fn(&g, profile);
    for (a, b) in ours.as_array().iter().zip(theory.as_array()) {
        for (x, y) in a.iter().zip(b.iter()) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
    }
}

/// Time nodes interpolate linearly and extrapolate beyond the last node.
#[test]
fn time_interpolation_is_linear_and_extrapolates() {
    let g = VelocityGrid::square(4, 2.0).unwrap();
    let nodes = 3;
    let m = linear_model(
        g,
        LinearKind::FpTensor(Symmetry::None),
        Scheme::Conservative,
        false,
        TimeNodes::uniform(nodes, 8, 12).unwrap(),
    )
    .unwrap();
    let per = 5 * g.len();
    // phi_node = (1 + node) everywhere: linear in time, 1 at step 0, 3 at step 8.
    let phi: Vec<f64> = (0..nodes * per).map(|p| 1.0 + (p / per) as f64).collect();
    let mut theta = vec![0.0; m.operator().nparams()];
    m.theta(&phi, &mut theta).unwrap();
    for s in 0..12 {
        let expected = 1.0 + s as f64 / 4.0;
        assert!(
            (theta[s * per + 7] - expected).abs() < 1e-12,
            "slot {s}: {} vs {expected}",
            theta[s * per + 7]
        );
    }
}

/// The MLP field model's vector-Jacobian product against central finite
/// differences (the map is nonlinear: piecewise smooth with LeakyReLU kinks
/// that a 1e-6 step crosses with negligible probability; central
/// differences are then accurate to ~1e-9 relative, we require 1e-6).
#[test]
fn mlp_field_model_vjp_matches_finite_differences() {
    let g = VelocityGrid::new(7, 6, [-3.0, 3.0], [-2.0, 2.0]).unwrap();
    let m = collop_learn::MlpFieldModel::new(g, Scheme::Reference(Edges::Guard), false, &[9, 7], 4).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let phi = m.init();
    assert_eq!(phi, m.init(), "seeded initialisation is reproducible");
    let nt = m.operator().nparams();
    let w = random(&mut rng, nt);
    let mut g_an = vec![0.0; m.nparams()];
    m.theta_vjp(&phi, &w, &mut g_an).unwrap();
    for _ in 0..3 {
        let u = random(&mut rng, m.nparams());
        let eps = 1e-6;
        let eval = |s: f64| {
            let p: Vec<f64> = phi.iter().zip(&u).map(|(a, b)| a + s * b).collect();
            let mut theta = vec![0.0; nt];
            m.theta(&p, &mut theta).unwrap();
            dot(&theta, &w)
        };
        let fd = (eval(eps) - eval(-eps)) / (2.0 * eps);
        let an = dot(&u, &g_an);
        assert!((fd - an).abs() <= 1e-6 * an.abs().max(1.0), "MLP vjp {an} vs FD {fd}");
    }
}
