"""PIC runs from a dict deck, their tracks, and the comparison as records."""

import json

import numpy as np
import pytest

import collop
from conftest import REPO, TINY_DECK


@pytest.fixture(scope="module")
def pic_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pic") / "run"
    events = []
    run = collop.run_pic(TINY_DECK, out, threads=1, callback=events.append)
    return run, events


def test_pic_run_returns_its_datasets(pic_run):
    run, events = pic_run
    assert run.summary["finished"] and run.summary["steps"] == 400
    assert sorted(run.datasets) == ["blob", "ring"]
    blob = run.datasets["blob"]
    assert blob.frames.shape == (20, 21, 21)  # dumps 1..20 (i_start = 1)
    assert blob.pic_parameters["ppc"] == 16
    kinds = {e["event"] for e in events}
    assert {"started", "progress", "dumped"} <= kinds
    steps = [e["step"] for e in events if e["event"] == "progress"]
    assert steps == sorted(steps) and steps[-1] == 400


def test_tracks_and_theory_of_the_pic_run(pic_run):
    run, _ = pic_run
    blob = run.path / "blob"
    m = collop.tracks([blob / "tracks.npz"], blob / "f", lag=1, min_count=5)
    assert m.source == "tracks" and "intervals" in m.report
    est = m.track_estimates[0]
    assert est["count"].sum() > 0
    f = m.fields()
    assert f["D_xx"].shape == (1, 21, 21)
    # diffusion is positive where intervals were counted
    counted = est["count"] >= 5
    assert np.median(f["D_xx"][0][counted]) > 0
    th = collop.theory(blob / "f", "static")
    assert th.source == "theory-static"


def test_pic_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        collop.run_pic(tmp_path / "missing.toml", tmp_path / "out")
    bad = json.loads(json.dumps(TINY_DECK))
    bad["grid"]["nx"] = 0
    with pytest.raises(ValueError):
        collop.run_pic(bad, tmp_path / "out")
    bad = json.loads(json.dumps(TINY_DECK))
    bad["grid"]["colour"] = "blue"
    with pytest.raises(ValueError, match="colour"):
        collop.run_pic(bad, tmp_path / "out")


def test_ctrl_c_stops_a_pic_run_and_it_resumes(tmp_path):
    import os
    import signal
    import threading
    import time

    deck = json.loads(json.dumps(TINY_DECK))
    deck["time"]["n_steps"] = 40000
    deck["time"]["dump_every"] = 20
    sent = {}

    def fire():
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(1.5, fire)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        collop.run_pic(deck, tmp_path / "run", threads=1)
    stopped = time.monotonic()
    timer.join()
    assert stopped - sent["at"] < 1.0
    assert (tmp_path / "run" / "checkpoint.npz").is_file()
    assert not any(".collop-tmp-" in p.name for p in (tmp_path / "run").rglob("*"))
    # a resume continues from the checkpoint (stopped again by its callback)
    first = {}

    def stop(e):
        if e["event"] == "started":
            first["step"] = e["start_step"]
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        collop.run_pic(deck, tmp_path / "run", threads=1, resume=True, callback=stop)
    assert first["step"] > 0


def test_comparison_records(pic_run, tmp_path):
    run, _ = pic_run
    cmp = collop.compare(run.path, tmp_path / "cmp", models=["tensor"], lags=[1], epochs_scale=0.005,
                         min_count=5)
    recs = cmp.records()
    models = {r["model"] for r in recs}
    assert {"tensor", "frozen", "theory-static", "theory-dynamic"} <= models
    assert {r["population"] for r in recs} == {"blob", "ring"}
    assert {r["role"] for r in recs} == {"train", "held-out"}
    scored = [r for r in recs if r["status"] == "scored"]
    assert scored and all(np.isfinite(r["mae"]) and r["mae"] > 0 for r in scored)
    back = collop.load_comparison(tmp_path / "cmp")
    assert back.records() == recs
    with pytest.raises(FileNotFoundError):
        collop.load_comparison(tmp_path / "nothing")
