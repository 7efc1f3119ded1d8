"""The cost of calling collop through Python against the CLI, on the
published data: the rollout of a model over a dataset, and training epochs.

    cargo build --release -p collop-cli
    pip install ./python                     # the release build of the same sources
    python scripts/python-bench.py [--cli target/release/collop] [--data DIR] [--repeat 15]

Both sides do the same work. Rollout: read the dataset, build the
static-shielding theory model (C = 0.034) and roll it out over the 95 dump
steps with the reference evaluation numerics, scored against every frame
(`collop rollout --data D --model theory --amplitude 0.034 --json`); the
CLI's figure includes starting its process, so the rollout of a trained
run is also timed inside Python alone. Training: the reference tensor
model on both published datasets (`collop train` / `collop.train`) for
1 and for 1 + N epochs at unroll 1; an epoch costs the difference over N,
and the 1-epoch call is the fixed cost. Medians over the repeats (the two
sides alternating) are printed with the ratio Python / CLI.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import collop

REPO = Path(__file__).resolve().parents[1]


def median_time(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paired(f_cli, f_py, repeat):
    """Medians of the two, run alternately (a load that drifts over the
    run weighs on both alike)."""
    a, b = [], []
    for _ in range(repeat):
        a.append(median_time(f_cli, 1))
        b.append(median_time(f_py, 1))
    return statistics.median(a), statistics.median(b)


def config_text(data, epochs):
    folders = ", ".join(f'"{(data / n).as_posix()}"' for n in ("normal_-2_0", "ring_normal_2_0.2"))
    return f"""seed = 0
[data]
folders = [{folders}]
validation_fraction = 0.05
[model]
kind = "fp-tensor"
[numerics]
scheme = "reference"
edges = "one-sided"
substeps = 1
clamp_f = true
clamp_d = false
stability = "ignore"
[training]
loss = "mae"
accumulation = "all-steps"
optimiser = {{ kind = "adam" }}
checkpoint_every = 100
stages = [{{ unroll = 1, epochs = {epochs}, lr = 1e-3 }}]
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cli", default=str(REPO / "target" / "release" / "collop"))
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "carvalho2026")
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--epochs", type=int, default=200, help="N, the extra epochs of the long training")
    a = p.parse_args()
    data = a.data / "normal_-2_0"
    if not data.is_dir():
        sys.exit(f"no published data in {a.data} (give --data DIR)")
    tmp = Path(tempfile.mkdtemp(prefix="collop-bench-"))

    cli_rollout = [a.cli, "rollout", "--data", str(data), "--model", "theory", "--amplitude", "0.034", "--json"]

    def py_rollout():
        ds = collop.load_dataset(data)
        collop.rollout(collop.static_theory(ds.grid, 0.034), ds, numerics={"clamp_d": False})

    # warm the file cache and check both give the same numbers
    import json
    want = json.loads(subprocess.run(cli_rollout, capture_output=True, text=True, check=True).stdout)
    ds = collop.load_dataset(data)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = collop.rollout(collop.static_theory(ds.grid, 0.034), ds, numerics={"clamp_d": False})
        assert got.metrics["mae"] == want["mae"], (got.metrics["mae"], want["mae"])
        t_cli, t_py = paired(lambda: subprocess.run(cli_rollout, capture_output=True, check=True), py_rollout,
                             a.repeat)
        model = collop.static_theory(ds.grid, 0.034)
        t_call = median_time(lambda: collop.rollout(model, ds, numerics={"clamp_d": False}), a.repeat)
    print(f"rollout (read, model, 95 steps, metrics): CLI {1e3 * t_cli:.2f} ms, Python {1e3 * t_py:.2f} ms, "
          f"ratio {t_py / t_cli:.3f}")
    print(f"  the rollout call alone in Python (dataset and model in memory): {1e3 * t_call:.2f} ms")

    results = {}
    for epochs in (1, 1 + a.epochs):
        cfg = tmp / f"e{epochs}.toml"
        cfg.write_text(config_text(a.data, epochs))
        k = [0]

        def cli_train():
            k[0] += 1
            subprocess.run([a.cli, "train", str(cfg), "-o", str(tmp / f"cli-{epochs}-{k[0]}")],
                           capture_output=True, check=True)

        def py_train():
            k[0] += 1
            collop.train(cfg, tmp / f"py-{epochs}-{k[0]}", plots=True)

        reps = a.repeat if epochs == 1 else max(3, a.repeat // 3)
        results[epochs] = paired(cli_train, py_train, reps)
    (c1, p1), (cn, pn) = results[1], results[1 + a.epochs]
    ce, pe = (cn - c1) / a.epochs, (pn - p1) / a.epochs
    print(f"training, one call of 1 epoch (read data, build, train, write the run): CLI {1e3 * c1:.1f} ms, "
          f"Python {1e3 * p1:.1f} ms, ratio {p1 / c1:.3f}")
    print(f"training, one epoch (difference of {1 + a.epochs} and 1 epochs over {a.epochs}): "
          f"CLI {1e3 * ce:.3f} ms, Python {1e3 * pe:.3f} ms, ratio {pe / ce:.3f}")


if __name__ == "__main__":
    main()
