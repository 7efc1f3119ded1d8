//! ONE conformance suite run against every operator of the crate:
//!
//! 1. the parameter vector-Jacobian product against central finite
//!    differences in random directions;
//! 2. the dot-product test `<C v, w> = <v, C^T w>` for the state adjoint;
//! 3. density conservation to round-off where the operator claims it;
//! 4. time slots: a step's gradient lands only in its own slot.
//!
//! Every operator is linear in `f` and (apart from the optional diffusion
//! clamp) in `theta`, so central differences are exact up to round-off: the
//! tolerances below (1e-9 relative) only absorb cancellation in the
//! difference quotient, with steps of 1e-3 on O(1) data.

use collop_core::VelocityGrid;
use collop_fp::{Difference, Edges, FokkerPlanck, KernelOperator, Operator, Scheme};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: &[f64], s: f64, b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + s * y).collect()
}

fn close(a: f64, b: f64, scale: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * scale.max(1e-300)
}

/// The conformance suite for one operator.
fn conformance(op: &dyn Operator, seed: u64) {
    let name = op.describe();
    let n = op.grid().len();
    let np = op.nparams();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Parameters away from zero, so the diffusion clamp's kink is not crossed by the FD step.
    let theta: Vec<f64> = random_vec(&mut rng, np).iter().map(|v| v + 0.1 * v.signum()).collect();
    let f = random_vec(&mut rng, n);
    let w = random_vec(&mut rng, n);
    for step in [0, op.n_slots().saturating_sub(1), op.n_slots() + 3] {
        // Base product, its adjoints.
        let mut y = vec![0.0; n];
        op.apply(&theta, step, &f, &mut y);
        let mut dtheta = vec![0.0; np];
        let mut df = vec![0.0; n];
        op.vjp(&theta, step, &f, &w, &mut dtheta, &mut df);

        // 1. Parameter vjp against central differences, three random directions.
        for _ in 0..3 {
            let u = random_vec(&mut rng, np);
            let eps = 1e-3 * 0.05; // below the 0.1 margin around zero
            let (mut yp, mut ym) = (vec![0.0; n], vec![0.0; n]);
            op.apply(&axpy(&theta, eps, &u), step, &f, &mut yp);
            op.apply(&axpy(&theta, -eps, &u), step, &f, &mut ym);
            let fd = (dot(&yp, &w) - dot(&ym, &w)) / (2.0 * eps);
            let an = dot(&u, &dtheta);
            let scale = dot(
                &y.iter().map(|v| v.abs()).collect::<Vec<_>>(),
                &w.iter().map(|v| v.abs()).collect::<Vec<_>>(),
            ) / 0.1
                + fd.abs();
            assert!(
                close(fd, an, scale, 1e-9),
                "{name}, step {step}: theta-vjp {an} vs finite differences {fd}"
            );
        }

        // 1b. State derivative by finite differences (linear in f).
        let v = random_vec(&mut rng, n);
        let (mut yp, mut ym) = (vec![0.0; n], vec![0.0; n]);
        op.apply(&theta, step, &axpy(&f, 1e-3, &v), &mut yp);
        op.apply(&theta, step, &axpy(&f, -1e-3, &v), &mut ym);
        let fd = (dot(&yp, &w) - dot(&ym, &w)) / 2e-3;
        let an = dot(&v, &df);
        assert!(
            close(fd, an, fd.abs() + an.abs() + 1.0, 1e-9),
            "{name}: f-vjp {an} vs finite differences {fd}"
        );

        // 2. Dot-product test <C v, w> = <v, C^T w>.
        let mut cv = vec![0.0; n];
        op.apply(&theta, step, &v, &mut cv);
        let lhs = dot(&cv, &w);
        let scale: f64 = cv.iter().zip(&w).map(|(a, b)| (a * b).abs()).sum::<f64>() + 1e-300;
        assert!(close(lhs, an, scale, 1e-12), "{name}: dot-product test {lhs} vs {an}");

        // 3. Conservation.
        if op.conserves_density() {
            let total: f64 = y.iter().sum();
            let size: f64 = y.iter().map(|v| v.abs()).sum::<f64>() + 1e-300;
            assert!(total.abs() <= 1e-13 * size, "{name}: sum C f = {total} (|C f| = {size})");
        }

        // 4. Slots: the gradient of this step is zero outside its slot.
        let per = np / op.n_slots();
        let slot = op.slot(step);
        let outside: f64 =
            dtheta.iter().enumerate().filter(|(p, _)| p / per != slot).map(|(_, v)| v.abs()).sum();
        assert_eq!(outside, 0.0, "{name}: step {step} leaked gradient outside slot {slot}");
    }
}

