//! Particle storage: structure of arrays, kept sorted by cell.

/// The macro-particles of one species, structure-of-arrays.
///
/// Positions are in cell units (`x / dx`, `y / dy`) in `[0, nx) x [0, ny)`;
/// momenta `u = gamma v` in `c`. `id` is unique within the species and
/// follows the particle through sorting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Particles {
    /// x position in cells.
    pub x: Vec<f64>,
    /// y position in cells.
    pub y: Vec<f64>,
    /// Momentum u_x = gamma v_x, in c.
    pub ux: Vec<f64>,
    /// Momentum u_y.
    pub uy: Vec<f64>,
    /// Momentum u_z.
    pub uz: Vec<f64>,
    /// Identifier, stable for the whole run.
    pub id: Vec<u64>,
    /// Sub-population membership bits (selection); empty when unused.
    pub tag: Vec<u32>,
    /// Initial in-plane momentum (reweighting); empty when unused.
    pub u0: Vec<[f32; 2]>,
}

impl Particles {
    /// Empty storage with room for `n` particles.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            ux: Vec::with_capacity(n),
            uy: Vec::with_capacity(n),
            uz: Vec::with_capacity(n),
            id: Vec::with_capacity(n),
            tag: Vec::new(),
            u0: Vec::new(),
        }
    }

    /// Number of particles.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there are no particles.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Append one particle.
    pub fn push(&mut self, x: f64, y: f64, u: [f64; 3], id: u64) {
        self.x.push(x);
        self.y.push(y);
        self.ux.push(u[0]);
        self.uy.push(u[1]);
        self.uz.push(u[2]);
        self.id.push(id);
    }

    /// Append all particles of `other` (positions, momenta and ids only).
    pub fn append(&mut self, other: &mut Particles) {
        self.x.append(&mut other.x);
        self.y.append(&mut other.y);
        self.ux.append(&mut other.ux);
        self.uy.append(&mut other.uy);
        self.uz.append(&mut other.uz);
        self.id.append(&mut other.id);
    }

    /// Momentum of particle `p`.
    pub fn u(&self, p: usize) -> [f64; 3] {
        [self.ux[p], self.uy[p], self.uz[p]]
    }

    /// Reorder the particles by cell, `x` cell major (the memory order of
    /// the grid arrays), with a stable counting sort. `scratch` is reused
    /// between calls; it allocates only when the particle count grows.
    pub fn sort_by_cell(&mut self, nx: usize, ny: usize, scratch: &mut SortScratch) {
        let n = self.len();
        let cells = nx * ny;
        scratch.count.clear();
        scratch.count.resize(cells + 1, 0);
        scratch.key.clear();
        scratch.key.reserve(n);
        for p in 0..n {
            // Positions are in [0, n); min() guards the cell index anyway.
            let i = (self.x[p] as usize).min(nx - 1);
            let j = (self.y[p] as usize).min(ny - 1);
            let k = i * ny + j;
            scratch.key.push(k as u32);
            scratch.count[k + 1] += 1;
        }
        for k in 0..cells {
            scratch.count[k + 1] += scratch.count[k];
        }
        scratch.perm.clear();
        scratch.perm.resize(n, 0);
        for p in 0..n {
            let k = scratch.key[p] as usize;
            scratch.perm[scratch.count[k]] = p as u32;
            scratch.count[k] += 1;
        }
        let perm = &scratch.perm;
        permute(&mut self.x, perm, &mut scratch.f);
        permute(&mut self.y, perm, &mut scratch.f);
        permute(&mut self.ux, perm, &mut scratch.f);
        permute(&mut self.uy, perm, &mut scratch.f);
        permute(&mut self.uz, perm, &mut scratch.f);
        scratch.ids.clear();
        scratch.ids.extend(perm.iter().map(|&p| self.id[p as usize]));
        std::mem::swap(&mut self.id, &mut scratch.ids);
        if !self.tag.is_empty() {
            self.tag = perm.iter().map(|&p| self.tag[p as usize]).collect();
        }
        if !self.u0.is_empty() {
            self.u0 = perm.iter().map(|&p| self.u0[p as usize]).collect();
        }
    }
}

fn permute(a: &mut Vec<f64>, perm: &[u32], tmp: &mut Vec<f64>) {
    tmp.clear();
    tmp.extend(perm.iter().map(|&p| a[p as usize]));
    std::mem::swap(a, tmp);
}

/// Reusable buffers of [`Particles::sort_by_cell`].
#[derive(Debug, Default)]
pub struct SortScratch {
    count: Vec<usize>,
    key: Vec<u32>,
    perm: Vec<u32>,
    f: Vec<f64>,
    ids: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_orders_by_cell_and_keeps_particles_whole() {
        let mut p = Particles::default();
        let pos = [(3.5, 0.2), (0.1, 2.9), (3.2, 0.7), (1.0, 1.0), (0.9, 0.1)];
        for (k, &(x, y)) in pos.iter().enumerate() {
            p.push(x, y, [k as f64, 2.0 * k as f64, -(k as f64)], k as u64);
        }
        let mut s = SortScratch::default();
        p.sort_by_cell(4, 3, &mut s);
        assert_eq!(p.id, vec![4, 1, 3, 0, 2]);
        for q in 0..p.len() {
            let k = p.id[q] as usize;
            assert_eq!((p.x[q], p.y[q]), pos[k]);
            assert_eq!(p.u(q), [k as f64, 2.0 * k as f64, -(k as f64)]);
        }
    }
}
