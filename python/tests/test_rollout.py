"""Rollouts: equal to the CLI's, numpy batches, copies, Ctrl-C, errors."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import collop
from conftest import run_cli_json

STEPS = ("mae", "mse", "l1", "l2", "l1_norm", "l2_norm")


def test_rollout_equals_the_cli(published, cli):
    data = published / "ring_normal_2_0.2"
    ds = collop.load_dataset(data)
    want = run_cli_json(cli, "rollout", "--data", data, "--model", "theory", "--amplitude", "0.034")
    # `collop rollout` leaves D unclamped unless --clamp-d
    with pytest.warns(RuntimeWarning, match="unstable time step"):
        got = collop.rollout(collop.static_theory(ds.grid, 0.034), ds, numerics={"clamp_d": False})
    for k in STEPS:
        assert got.metrics[k] == want[k], k
        assert got.metrics["per_step"][k].tolist() == want["per_step"][k], k
    assert got.metrics["window"] == want["window"] == "steps 1-95 (all)"
    assert got.operator == want["operator"]


def test_numpy_batch_rollout_equals_the_dataset_rollout_and_the_cli(published, cli):
    data = published / "normal_-2_0"
    ds = collop.load_dataset(data)
    model = collop.static_theory(ds.grid, 0.02)
    want = run_cli_json(cli, "rollout", "--data", data, "--model", "theory", "--amplitude", "0.02", "--clamp-d")
    r = collop.rollout(model, ds)
    # a batch from numpy: the first frame and a later one, rolled out together
    f0 = np.array(ds.frames[[0, 40]])
    frames = collop.rollout(model, f0, grid=ds.grid, dt=ds.dt, steps=ds.steps)
    assert frames.shape == (96, 2, 51, 51)
    np.testing.assert_array_equal(frames[:, 0], r.frames)
    # the errors of the numpy frames, computed here, are the CLI's
    mae = np.abs(frames[1:, 0] - ds.frames[1:]).mean(axis=(1, 2))
    np.testing.assert_allclose(mae, want["per_step"]["mae"], rtol=1e-13, atol=0)
    # each member of a batch evolves alone
    alone = collop.rollout(model, ds.frames[40], grid=ds.grid, dt=ds.dt, steps=ds.steps)
    assert alone.shape == (96, 51, 51)
    np.testing.assert_array_equal(frames[:, 1], alone)


def test_frozen_rollout_keeps_the_first_frame(published):
    ds = collop.load_dataset(published / "normal_-2_0")
    r = collop.rollout(collop.frozen(), ds, steps=10)
    assert r.metrics["window"] == "steps 1-10 of 95"
    assert r.frames.shape == (11, 51, 51)
    np.testing.assert_array_equal(r.frames, np.broadcast_to(ds.frames[0], r.frames.shape))
    want = np.abs(ds.frames[1:11] - ds.frames[0]).sum(axis=(1, 2))
    np.testing.assert_allclose(r.metrics["per_step"]["l1"], want, rtol=1e-12)


COPIES = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    import collop
    grid = collop.Grid(51, 51, (-5.0, 5.0, -5.0, 5.0))
    b, steps = 1500, 3
    f0 = np.random.default_rng(0).random((b, 51, 51))
    size = f0.nbytes
    model = collop.static_theory(grid, 0.01)
    collop.rollout(model, f0[:2], grid=grid, dt=0.5, steps=1)  # warm up the module
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = collop.rollout(model, f0, grid=grid, dt=0.5, steps=steps)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert np.array_equal(out[0], f0)
    print(type(out.base).__name__, out.flags.owndata, (after - before) / size, out.nbytes / size)
    """
)


def test_large_batch_is_copied_once_in_and_not_out():
    r = subprocess.run([sys.executable, "-c", COPIES], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    base, owndata, grown, out_size = r.stdout.split()
    # the frames are the Rust allocation, handed to numpy without a copy
    assert base == "PySliceContainer" and owndata == "False"
    grown, out_size = float(grown), float(out_size)
    assert out_size == 4.0
    # peak growth, in units of the input batch: the output (4) plus the
    # simulator's state (one copy of the batch in chunk layout) plus
    # allocator slack; a second copy of the output would add 4 more.
    assert out_size <= grown < out_size + 2.5, grown


def _interrupt_after(seconds):
    """SIGINT to this process after `seconds`; the time it was sent."""
    sent = {}

    def fire():
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Timer(seconds, fire)
    t.start()
    return t, sent


def test_ctrl_c_stops_a_long_rollout_within_a_second():
    grid = collop.Grid(51, 51, (-5.0, 5.0, -5.0, 5.0))
    f0 = np.random.default_rng(0).random((64, 51, 51))
    model = collop.static_theory(grid, 0.01)
    # many sub-steps per dump: long compute, small output
    numerics = {"substeps": 400, "stability": "ignore"}
    start = time.monotonic()
    collop.rollout(model, f0, grid=grid, dt=0.5, steps=1, numerics=numerics)
    one_step = time.monotonic() - start
    steps = max(20, int(20.0 / max(one_step, 1e-3)))
    timer, sent = _interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        collop.rollout(model, f0, grid=grid, dt=0.5, steps=steps, numerics=numerics)
    stopped = time.monotonic()
    timer.join()
    assert stopped - start > 0.5
    assert stopped - sent["at"] < 1.0 + one_step, (stopped - sent["at"], one_step)


def test_rollout_errors(published):
    ds = collop.load_dataset(published / "normal_-2_0")
    grid = collop.Grid(11, 11, (-5.0, 5.0, -5.0, 5.0))
    model = collop.static_theory(ds.grid, 0.034)
    with pytest.raises(ValueError, match="grid"):
        collop.rollout(collop.static_theory(grid, 0.03), ds)
    with pytest.raises(ValueError, match="grid"):
        collop.rollout(model, np.ones((2, 11, 11)), grid=grid, dt=1.0, steps=2)
    with pytest.raises(ValueError, match="numerics"):
        collop.rollout(model, ds, numerics={"substep": 2})
    with pytest.raises(ValueError, match="--steps 96"):
        collop.rollout(model, ds, steps=96)
    with pytest.raises(ValueError, match="shape"):
        collop.rollout(model, np.ones((2, 2, 51, 51)), grid=ds.grid, dt=1.0, steps=2)
    with pytest.raises(ValueError, match="finite"):
        collop.rollout(model, np.full((51, 51), np.nan), grid=ds.grid, dt=1.0, steps=2)
    with pytest.raises(ValueError, match="grid=, dt= and steps="):
        collop.rollout(model, ds.frames[0])
    # far beyond the stable step: the rollout grows without bound
    with pytest.raises(ArithmeticError, match="diverged"):
        collop.rollout(collop.static_theory(ds.grid, 50.0), ds, numerics={"clamp_f": False, "stability": "ignore"})
