"""Shared fixtures: the repository, the published data, the `collop` binary."""

import os
import shutil
import signal
import subprocess
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_data_dir():
    """The authors' published data: `../shared/data/carvalho2026` beside the
    repository, or `$COLLOP_SHARED_DATA/carvalho2026`; None when absent."""
    candidates = []
    if os.environ.get("COLLOP_SHARED_DATA"):
        candidates.append(Path(os.environ["COLLOP_SHARED_DATA"]) / "carvalho2026")
    candidates.append(REPO.parent / "shared" / "data" / "carvalho2026")
    for c in candidates:
        if (c / "normal_-2_0").is_dir() and (c / "ring_normal_2_0.2").is_dir():
            return c
    return None


@pytest.fixture(autouse=True)
def sigint_raises_keyboard_interrupt():
    """Python's own SIGINT handler for every test.

    A job a non-interactive shell starts in the background (`cmd &`, as CI
    runners and `nohup` do) inherits SIGINT ignored, and Python then keeps
    it ignored: Ctrl-C (and the tests' own SIGINT) would never raise
    KeyboardInterrupt. The tests of interruption need the handler a user's
    interactive session has.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def published():
    d = shared_data_dir()
    if d is None:
        pytest.skip("skipping: the published data (../shared/data/carvalho2026) is absent")
    return d


@pytest.fixture(scope="session")
def cli():
    """The `collop` binary of the same build as the package: `$COLLOP_CLI`
    (required to exist when set, as CI sets it), else target/debug or
    target/release."""
    given = os.environ.get("COLLOP_CLI")
    if given:
        assert Path(given).is_file(), f"COLLOP_CLI={given} does not exist"
        return given
    for profile in ("debug", "release"):
        p = REPO / "target" / profile / "collop"
        if p.is_file():
            return str(p)
    found = shutil.which("collop")
    if found:
        return found
    pytest.skip("skipping: no collop binary (cargo build -p collop-cli, or set COLLOP_CLI)")


def run_cli(cli, *args, cwd=None):
    """Run the binary; its stdout."""
    r = subprocess.run([cli, *map(str, args)], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, f"collop {' '.join(map(str, args))} failed:\n{r.stderr}"
    return r.stdout


def run_cli_json(cli, *args):
    return json.loads(run_cli(cli, *args, "--json"))


# A PIC deck small enough for the default suite (a few seconds): the
# shape of crates/pic/decks/small.toml on a 32 x 32 grid over 20 dumps.
TINY_DECK = {
    "seed": 3,
    "grid": {"nx": 32, "ny": 32, "dx": 0.1, "dy": 0.1},
    "time": {"dt": 0.05, "n_steps": 400, "dump_every": 20},
    "solver": {"kind": "em", "shape_order": 2},
    "output": {"energy_every": 20, "checkpoint_every_dumps": 5},
    "phase_space": {"bins": 21, "v_max": 5.0, "i_start": 1},
    "species": [
        {"name": "electrons", "charge": -1.0, "mass": 1.0, "density": 1.0, "ppc": 16,
         "distribution": {"kind": "maxwellian", "u_th": 0.1}},
        {"name": "ions", "charge": 1.0, "mass": 1836.0, "density": 1.0, "mobile": False},
    ],
    "sub_populations": [
        {"name": "blob", "species": "electrons", "method": "test_species", "fraction": 0.2,
         "target": {"kind": "maxwellian", "u_th": 0.5, "drift": [-2.0, 0.0, 0.0]}, "tracks": 300},
        {"name": "ring", "species": "electrons", "method": "reweighting",
         "target": {"kind": "ring", "radius": 2.0, "width": 0.2, "u_th_z": 1.0}},
    ],
}
