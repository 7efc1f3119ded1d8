"""Datasets: read, written from arrays, and their errors."""

import numpy as np
import pytest

import collop


def test_published_dataset_reads_as_arrays(published):
    ds = collop.load_dataset(published / "normal_-2_0")
    frames = ds.frames
    assert frames.shape == (96, 51, 51) == (len(ds), *ds.grid.shape)
    assert frames.dtype == np.float64
    # read-only view of the dataset's memory, normalised to a first frame of sum one
    assert not frames.flags.writeable
    assert abs(frames[0].sum() - 1.0) < 1e-12
    assert ds.steps == 95
    np.testing.assert_allclose(np.diff(ds.times), ds.dt, rtol=1e-12)
    assert ds.grid.v_range == (-5.0, 5.0, -5.0, 5.0)
    np.testing.assert_allclose(ds.grid.vx[[0, -1]], [-5 + 5 / 51, 5 - 5 / 51])
    assert ds.meta["dt"] == pytest.approx(ds.dt)


def test_written_from_arrays_and_read_back(tmp_path):
    grid = collop.Grid(8, 6, (-3.0, 3.0, -2.0, 2.0))
    rng = np.random.default_rng(1)
    frames = rng.random((4, 8, 6))
    ds = collop.write_dataset(tmp_path / "d", frames, grid, 0.5, i_start=2,
                              pic_parameters={"ppc": 16, "vth_c": 0.05, "shape_order": 2})
    assert ds.grid == grid
    assert ds.first_dump == 2
    np.testing.assert_allclose(ds.times, 1.0 + 0.5 * np.arange(4))
    # read back normalised by the first frame's sum
    np.testing.assert_allclose(ds.frames, frames / frames[0].sum(), rtol=1e-14)
    p = ds.pic_parameters
    assert p["ppc"] == 16 and p["vth_c"] == 0.05 and p["shape_order"] == 2


def test_in_memory_dataset_keeps_frames_as_given():
    grid = collop.Grid(5, 5, (-1.0, 1.0, -1.0, 1.0))
    frames = np.arange(50.0).reshape(2, 5, 5)
    ds = collop.Dataset.from_arrays(frames, grid, 1.0)
    np.testing.assert_array_equal(ds.frames, frames)
    assert ds.folder is None


def test_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an existing folder"):
        collop.load_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no args.yaml"):
        collop.load_dataset(tmp_path / "empty")
    grid = collop.Grid(4, 4, (-1.0, 1.0, -1.0, 1.0))
    with pytest.raises(ValueError, match="4 x 4|3 x 4"):
        collop.Dataset.from_arrays(np.zeros((2, 3, 4)), grid, 1.0)
    bad = np.ones((2, 4, 4))
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        collop.Dataset.from_arrays(bad, grid, 1.0)
    with pytest.raises(ValueError, match="dt"):
        collop.Dataset.from_arrays(np.ones((2, 4, 4)), grid, -1.0)
    with pytest.raises(ValueError):
        collop.Grid(0, 4, (-1.0, 1.0, -1.0, 1.0))
    collop.write_dataset(tmp_path / "d", np.ones((2, 4, 4)), grid, 1.0)
    with pytest.raises(ValueError):
        collop.write_dataset(tmp_path / "d", np.ones((2, 4, 4)), grid, 1.0)
