//! Datasets as the experiment layer uses them: the frames of one folder
//! with its metadata and the name it is shown under.

use std::path::{Path, PathBuf};

use collop_core::PhaseSpaceSeries;
use collop_io::DatasetMeta;

use crate::error::{ExperimentError, Result};

/// A dataset read from a folder.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Display name (the resolved dataset path).
    pub name: String,
    /// The folder as given (config or command line).
    pub folder: PathBuf,
    /// Frames.
    pub series: PhaseSpaceSeries,
    /// args.yaml.
    pub meta: DatasetMeta,
}

impl Dataset {
    /// Read one dataset folder (frames `NNNNNN.npy` and `args.yaml`).
    pub fn load(folder: &Path) -> Result<Self> {
        let d = collop_io::read_dataset(folder)?;
        Ok(Self {
            name: d.path.display().to_string(),
            folder: folder.to_path_buf(),
            series: d.series,
            meta: d.meta,
        })
    }

    /// Read several dataset folders, which must share one velocity grid.
    pub fn load_all(folders: &[PathBuf]) -> Result<Vec<Self>> {
        let mut out: Vec<Self> = Vec::with_capacity(folders.len());
        for f in folders {
            let d = Self::load(f)?;
            if let Some(first) = out.first()
                && !first.series.grid.same_as(&d.series.grid)
            {
                return Err(ExperimentError::Data(format!(
                    "{}: grid {} differs from {}'s {}; datasets trained or compared together share one grid",
                    f.display(),
                    d.series.grid,
                    first.name,
                    first.series.grid
                )));
            }
            out.push(d);
        }
        Ok(out)
    }

    /// Dump steps (frames after the first).
    pub fn steps(&self) -> usize {
        self.series.len().saturating_sub(1)
    }
}
