"""Models: theory from PIC parameters, track estimates, fields and radial profiles."""

import csv

import numpy as np
import pytest

import collop
from conftest import REPO

GRID = collop.Grid(21, 21, (-4.0, 4.0, -4.0, 4.0))


def test_static_theory_fields_are_a_drag_and_a_diffusion():
    m = collop.static_theory(GRID, 0.034)
    assert m.kind == "fields" and m.grid == GRID
    f = m.fields()
    assert set(f) == {"A_x", "A_y", "D_xx", "D_yy", "D_xy"}
    assert all(a.shape == (1, 21, 21) for a in f.values())
    vx = GRID.vx[:, None] * np.ones((1, 21))
    # the drag points to v = 0: A_x has the opposite sign of v_x off the axis
    off = np.abs(vx) > 0.5
    assert np.all(np.sign(f["A_x"][0][off]) == -np.sign(vx[off]))
    assert np.all(f["D_xx"][0] > 0) and np.all(f["D_yy"][0] > 0)
    # twice the amplitude, twice the coefficients
    f2 = collop.static_theory(GRID, 0.068).fields()
    np.testing.assert_allclose(f2["D_xx"], 2 * f["D_xx"], rtol=1e-12)


def test_radial_profiles_of_an_isotropic_theory_have_no_spread():
    p = collop.static_theory(GRID, 0.034).radial_profiles(n_bins=10)
    n = p["speed"].shape[0]
    assert 5 <= n <= 10
    assert p["D_par"].shape == (1, n)
    assert np.all(np.diff(p["speed"]) > 0)
    # isotropic fields: the spread over a shell is the profile's change across it, small against it
    assert np.all(p["D_perp_spread"][0] < 0.2 * np.abs(p["D_perp"][0]))
    assert np.all(p["A_par"][0][p["speed"] > 0.5] < 0)


def test_theory_from_a_deck_and_from_a_dataset(published):
    deck = REPO / "crates" / "pic" / "decks" / "small.toml"
    st = collop.theory(deck, "static", grid_from=published / "normal_-2_0")
    dy = collop.theory(deck, "dynamic", grid_from=published / "normal_-2_0")
    assert st.source == "theory-static" and dy.source == "theory-dynamic"
    assert "amplitude   C =" in st.report
    assert st.grid.shape == (51, 51)
    # a dataset without recorded PIC parameters needs them as keywords
    with pytest.raises(ValueError):
        collop.theory(published / "normal_-2_0")
    ds = collop.load_dataset(published / "normal_-2_0")
    m = collop.theory(ds, ppc=4, dx_over_debye=1, shape_order=1, vth_c=0.01)
    # README: the dynamic theory rolls the blob out with a MAE of 2.4e-5
    r = collop.rollout(m, ds)
    assert r.metrics["mae"] == pytest.approx(2.43e-5, rel=0.01)


def test_track_estimate_from_arrays_recovers_an_ornstein_uhlenbeck_drift():
    # dv = -gamma v dt + sqrt(2 D) dW: drift -gamma v, diffusion 2 D per component
    rng = np.random.default_rng(7)
    gamma, d, dt, dumps, n = 0.05, 0.02, 1.0, 30, 20000
    v = rng.normal(0, 1.0, (2, n))
    vx, vy = np.empty((dumps, n)), np.empty((dumps, n))
    decay = np.exp(-gamma * dt)
    sd = np.sqrt(d / gamma * (1 - decay**2))
    for k in range(dumps):
        vx[k], vy[k] = v
        v = v * decay + sd * rng.normal(size=v.shape)
    t = dt * np.arange(dumps)
    m = collop.tracks_from_arrays(t, vx, vy, GRID, lag=1, min_count=400)
    f = m.fields()
    est = m.track_estimates[0]
    assert est["tau"] == pytest.approx(dt)
    full = est["count"] >= 400
    assert full.sum() > 20
    vxg = np.broadcast_to(GRID.vx[:, None], GRID.shape)
    expected_ax = vxg * (decay - 1) / dt
    err = np.abs(f["A_x"][0] - expected_ax)[full]
    assert np.all(err < 5 * est["stderr"]["A_x"][full] + 1e-3)
    assert np.median(f["D_xx"][0][full]) == pytest.approx(sd**2 / dt, rel=0.1)
    with pytest.raises(ValueError, match="do not match"):
        collop.tracks_from_arrays(t[:-1], vx, vy, GRID)


def test_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        collop.load_model(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not `frozen`"):
        collop.load_model(tmp_path / "empty")
    with pytest.raises(ValueError, match="give a dataset"):
        collop.frozen().fields()
    with pytest.raises(ValueError, match="finite"):
        collop.static_theory(GRID, float("nan"))
    with pytest.raises(ValueError, match="static"):
        collop.theory(tmp_path, "neither")
    with pytest.raises(FileNotFoundError):
        collop.tracks([tmp_path / "tracks.npz"], tmp_path)


def test_fields_model_saved_and_loaded(tmp_path):
    m = collop.static_theory(GRID, 0.02)
    m.save(tmp_path / "th")
    back = collop.load_model(tmp_path / "th")
    for k, a in m.fields().items():
        np.testing.assert_array_equal(back.fields()[k], a)
    with pytest.raises(ValueError):
        m.save(tmp_path / "th")
    m.save(tmp_path / "th", overwrite=True)
    assert collop.frozen().kind == "frozen" and collop.load_model("frozen").kind == "frozen"


def test_moments_of_a_theory_model_are_its_fields_and_synthetic_data(tmp_path, published):
    """The Kramers-Moyal moments of a Fokker-Planck model are its drift and
    diffusion at every interior cell (to round-off; the library's tests
    derive this), and its higher terms stay within its discretisation's
    share, dv^2 / 6 on the scale of 1 v_th. Synthetic data like a
    published dataset keep its dumps and grid and count the particles."""
    ds = collop.load_dataset(published / "normal_-2_0" / "f")
    m = collop.static_theory(ds.grid, 0.034)
    m.save(tmp_path / "th")
    r = collop.operator_moments(tmp_path / "th", [ds.folder], tmp_path / "mom")
    assert r["kernel"] is None and len(r["slots"]) == 1
    dv = 10.0 / 51
    assert 0.0 < r["slots"][0]["higher_share"][3] <= dv * dv / 6 * (1 + 1e-9)
    rows = list(csv.DictReader(open(tmp_path / "mom" / "moments_slot0.csv")))
    fields = m.fields()
    nx = ds.grid.nx
    for k, row in enumerate(rows):
        if row["interior"] == "1":
            i, j = divmod(k, nx)
            assert abs(float(row["a_x"]) - fields["A_x"][0, i, j]) < 1e-12
            assert abs(float(row["d_yy"]) - fields["D_yy"][0, i, j]) < 1e-12
    with pytest.raises(ValueError, match="--overwrite"):
        collop.operator_moments(tmp_path / "th", [ds.folder], tmp_path / "mom")
    with pytest.raises(ValueError, match="off the grid"):
        collop.operator_moments(tmp_path / "th", [ds.folder], tmp_path / "m2", cells=[(9.0, 0.0)])

    n = collop.synthesise(tmp_path / "th", ds.folder, tmp_path / "syn", 300_000, seed=2)
    assert n == len(ds.times)
    syn = collop.load_dataset(tmp_path / "syn")
    np.testing.assert_array_equal(syn.times, ds.times)
    with pytest.raises(ValueError, match="--particles"):
        collop.synthesise(tmp_path / "th", ds.folder, tmp_path / "syn2", 0)
