"""Types of the collop package (units: velocities in v_th, times in
1/omega_p, A in v_th omega_p, D in v_th^2 omega_p)."""

import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

PathLike = Union[str, os.PathLike[str]]
Array = npt.NDArray[np.float64]

__version__: str

class Grid:
    """A cell-centred 2V velocity grid, axis 0 = v_x; v_range in v_th."""

    def __init__(self, nx: int, ny: int, v_range: Tuple[float, float, float, float]) -> None: ...
    @property
    def nx(self) -> int: ...
    @property
    def ny(self) -> int: ...
    @property
    def shape(self) -> Tuple[int, int]: ...
    @property
    def v_range(self) -> Tuple[float, float, float, float]: ...
    @property
    def vx(self) -> Array:
        """Cell centres along v_x, v_th."""
    @property
    def vy(self) -> Array:
        """Cell centres along v_y, v_th."""

class Dataset:
    """Frames of one sub-population at successive dumps, with grid, times
    and PIC parameters."""

    @staticmethod
    def from_arrays(
        frames: Array,
        grid: Grid,
        dt: float,
        i_start: int = 0,
        t_start: Optional[float] = None,
        pic_parameters: Optional[Dict[str, Any]] = None,
        name: Optional[str] = None,
    ) -> Dataset: ...
    def save(self, path: PathLike) -> None:
        """Write as a dataset folder (args.yaml + NNNNNN.npy); refused when one is there."""
    @property
    def name(self) -> str: ...
    @property
    def folder(self) -> Optional[Path]: ...
    @property
    def frames(self) -> Array:
        """(n_dumps, nx, ny), a read-only view of the dataset's memory."""
    @property
    def grid(self) -> Grid: ...
    @property
    def dt(self) -> float:
        """Time between dumps, 1/omega_p."""
    @property
    def times(self) -> Array:
        """Times of the frames, 1/omega_p."""
    @property
    def first_dump(self) -> int: ...
    @property
    def steps(self) -> int:
        """Dump steps after the first frame."""
    @property
    def pic_parameters(self) -> Dict[str, Any]: ...
    @property
    def meta(self) -> Dict[str, Any]: ...
    def __len__(self) -> int: ...

class Model:
    """A trained run, a fields model (theory, tracks, given) or the frozen baseline."""

    @property
    def kind(self) -> str:
        """"trained", "fields" or "frozen"."""
    @property
    def source(self) -> str: ...
    @property
    def path(self) -> Optional[Path]: ...
    @property
    def report(self) -> Optional[str]: ...
    @property
    def evaluation_numerics(self) -> Dict[str, Any]: ...
    @property
    def theta(self) -> Optional[Array]:
        """Operator parameters (grid units)."""
    @property
    def parameters(self) -> Optional[Array]:
        """Best model parameters of a trained run."""
    @property
    def config(self) -> Optional[str]:
        """Resolved training config (TOML) of a trained run."""
    @property
    def grid(self) -> Optional[Grid]: ...
    @property
    def track_estimates(self) -> List[Dict[str, Any]]: ...
    def describe(self) -> str: ...
    def fields(
        self,
        dataset: Optional[Dataset] = None,
        pic_parameters: Optional[Dict[str, Any]] = None,
        steps: Optional[int] = None,
        extrapolate: bool = False,
    ) -> Dict[str, Array]:
        """{"A_x", "A_y", "D_xx", "D_yy", "D_xy"}: (n_slots, nx, ny), A in v_th omega_p, D in v_th^2 omega_p."""
    def radial_profiles(
        self,
        n_bins: int = 25,
        dataset: Optional[Dataset] = None,
        pic_parameters: Optional[Dict[str, Any]] = None,
        steps: Optional[int] = None,
        extrapolate: bool = False,
    ) -> Dict[str, Array]:
        """speed (n_shells,), A_par, D_par, D_perp and their *_spread (n_slots, n_shells)."""
    def save(self, path: PathLike, overwrite: bool = False) -> None: ...

class Rollout:
    """A rollout on a dataset: frames (steps + 1, nx, ny) and metrics."""

    @property
    def frames(self) -> Optional[Array]: ...
    @property
    def metrics(self) -> Dict[str, Any]:
        """mae, mse, l1, l2, l1_norm, l2_norm (means), per_step arrays, window, steps."""
    @property
    def warnings(self) -> List[str]: ...
    @property
    def operator(self) -> str: ...
    @property
    def substeps(self) -> List[int]: ...

