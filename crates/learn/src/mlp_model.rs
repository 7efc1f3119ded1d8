//! Neural-network parametrisation: one multi-layer perceptron per
//! Fokker-Planck field, evaluated at every cell centre (inputs: the cell's
//! velocity normalised to [-1, 1] per axis), as in Carvalho et al. (arXiv
//! 2601.10885). Outputs are the fields in grid units.

use std::sync::Mutex;

use collop_core::VelocityGrid;
use collop_fp::{FokkerPlanck, Operator, Scheme};
use ndarray::{Array2, ArrayView2};

use crate::nn::{Activation, Mlp, MlpWorkspace, grid_inputs};
use crate::{LearnError, Model};

/// Parameters of the last forward pass and the activations per field.
type ForwardCache = (Vec<f64>, Vec<MlpWorkspace>);

/// Five MLPs (`A_x, A_y, D_xx, D_yy, D_xy`) over the grid.
pub struct MlpFieldModel {
    op: FokkerPlanck,
    net: Mlp,
    inputs: Array2<f64>,
    seed: u64,
    /// The parameters of the last forward pass and its activations per field,
    /// reused by the vector-Jacobian product at the same parameters.
    cache: Mutex<ForwardCache>,
}

impl MlpFieldModel {
    /// Networks with `hidden` layer widths and LeakyReLU(0.01), seeded.
    pub fn new(
        grid: VelocityGrid,
        scheme: Scheme,
        clamp_d: bool,
        hidden: &[usize],
        seed: u64,
    ) -> Result<Self, LearnError> {
        let net = Mlp::new(2, hidden, 1, Activation::leaky_relu())
            .map_err(|e| LearnError::Config(e.to_string()))?;
        let op = FokkerPlanck::new(grid, scheme)?.with_diffusion_clamp(clamp_d);
        let inputs = grid_inputs(&grid, &[]);
        Ok(Self { op, net, inputs, seed, cache: Mutex::new((Vec::new(), Vec::new())) })
    }

    fn per_net(&self) -> usize {
        self.net.nparams()
    }

    /// Run the five forward passes at `phi` into the cache (if not there yet).
    fn forward_cached(&self, phi: &[f64]) -> Result<std::sync::MutexGuard<'_, ForwardCache>, LearnError> {
        let mut guard = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if guard.0 != phi || guard.1.len() != 5 {
            let n = self.inputs.nrows();
            let (cached, wss) = &mut *guard;
            wss.resize_with(5, || self.net.workspace(n));
            let p = self.per_net();
            for (f, ws) in wss.iter_mut().enumerate() {
                self.net
                    .forward(&phi[f * p..(f + 1) * p], self.inputs.view(), ws)
                    .map_err(|e| LearnError::Diverged(e.to_string()))?;
            }
            cached.clear();
            cached.extend_from_slice(phi);
        }
        Ok(guard)
    }
}

impl Model for MlpFieldModel {
    fn operator(&self) -> &dyn Operator {
        &self.op
    }

    fn nparams(&self) -> usize {
        5 * self.per_net()
    }

    fn init(&self) -> Vec<f64> {
        (0..5u64).flat_map(|f| self.net.init(self.seed.wrapping_mul(31).wrapping_add(f))).collect()
    }

    fn theta(&self, phi: &[f64], theta: &mut [f64]) {
        let n = self.inputs.nrows();
        match self.forward_cached(phi) {
            Ok(guard) => {
                for (f, ws) in guard.1.iter().enumerate() {
                    let out: ArrayView2<'_, f64> = ws.outputs().expect("forward pass done");
                    for c in 0..n {
                        theta[f * n + c] = out[[c, 0]];
                    }
                }
            }
            // A failed forward pass shows up as a non-finite loss downstream.
            Err(_) => theta.fill(f64::NAN),
        }
    }

    fn theta_vjp(&self, phi: &[f64], dtheta: &[f64], dphi: &mut [f64]) {
        let n = self.inputs.nrows();
        let p = self.per_net();
        let Ok(mut guard) = self.forward_cached(phi) else {
            dphi.fill(f64::NAN);
            return;
        };
        for (f, ws) in guard.1.iter_mut().enumerate() {
            let d_out = ArrayView2::from_shape((n, 1), &dtheta[f * n..(f + 1) * n]).expect("n x 1");
            if self
                .net
                .backward(&phi[f * p..(f + 1) * p], ws, d_out, &mut dphi[f * p..(f + 1) * p], None)
                .is_err()
            {
                dphi.fill(f64::NAN);
                return;
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "FP MLP fields, 5 x MLP {:?} ({} parameters) -> {}",
            self.net.sizes(),
            self.nparams(),
            self.op.describe()
        )
    }
}
