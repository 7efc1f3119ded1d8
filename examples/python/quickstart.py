"""collop from Python: the published data, collision theory from the PIC
parameters, the reference tensor training, rollouts and a picture.

    pip install ./python              # from the repository root
    python examples/python/quickstart.py [--out runs/quickstart] [--data DIR]

The published data (Carvalho et al.) are looked for in
../shared/data/carvalho2026 beside the repository, or given with --data.
The training takes about 15 s on two cores (release build).
"""

import argparse
import sys
import tempfile
from pathlib import Path

import collop

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "carvalho2026")
    p.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    a = p.parse_args()
    if not (a.data / "normal_-2_0").is_dir():
        print(f"skipping: the published data are not in {a.data} (give --data DIR)")
        return 0
    out = a.out or Path(tempfile.mkdtemp(prefix="collop-quickstart-")) / "tensor"

    # 1. The data: frames (n_dumps, nx, ny), grid, times.
    names = ["normal_-2_0", "ring_normal_2_0.2"]
    data = {n: collop.load_dataset(a.data / n) for n in names}
    blob = data["normal_-2_0"]
    print(f"{blob.name}: {blob.frames.shape[0]} frames on {blob.grid}, dt = {blob.dt:.4f} / omega_p")

    # 2. Dynamic-shielding theory from the PIC parameters of the published runs.
    theory = collop.theory(blob, "dynamic", ppc=4, dx_over_debye=1, shape_order=1, vth_c=0.01)
    print(theory.report)

    # 3. The reference tensor schedule (1900 epochs of Adam on both datasets).
    config = REPO / "configs" / "reference-tensor.toml"
    # (its data folders, relative to configs/, pointed at --data)
    text = config.read_text().replace("../../shared/data/carvalho2026", a.data.resolve().as_posix())
    local = Path(tempfile.mkdtemp(prefix="collop-config-")) / config.name
    local.write_text(text)
    run = collop.train(local, out, progress=True)
    print(f"\ntrained {run.outcome['epochs']} epochs in {run.outcome['seconds']:.1f} s into {run.path}")

    # 4. Rollouts over the reference's test window (90 dump steps).
    print(f"{'dataset':<20} {'model':<16} {'MAE':>11} {'l1 (90)':>11}")
    for name, ds in data.items():
        for label, model in [("learned tensor", run.model), ("dynamic theory", theory), ("frozen", collop.frozen())]:
            r = collop.rollout(model, ds, steps=90)
            print(f"{name:<20} {label:<16} {r.metrics['mae']:>11.4e} {r.metrics['l1']:>11.5f}")

    # 5. Radial profiles against theory (with matplotlib, if installed).
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no picture")
        return 0
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for label, model in [("learned", run.model), ("dynamic theory", theory)]:
        prof = model.radial_profiles(n_bins=20)
        for ax, key in zip(axes, ["A_par", "D_par", "D_perp"]):
            ax.plot(prof["speed"], prof[key][0], marker="o" if label == "learned" else None, label=label)
            ax.set_xlabel("|v| / v_th")
            ax.set_title(key)
    axes[0].legend()
    picture = out / "radial.png"
    fig.tight_layout()
    fig.savefig(picture, dpi=100)
    print(f"wrote {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