class Run:
    """A trained run."""

    model: Model
    outcome: Optional[Dict[str, Any]]
    def __init__(self, model: Model, outcome: Optional[Dict[str, Any]] = None) -> None: ...
    @property
    def path(self) -> Path: ...
    @property
    def history(self) -> Dict[str, npt.NDArray[Any]]: ...
    @property
    def parameters(self) -> Optional[Array]: ...
    @property
    def theta(self) -> Array: ...
    @property
    def config(self) -> str: ...
    def fields(self, **kwargs: Any) -> Dict[str, Array]: ...
    def radial_profiles(self, **kwargs: Any) -> Dict[str, Array]: ...

class PicRun:
    path: Path
    summary: Dict[str, Any]
    datasets: Dict[str, Dataset]

class Comparison:
    data: Dict[str, Any]
    def __init__(self, data: Dict[str, Any]) -> None: ...
    def records(self) -> List[Dict[str, Any]]: ...

def load_dataset(path: PathLike) -> Dataset: ...
def write_dataset(
    path: PathLike,
    frames: npt.ArrayLike,
    grid: Grid,
    dt: float,
    *,
    i_start: int = 0,
    t_start: Optional[float] = None,
    pic_parameters: Optional[Mapping[str, Any]] = None,
) -> Dataset: ...
def load_model(path: PathLike) -> Model: ...
def frozen() -> Model: ...
def static_theory(grid: Grid, amplitude: float) -> Model:
    """Static shielding with amplitude C (v_th^3 omega_p)."""
def theory(
    source: Union[PathLike, Dataset],
    kind: str = "dynamic",
    *,
    grid_from: Union[PathLike, Dataset, None] = None,
    ppc: Optional[float] = None,
    particles_per_debye_area: Optional[float] = None,
    dx_over_debye: Optional[float] = None,
    dy_over_debye: Optional[float] = None,
    shape_order: Optional[int] = None,
    vth_c: Optional[float] = None,
) -> Model: ...
def tracks(
    paths: Sequence[PathLike],
    grid_from: PathLike,
    lag: int = 1,
    overlapping: bool = False,
    covariance: bool = False,
    min_count: int = 10,
    window: Optional[int] = None,
) -> Model: ...
def tracks_from_arrays(
    t: Array,
    vx: Array,
    vy: Array,
    grid: Grid,
    lag: int = 1,
    overlapping: bool = False,
    covariance: bool = False,
    min_count: int = 10,
) -> Model:
    """vx, vy: (n_dumps, n_particles) in v_th at times t (1/omega_p)."""
@overload
def rollout(
    model: Model,
    data: Dataset,
    *,
    numerics: Optional[Mapping[str, Any]] = None,
    steps: Optional[int] = None,
    extrapolate: bool = False,
    keep_frames: bool = True,
) -> Rollout: ...
@overload
def rollout(
    model: Model,
    data: npt.ArrayLike,
    *,
    numerics: Optional[Mapping[str, Any]] = None,
    steps: Optional[int] = None,
    grid: Optional[Grid] = None,
    dt: Optional[float] = None,
    first_step: int = 0,
    dataset: Optional[Dataset] = None,
    extrapolate: bool = False,
) -> Array: ...
def train(
    config: Union[PathLike, Mapping[str, Any]],
    out: PathLike,
    *,
    resume: bool = False,
    callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
    progress: bool = False,
    plots: bool = False,
) -> Run: ...
def load_run(path: PathLike) -> Run: ...
def run_pic(
    deck: Union[PathLike, Mapping[str, Any]],
    out: PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
    threads: int = 0,
    callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
    progress: bool = False,
) -> PicRun: ...
def compare(
    run: PathLike,
    out: PathLike,
    *,
    train: Sequence[str] = (),
    test: Sequence[str] = (),
    models: Optional[Sequence[str]] = None,
    lags: Optional[Sequence[int]] = None,
    epochs_scale: float = 1.0,
    substeps: int = 1,
    min_count: int = 10,
    resume: bool = False,
) -> Comparison: ...
def load_comparison(path: PathLike) -> Comparison: ...
def operator_moments(
    model: PathLike,
    data: Sequence[PathLike],
    out: PathLike,
    *,
    scale: float = 1.0,
    cells: Sequence[Tuple[float, float]] = (),
    overwrite: bool = False,
) -> Dict[str, Any]: ...
def synthesise(model: PathLike, like: PathLike, out: PathLike, particles: int, *, seed: int = 0) -> int: ...
