//! What every particle reader hands the import: dumps in time order, each
//! read chunk by chunk.

use std::path::Path;

use crate::ImportError;

/// Particles of one chunk of one dump. Momenta are `u / c = gamma v / c`
/// of one real particle (collop pic's convention, OSIRIS' `p1, p2, p3`);
/// `w` the macro-particle weights (any common unit: only ratios matter).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// `u_x / c`.
    pub ux: Vec<f64>,
    /// `u_y / c`.
    pub uy: Vec<f64>,
    /// `u_z / c` (zeros when the file has no third component).
    pub uz: Vec<f64>,
    /// Macro-particle weights (> 0).
    pub w: Vec<f64>,
    /// Particle ids, when the file has them.
    pub id: Option<Vec<u64>>,
}

impl Chunk {
    /// Particles in the chunk.
    pub fn len(&self) -> usize {
        self.ux.len()
    }

    /// Whether the chunk holds no particle.
    pub fn is_empty(&self) -> bool {
        self.ux.is_empty()
    }
}

/// Which momentum components are the histograms' `v_x` and `v_y` (the
/// third is `v_z` of the tracks): `xy` for most runs, `xz` for a 2D
/// simulation in the (x, z) plane such as WarpX's and FBPIC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Plane {
    /// `(u_x, u_y)`, `u_z` out of the plane.
    #[default]
    Xy,
    /// `(u_x, u_z)`, `u_y` out of the plane.
    Xz,
    /// `(u_y, u_z)`, `u_x` out of the plane.
    Yz,
}

impl Plane {
    /// The components in histogram order, the out-of-plane one last, as
    /// indices `0, 1, 2` = `x, y, z`.
    pub fn axes(self) -> [usize; 3] {
        match self {
            Self::Xy => [0, 1, 2],
            Self::Xz => [0, 2, 1],
            Self::Yz => [1, 2, 0],
        }
    }

    /// Parses `xy`, `xz` or `yz`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "xy" => Some(Self::Xy),
            "xz" => Some(Self::Xz),
            "yz" => Some(Self::Yz),
            _ => None,
        }
    }
}

/// One diagnostic dump of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct DumpInfo {
    /// The code's iteration (time step) number.
    pub iteration: u64,
    /// Time, `1/omega_p`.
    pub time: f64,
}

/// A PIC code's particle output for one species, dump by dump.
pub trait ParticleSource {
    /// The file or directory read (for messages).
    fn path(&self) -> &Path;

    /// The dumps, in increasing iteration.
    fn dumps(&self) -> &[DumpInfo];

    /// Whether the particles carry ids (needed to follow them).
    fn has_ids(&self) -> bool;

    /// The cell size `[dx, dy]` in `c/omega_p`, when the files say it
    /// (with `v_th / c` it gives `dx_over_debye`: `lambda_D = v_th / omega_p`).
    fn cell_size(&self) -> Option<[f64; 2]> {
        None
    }

    /// The B-spline order of the particle shape, when the files say it.
    fn shape_order(&self) -> Option<usize> {
        None
    }

    /// Particles of dump `k` (an index into [`dumps`](Self::dumps)) handed to
    /// `f` in chunks of at most `chunk_len`; ids are read only `with_ids`.
    fn read_dump(
        &self,
        k: usize,
        chunk_len: usize,
        with_ids: bool,
        f: &mut dyn FnMut(&Chunk) -> Result<(), ImportError>,
    ) -> Result<(), ImportError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_name_their_components() {
        assert_eq!(Plane::parse("xz").map(Plane::axes), Some([0, 2, 1]));
        assert_eq!(Plane::default().axes(), [0, 1, 2]);
        assert_eq!(Plane::parse("yz").map(Plane::axes), Some([1, 2, 0]));
        assert_eq!(Plane::parse("zx"), None);
    }
}
