"""collop: learn plasma collision operators from phase-space data.

The Python face of the collop library: datasets, models (trained runs,
collision theory, particle-track estimates), rollouts with their error
metrics, training, PIC runs and the comparison of a run's models, with
numpy arrays in and out.

Units: velocities in the background thermal velocity ``v_th``, times in
``1/omega_p``, drift ``A`` in ``v_th omega_p`` and diffusion ``D`` in
``v_th^2 omega_p``. Frames are ``(n_dumps, nx, ny)`` arrays, axis 1 is
``v_x``.

Long calls release the GIL and stop on Ctrl-C (``KeyboardInterrupt``)
within a fraction of a second, at a safe point of the library (files are
written atomically, so nothing is left half-written). collop's errors
arrive as ``FileNotFoundError`` (a missing file or folder), ``OSError``,
``ArithmeticError`` (a diverged rollout or training) and ``ValueError``
(everything else), with the library's messages.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _collop
from ._collop import (
    Dataset,
    Grid,
    Model,
    Rollout,
    __version__,
    frozen,
    load_dataset,
    load_model,
    static_theory,
    tracks,
    tracks_from_arrays,
)

__all__ = [
    "Comparison",
    "Dataset",
    "Grid",
    "Model",
    "PicRun",
    "Rollout",
    "Run",
    "__version__",
    "compare",
    "frozen",
    "load_comparison",
    "load_dataset",
    "load_model",
    "load_run",
    "operator_moments",
    "rollout",
    "run_pic",
    "static_theory",
    "synthesise",
    "theory",
    "tracks",
    "tracks_from_arrays",
    "train",
    "write_dataset",
]

PathLike = Union[str, "os.PathLike[str]"]


def _path(p: Any) -> str:
    if isinstance(p, Dataset):
        if p.folder is None:
            raise ValueError("the dataset was made from arrays: save it first (Dataset.save) to use its folder")
        return str(p.folder)
    return os.fspath(p)


# ----------------------------------------------------------------- datasets


def write_dataset(
    path: PathLike,
    frames: np.ndarray,
    grid: Grid,
    dt: float,
    *,
    i_start: int = 0,
    t_start: Optional[float] = None,
    pic_parameters: Optional[Mapping[str, Any]] = None,
) -> Dataset:
    """Write ``frames`` ``(n_dumps, nx, ny)`` on ``grid``, ``dt`` (``1/omega_p``)
    apart, as a dataset folder at ``path`` (``args.yaml`` and ``NNNNNN.npy``
    frames, the reference layout) and return it as read back (normalised so
    that its first frame sums to one). ``pic_parameters`` are the PIC keys
    of ``args.yaml`` (``ppc``, ``particles_per_debye_area``,
    ``dx_over_debye``, ``shape_order``, ``vth_c``, ...). A folder that
    already holds a dataset is refused (``ValueError``)."""
    frames = np.asarray(frames, dtype=np.float64)
    ds = Dataset.from_arrays(
        frames, grid, float(dt), i_start=i_start, t_start=t_start,
        pic_parameters=dict(pic_parameters) if pic_parameters else None,
    )
    ds.save(os.fspath(path))
    return load_dataset(os.fspath(path))


# ------------------------------------------------------------------- models


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
) -> Model:
    """The 2D Lenard-Balescu collision model of finite-size particles from
    PIC parameters: ``source`` is a PIC deck (TOML) or a dataset (folder or
    ``Dataset``) whose ``args.yaml`` records them; the keywords override or
    complete them (``ppc`` macro-particles per cell, or
    ``particles_per_debye_area`` ``n lambda_D^2``; cell size in Debye
    lengths; B-spline shape order 1-4; ``vth_c`` = ``v_th / c``).
    ``kind`` is ``"static"`` or ``"dynamic"`` shielding. ``Model.report``
    holds the amplitude ``C`` (``v_th^3 omega_p``) and the profiles."""
    return _collop.theory(
        _path(source), kind,
        grid_from=None if grid_from is None else _path(grid_from),
        ppc=ppc, particles_per_debye_area=particles_per_debye_area,
        dx_over_debye=dx_over_debye, dy_over_debye=dy_over_debye,
        shape_order=shape_order, vth_c=vth_c,
    )


# ----------------------------------------------------------------- rollouts


def rollout(
    model: Model,
    data: Union[Dataset, np.ndarray],
    *,
    numerics: Optional[Mapping[str, Any]] = None,
    steps: Optional[int] = None,
    grid: Optional[Grid] = None,
    dt: Optional[float] = None,
    first_step: int = 0,
    dataset: Optional[Dataset] = None,
    extrapolate: bool = False,
    keep_frames: bool = True,
) -> Union[Rollout, np.ndarray]:
    """Roll ``model`` out.

    On a ``Dataset``: from its first frame over its dump steps, scored
    against its frames over the first ``steps`` (all by default), as
    ``collop test`` does; returns a ``Rollout`` with ``frames``
    ``(steps + 1, nx, ny)`` and ``metrics`` (the means ``mae``, ``mse``,
    ``l1``, ``l2``, ``l1_norm``, ``l2_norm`` over the window, ``per_step``
    arrays of each, ``window``, ``steps``).

    From an array ``f0`` ``(batch, nx, ny)`` (or one ``(nx, ny)``): on
    ``grid`` with ``dt`` (``1/omega_p``) per dump over ``steps`` dump steps
    from dump step ``first_step`` (which selects time slots; a model
    conditioned on PIC parameters takes ``dataset``'s); returns the frames
    ``(steps + 1, batch, nx, ny)`` (``(steps + 1, nx, ny)``). The array is
    read in place when it is float64 and copied once into the simulator's
    layout; the frames are handed to numpy without a copy.

    ``numerics`` replaces keys of the model's evaluation numerics (a
    trained run's ``[evaluation]``, the reference's evaluation settings
    for other models): ``scheme`` (``"reference"`` / ``"conservative"``),
    ``edges`` (``"guard"`` / ``"one-sided"``), ``substeps`` (a count or
    ``"auto"``), ``clamp_f``, ``clamp_d``, ``stability``
    (``"ignore"`` / ``"warn"`` / ``"error"``). Stability notes are issued as
    ``RuntimeWarning``.
    """
    nd = dict(numerics) if numerics else None
    if isinstance(data, Dataset):
        r = _collop.rollout(model, data, numerics=nd, steps=steps, extrapolate=extrapolate, keep_frames=keep_frames)
        for w in r.warnings:
            warnings.warn(w, RuntimeWarning, stacklevel=2)
        return r
    if grid is None or dt is None or steps is None:
        raise ValueError("a rollout from an array needs grid=, dt= and steps=")
    f0 = np.asarray(data, dtype=np.float64)
    frames, notes = _collop.rollout_array(
        model, f0, grid, float(dt), int(steps), numerics=nd, first_step=first_step,
        dataset=dataset, extrapolate=extrapolate,
    )
    for w in notes:
        warnings.warn(w, RuntimeWarning, stacklevel=2)
    return frames


# ----------------------------------------------------------------- training


def _history(path: Path) -> Dict[str, np.ndarray]:
    """``history.csv`` of a run directory as arrays (empty when absent)."""
    file = path / "history.csv"
    if not file.is_file():
        return {}
    with open(file, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    out: Dict[str, np.ndarray] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        as_int = key in ("stage", "epoch", "global_epoch", "unroll", "evaluations")
        if as_int:
            out[key] = np.array([int(v) for v in values], dtype=np.int64)
        else:
            out[key] = np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float64)
    return out


class Run:
    """A trained run: the model (``Run.model``, a ``Model`` to roll out),
    its loss history, its best parameters and fields."""

    def __init__(self, model: Model, outcome: Optional[Dict[str, Any]] = None) -> None:
        if model.kind != "trained":
            raise ValueError(f"{model!r} is not a trained run")
        self.model = model
        #: What the training call did (``epochs``, ``evaluations``,
        #: ``seconds``, ``best_loss``, ``best_is_validation``, ``model``);
        #: ``None`` for a run loaded from its directory.
        self.outcome = outcome

    @property
    def path(self) -> Path:
        """The run directory."""
        return Path(self.model.path)

    @property
    def history(self) -> Dict[str, np.ndarray]:
        """The loss history (``history.csv``) as arrays by column:
        ``stage``, ``epoch``, ``global_epoch``, ``unroll``, ``train_loss``,
        ``val_loss`` (NaN without validation), ``lr``, ``evaluations``,
        ``elapsed`` (s)."""
        return _history(self.path)

    @property
    def parameters(self) -> Optional[np.ndarray]:
        """The best model parameters ``phi``."""
        return self.model.parameters

    @property
    def theta(self) -> np.ndarray:
        """The best operator parameters ``theta`` (grid units)."""
        return self.model.theta

    @property
    def config(self) -> str:
        """The resolved config (TOML text)."""
        return self.model.config

    def fields(self, **kwargs: Any) -> Dict[str, np.ndarray]:
        """``Model.fields`` of the run."""
        return self.model.fields(**kwargs)

    def radial_profiles(self, **kwargs: Any) -> Dict[str, np.ndarray]:
        """``Model.radial_profiles`` of the run."""
        return self.model.radial_profiles(**kwargs)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"


def load_run(path: PathLike) -> Run:
    """A trained run from its directory."""
    return Run(load_model(os.fspath(path)))


def _progress_printer(label: str) -> Callable[[Dict[str, Any]], None]:
    """A progress display: a tqdm bar when tqdm is installed, else a line
    on stderr rewritten in place."""
    try:
        from tqdm.auto import tqdm  # type: ignore
    except ImportError:
        tqdm = None
    state: Dict[str, Any] = {"bar": None}

    def show(r: Dict[str, Any]) -> None:
        total = r.get("total_epochs", r.get("n_steps"))
        done = r.get("global_epoch", r.get("step"))
        if done is None:
            return
        if tqdm is not None:
            if state["bar"] is None:
                state["bar"] = tqdm(total=total, unit=label)
            bar = state["bar"]
            bar.update(done - bar.n)
            if "train_loss" in r:
                bar.set_postfix(loss=f"{r['train_loss']:.4e}", unroll=r["unroll"])
        else:
            # at most one line per tenth of the way (and the last)
            tenth = max(1, (total or 1) // 10)
            if done % tenth == 0 or done == total:
                loss = f" loss {r['train_loss']:.4e}" if "train_loss" in r else ""
                sys.stderr.write(f"{done}/{total} {label}{loss}\n")
                sys.stderr.flush()

    return show


def train(
    config: Union[PathLike, Mapping[str, Any]],
    out: PathLike,
    *,
    resume: bool = False,
    callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
    progress: bool = False,
    plots: bool = False,
) -> Run:
    """Train an operator into the run directory ``out``.

    ``config`` is a TOML file (data folders relative to it) or a dict of
    the same tables (``{"data": {"folders": [...]}, "model": {"kind":
    "fp-tensor"}, "training": {"stages": [...]}, ...}``; folders relative
    to the working directory). ``resume`` continues an interrupted run
    from its last checkpoint (a directory holding a run is refused
    otherwise). ``callback(record)`` is called after every epoch with a
    dict (``stage``, ``epoch``, ``global_epoch``, ``total_epochs``,
    ``unroll``, ``train_loss``, ``val_loss``, ``lr``, ``evaluations``,
    ``elapsed``); an exception it raises stops the training and is
    re-raised. ``progress`` shows a tqdm bar (or a line on stderr).
    Ctrl-C stops the training at the end of an epoch; the run resumes from
    its last checkpoint."""
    cb = callback
    if progress:
        show = _progress_printer("epochs")
        if callback is None:
            cb = show
        else:
            def cb(r: Dict[str, Any]) -> None:
                show(r)
                callback(r)
    if isinstance(config, Mapping):
        model, outcome = _collop.train(json.dumps(config), os.fspath(out), resume=resume, callback=cb,
                                       is_json=True, plots=plots)
    else:
        model, outcome = _collop.train(os.fspath(config), os.fspath(out), resume=resume, callback=cb,
                                       plots=plots)
    return Run(model, outcome)


# ---------------------------------------------------------------------- PIC


class PicRun:
    """A PIC run: its ``summary`` (steps, ``finished``, dumps, timings,
    energy error, heating rate, sample sizes, seed, ...) and its
    ``datasets`` by sub-population name."""

    def __init__(self, path: Path, summary: Dict[str, Any], datasets: Dict[str, Dataset]) -> None:
        self.path = path
        self.summary = summary
        self.datasets = datasets

    def __repr__(self) -> str:
        return f"PicRun({str(self.path)!r}, datasets={sorted(self.datasets)})"


def run_pic(
    deck: Union[PathLike, Mapping[str, Any]],
    out: PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
    threads: int = 0,
    callback: Optional[Callable[[Dict[str, Any]], Any]] = None,
    progress: bool = False,
) -> PicRun:
    """Run the 2D PIC code on ``deck`` (a TOML file or a dict of its tables)
    into ``out``; ``resume`` continues an interrupted run, ``overwrite``
    replaces one; ``threads`` 0 uses every core. ``callback(event)``
    receives dicts with ``event`` = ``"started"``, ``"progress"`` (``step``,
    ``n_steps``, ``time`` in ``1/omega_p``, ``particle_steps_per_second``,
    ``energy_error``, ``dumps``), ``"dumped"`` or ``"warning"``. Ctrl-C
    stops the run as an interruption does (its checkpoint is kept for
    ``resume=True``) and raises ``KeyboardInterrupt``."""
    cb = callback
    if progress:
        show = _progress_printer("steps")
        if callback is None:
            cb = show
        else:
            def cb(e: Dict[str, Any]) -> None:
                show(e)
                callback(e)
    if isinstance(deck, Mapping):
        summary, datasets = _collop.run_pic(json.dumps(deck), os.fspath(out), resume=resume, overwrite=overwrite,
                                            threads=threads, callback=cb, is_json=True)
    else:
        summary, datasets = _collop.run_pic(os.fspath(deck), os.fspath(out), resume=resume,
                                            overwrite=overwrite, threads=threads, callback=cb)
    return PicRun(Path(out), summary, dict(datasets))


# --------------------------------------------------------------- comparison


class Comparison:
    """The comparison of one PIC run's models (``comparison.json`` as a
    dict in ``data``); ``records()`` gives one dict per model and
    sub-population, for ``pandas.DataFrame(cmp.records())``."""

    def __init__(self, data: Dict[str, Any]) -> None:
        self.data = data

    def records(self) -> List[Dict[str, Any]]:
        """One record per model and sub-population: ``model``, ``family``,
        ``population``, ``role`` (train / held-out), ``status`` (``scored``
        or the failure), the mean errors ``mae``, ``mse``, ``l1``, ``l2``,
        ``l1_norm``, ``l2_norm`` (NaN when not scored)."""
        keys = ("mae", "mse", "l1", "l2", "l1_norm", "l2_norm")
        out = []
        for row in self.data["rows"]:
            result = row["result"]
            ok = "Ok" in result
            rec = {
                "model": row["model"],
                "family": row["family"],
                "population": row["pop"],
                "role": row["role"],
                "status": "scored" if ok else result.get("Err", "failed"),
            }
            for k in keys:
                rec[k] = float(result["Ok"][k]) if ok else float("nan")
            out.append(rec)
        return out

    def __repr__(self) -> str:
        return f"Comparison({self.data.get('run')!r}, {len(self.data.get('rows', []))} rows)"


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
) -> Comparison:
    """Compare the learned, track, theory and frozen models of the PIC run
    ``run`` on every sub-population, as ``collop compare`` does, writing
    ``report.html`` and the tables into ``out``."""
    data = _collop.compare(
        os.fspath(run), os.fspath(out), train=list(train), test=list(test),
        models=None if models is None else list(models), lags=None if lags is None else list(lags),
        epochs_scale=epochs_scale, substeps=substeps, min_count=min_count, resume=resume,
    )
    return Comparison(data)


def load_comparison(path: PathLike) -> Comparison:
    """The comparison written into ``path`` by ``collop compare``."""
    return Comparison(_collop.load_comparison(os.fspath(path)))


def operator_moments(
    model: PathLike,
    data: Sequence[PathLike],
    out: PathLike,
    *,
    scale: float = 1.0,
    cells: Sequence[Tuple[float, float]] = (),
    overwrite: bool = False,
) -> Dict[str, Any]:
    """The Kramers-Moyal moments of ``model``'s operator (a trained run or
    a fields model) over the cells the datasets ``data`` populate, as
    ``collop moments``: drift ``M_1`` (v_th omega_p), diffusion ``M_2``
    (v_th^2 omega_p), the higher ``M_3``, ``M_4`` and the share of each
    term of the expansion on the velocity scale ``scale`` (v_th), per time
    slot; for kernel models the kernels at ``cells`` ((v_x, v_y) in v_th).
    Writes the tables and maps into ``out``; returns ``moments.json``."""
    return _collop.operator_moments(
        os.fspath(model), [os.fspath(d) for d in data], os.fspath(out), scale=scale,
        cells=[(float(x), float(y)) for x, y in cells], overwrite=overwrite,
    )


def synthesise(model: PathLike, like: PathLike, out: PathLike, particles: int, *, seed: int = 0) -> int:
    """Write into ``out`` the dataset ``model`` would give from the first
    frame of the dataset ``like`` (its grid, dumps and args.yaml), each
    frame drawn as the histogram of ``particles`` particles, as ``collop
    synthesise``; returns the number of frames."""
    return _collop.synthesise(os.fspath(model), os.fspath(like), os.fspath(out), particles, seed=seed)