fn grids() -> Vec<VelocityGrid> {
    [(1, 1), (2, 2), (5, 5), (5, 3), (51, 51), (64, 64)]
        .into_iter()
        .map(|(nx, ny)| VelocityGrid::new(nx, ny, [-5.0, 5.0], [-4.0, 6.0]).unwrap())
        .collect()
}

#[test]
fn fokker_planck_reference_guard_cells() {
    for (k, g) in grids().into_iter().enumerate() {
        conformance(&FokkerPlanck::new(g, Scheme::Reference(Edges::Guard)).unwrap(), k as u64);
        conformance(
            &FokkerPlanck::with_slots(g, Scheme::Reference(Edges::Guard), 3).unwrap(),
            100 + k as u64,
        );
    }
}

#[test]
fn fokker_planck_reference_one_sided_edges() {
    for (k, g) in grids().into_iter().enumerate() {
        let op = FokkerPlanck::new(g, Scheme::Reference(Edges::OneSided));
        if g.nx < 4 || g.ny < 4 {
            let e = op.unwrap_err().to_string();
            assert!(e.contains("at least 4 cells"), "{e}");
            continue;
        }
        conformance(&op.unwrap(), 200 + k as u64);
    }
}

#[test]
fn fokker_planck_conservative() {
    for (k, g) in grids().into_iter().enumerate() {
        conformance(&FokkerPlanck::new(g, Scheme::Conservative).unwrap(), 300 + k as u64);
        conformance(&FokkerPlanck::with_slots(g, Scheme::Conservative, 2).unwrap(), 400 + k as u64);
    }
}

#[test]
fn fokker_planck_with_diffusion_clamp() {
    for (k, g) in grids().into_iter().enumerate() {
        let op = FokkerPlanck::new(g, Scheme::Reference(Edges::Guard)).unwrap().with_diffusion_clamp(true);
        conformance(&op, 500 + k as u64);
    }
}

#[test]
fn kernel_operators() {
    for (gk, g) in grids().into_iter().enumerate() {
        for k in [1, 2, 3, 4, 5] {
            for d in [Difference::Forward, Difference::Backward, Difference::Centred] {
                if g.len() > 64 * 64 - 1 && k > 3 {
                    continue; // the largest grid with the largest kernels adds time, not coverage
                }
                let op = KernelOperator::new(g, k, d).unwrap();
                conformance(&op, 600 + (gk * 100 + k * 10) as u64);
            }
        }
        conformance(&KernelOperator::with_slots(g, 3, Difference::Forward, 4).unwrap(), 900 + gk as u64);
    }
}

/// The diffusion clamp really clamps: negative D_xx contributes nothing and
/// receives no gradient.
#[test]
fn diffusion_clamp_masks_negative_diffusion() {
    let g = VelocityGrid::square(6, 3.0).unwrap();
    let n = g.len();
    let op = FokkerPlanck::new(g, Scheme::Reference(Edges::Guard)).unwrap().with_diffusion_clamp(true);
    let mut theta = vec![0.0; 5 * n];
    theta[2 * n..3 * n].fill(-1.0); // D_xx < 0 everywhere
    let f: Vec<f64> = (0..n).map(|k| 1.0 + k as f64).collect();
    let mut y = vec![1.0; n];
    op.apply(&theta, 0, &f, &mut y);
    assert!(y.iter().all(|&v| v == 0.0), "clamped D_xx must give C = 0");
    let mut dtheta = vec![0.0; 5 * n];
    let mut df = vec![0.0; n];
    op.vjp(&theta, 0, &f, &vec![1.0; n], &mut dtheta, &mut df);
    assert!(dtheta[2 * n..3 * n].iter().all(|&v| v == 0.0));
    assert!(dtheta[..n].iter().any(|&v| v != 0.0), "other fields keep their gradient");
}
