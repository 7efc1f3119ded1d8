"""Training: from a file or a dict, equal to the CLI, callbacks, resume, Ctrl-C, errors."""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import collop
from conftest import run_cli, run_cli_json


def short_config(published, epochs=(30, 10), every=10):
    """A short schedule of the reference tensor training on the published data."""
    return {
        "seed": 0,
        "data": {"folders": [str(published / "normal_-2_0"), str(published / "ring_normal_2_0.2")],
                 "validation_fraction": 0.05},
        "model": {"kind": "fp-tensor"},
        "numerics": {"scheme": "reference", "edges": "one-sided", "substeps": 1, "clamp_f": True,
                     "clamp_d": False, "stability": "ignore"},
        "evaluation": {"scheme": "reference", "edges": "guard", "substeps": 1, "clamp_f": True,
                       "clamp_d": True},
        "training": {"loss": "mae", "accumulation": "all-steps", "optimiser": {"kind": "adam"},
                     "checkpoint_every": every,
                     "stages": [{"unroll": 1, "epochs": epochs[0], "lr": 1e-3},
                                {"unroll": 2, "epochs": epochs[1], "lr": 1e-3}]},
    }


def toml_text(cfg):
    """The dict as TOML (the few shapes used here)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)
    lines = [f"seed = {cfg['seed']}"]
    for table in ("data", "model", "numerics", "evaluation", "training"):
        lines.append(f"[{table}]")
        lines += [f"{k} = {value(v)}" for k, v in cfg[table].items()]
    return "\n".join(lines) + "\n"


def test_training_equals_the_cli(published, cli, tmp_path):
    cfg = short_config(published)
    path = tmp_path / "short.toml"
    path.write_text(toml_text(cfg))
    run_cli(cli, "train", path, "-o", tmp_path / "cli-run")
    want = run_cli_json(cli, "test", tmp_path / "cli-run", "--steps", "90")
    records = []
    run = collop.train(path, tmp_path / "py-run", callback=records.append)
    assert [r["global_epoch"] for r in records] == list(range(1, 41))
    assert records[-1]["total_epochs"] == 40 and records[-1]["unroll"] == 2
    np.testing.assert_array_equal(run.theta, collop.load_model(tmp_path / "cli-run").theta)
    for row in want:
        if row["model"] == "frozen":
            continue
        ds = collop.load_dataset(row["dataset"])
        got = collop.rollout(run.model, ds, steps=90).metrics
        assert got["l1"] == row["l1"] and got["mae"] == row["mae"], row["dataset"]
    # the same config as a dict trains the same run
    again = collop.train(cfg, tmp_path / "dict-run")
    np.testing.assert_array_equal(again.theta, run.theta)
    np.testing.assert_array_equal(again.parameters, run.parameters)


def test_run_history_fields_and_profiles(published, tmp_path):
    run = collop.train(short_config(published, epochs=(12, 3), every=5), tmp_path / "run")
    h = run.history
    assert h["global_epoch"].tolist() == list(range(1, 16))
    assert h["unroll"].tolist() == [1] * 12 + [2] * 3
    assert np.all(np.isfinite(h["train_loss"])) and np.all(np.isfinite(h["val_loss"]))
    assert run.outcome["epochs"] == 15
    # the best score is one of the validation losses of the history
    assert np.any(h["val_loss"] == run.outcome["best_loss"])
    f = run.fields()
    assert f["A_x"].shape == (1, 51, 51)
    assert np.all(np.isfinite(f["D_xy"]))
    p = run.radial_profiles(n_bins=20)
    assert p["D_par"].shape == (1, p["speed"].shape[0])
    assert run.model.evaluation_numerics == {"scheme": "reference", "edges": "guard", "substeps": 1,
                                             "clamp_f": True, "clamp_d": True, "stability": "warn"}
    assert run.model.describe() == f"trained run {run.path}"
    with pytest.raises(ValueError, match="no PIC-parameter conditioners"):
        run.fields(pic_parameters={"ppc": 8})
    loaded = collop.load_run(run.path)
    np.testing.assert_array_equal(loaded.theta, run.theta)
    assert 'kind = "fp-tensor"' in loaded.config


def test_progress_is_shown(published, tmp_path, capsys):
    collop.train(short_config(published, epochs=(8, 2), every=5), tmp_path / "run", progress=True)
    err = capsys.readouterr().err
    assert "10/10" in err


class Stop(Exception):
    pass


def test_interrupted_training_resumes_to_the_same_run(published, tmp_path):
    cfg = short_config(published, epochs=(20, 5), every=10)
    whole = collop.train(cfg, tmp_path / "whole")

    def stop_at_17(r):
        if r["global_epoch"] == 17:
            raise Stop()

    with pytest.raises(Stop):
        collop.train(cfg, tmp_path / "cut", callback=stop_at_17)
    assert not any(".collop-tmp-" in p.name for p in (tmp_path / "cut").iterdir())
    with pytest.raises(ValueError, match="--resume"):
        collop.train(cfg, tmp_path / "cut")
    resumed = collop.train(cfg, tmp_path / "cut", resume=True)
    np.testing.assert_array_equal(resumed.theta, whole.theta)
    assert resumed.history["global_epoch"].tolist() == list(range(1, 26))


def test_ctrl_c_stops_training_within_a_second(published, tmp_path):
    cfg = short_config(published, epochs=(100000, 1), every=10)
    sent = {}

    def fire():
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(2.0, fire)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        collop.train(cfg, tmp_path / "run")
    stopped = time.monotonic()
    timer.join()
    assert stopped - sent["at"] < 1.0
    names = [p.name for p in (tmp_path / "run").iterdir()]
    assert not any(".collop-tmp-" in n for n in names)
    assert "config.toml" in names and "run.json" in names
    # the lock is released: the run can be resumed at once (stopped here by a callback)
    with pytest.raises(Stop):
        collop.train(cfg, tmp_path / "run", resume=True, callback=lambda r: (_ for _ in ()).throw(Stop()))


def test_training_errors(published, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such config"):
        collop.train(tmp_path / "missing.toml", tmp_path / "run")
    cfg = short_config(published)
    cfg["model"]["colour"] = "blue"
    with pytest.raises(ValueError, match="colour"):
        collop.train(cfg, tmp_path / "run")
    cfg = short_config(published)
    cfg["training"]["stages"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr"):
        collop.train(cfg, tmp_path / "run")
    cfg = short_config(published)
    cfg["data"]["folders"] = [str(tmp_path / "nowhere")]
    with pytest.raises(FileNotFoundError):
        collop.train(cfg, tmp_path / "run")
    # Resuming a run killed before its first checkpoint (here: never
    # started) trains from the start; one with another config is refused.
    fresh = tmp_path / "fresh"
    collop.train(short_config(published, epochs=(2, 1)), fresh, resume=True)
    assert (fresh / "model.npz").is_file()
    with pytest.raises(ValueError, match="another config"):
        collop.train(short_config(published, epochs=(3, 1)), fresh, resume=True)
