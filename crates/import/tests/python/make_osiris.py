"""OSIRIS output written with h5py in the layouts OSIRIS' readers expect
(osirispy on PyPI: `raw`, `track`, `grid`; pyVisOS `osh5io`): the particles
of particles.py as

- RAW dumps MS/RAW/electrons/RAW-electrons-NNNNNN.h5: root datasets x1, x2,
  p1, p2, p3, q, ene (float32 as OSIRIS writes them; the momenta are
  rounded to float32 before the expected histograms are made, so the
  comparison stays exact), tag (n, 2) int32 = (node, number); root attributes
  NAME, TYPE = particles, TIME = [t], ITER = [it], QUANTS, LABELS, UNITS;
  the cell size in /SIMULATION (newer layout, --layout new) or at the root
  (older layout, --layout old);
- a TRACKS file MS/TRACKS/electrons-tracks.h5 (TYPE tracks-2): QUANTS =
  [n, t, q, ene, x1, x2, p1, p2, p3] (data holds QUANTS[1:]), NTRACKS, the
  dataset data (rows x 8, gzip-chunked) and itermap rows [track, points,
  start] written in two flushes (dumps 0-2, then 3-4) as OSIRIS appends them;
- phase spaces MS/PHA/p1p2/electrons/p1p2-electrons-NNNNNN.h5: the dataset
  p1p2 of shape (n2, n1) (charge density: q-weighted counts), AXIS/AXIS1,
  AXIS/AXIS2 = [min, max] with NAME and UNITS attributes, root TIME.

usage: make_osiris.py OUT [--layout new|old]
"""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import particles  # noqa: E402

DT = 0.5
EVERY = 10
PHA_BINS = (40, 30)  # n1 (p1), n2 (p2)
PHA_RANGE = ((-0.2, 0.2), (-0.15, 0.15))


def strings(values):
    return np.array([v.encode() for v in values], dtype="S%d" % max(len(v) for v in values))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layout", default="new")
    a = ap.parse_args()
    dumps = particles.sample()
    for d in dumps:
        d["u"] = d["u"].astype(np.float32).astype(np.float64)
        d["w"] = d["w"].astype(np.float32).astype(np.float64)
    ms = os.path.join(a.out, "MS")
    raw = os.path.join(ms, "RAW", "electrons")
    pha = os.path.join(ms, "PHA", "p1p2", "electrons")
    os.makedirs(raw, exist_ok=True)
    os.makedirs(pha, exist_ok=True)
    os.makedirs(os.path.join(ms, "TRACKS"), exist_ok=True)
    quants = ["x1", "x2", "p1", "p2", "p3", "q", "ene"]
    for k, d in enumerate(dumps):
        n = len(d["w"])
        q = -d["w"]
        with h5py.File(os.path.join(raw, "RAW-electrons-%06d.h5" % (k * EVERY)), "w") as f:
            f.attrs["NAME"] = strings(["electrons"])
            f.attrs["TYPE"] = strings(["particles"])
            f.attrs["TIME"] = np.array([k * DT])
            f.attrs["ITER"] = np.array([k * EVERY], dtype=np.int32)
            f.attrs["TIME UNITS"] = strings([r"1 / \omega_p"])
            f.attrs["QUANTS"] = strings(quants + ["tag"])
            f.attrs["LABELS"] = strings(quants + ["tag"])
            f.attrs["UNITS"] = strings(["c / \\omega_p"] * 2 + ["m_e c"] * 3 + ["e", "m_e c^2"] + [""])
            sim = f.create_group("SIMULATION") if a.layout == "new" else f
            sim.attrs["NX"] = np.array([64, 48], dtype=np.int32)
            sim.attrs["XMIN"] = np.array([0.0, 0.0])
            sim.attrs["XMAX"] = np.array([3.2, 2.4])
            sim.attrs["DT"] = np.array([DT / EVERY])
            f["x1"] = np.zeros(n)
            f["x2"] = np.zeros(n)
            for c, name in enumerate(["p1", "p2", "p3"]):
                f[name] = d["u"][:, c].astype(np.float32)
            f["q"] = q.astype(np.float32)
            f["ene"] = (np.sqrt(1.0 + np.sum(d["u"] ** 2, axis=1)) - 1.0).astype(np.float32)
            f["tag"] = np.stack([np.zeros(n, np.int32), d["id"].astype(np.int32)], axis=1)
        h, _, _ = np.histogram2d(d["u"][:, 0], d["u"][:, 1], bins=PHA_BINS, range=PHA_RANGE, weights=q)
        os.makedirs(os.path.join(a.out, "expected_grid"), exist_ok=True)
        np.save(os.path.join(a.out, "expected_grid", "%06d.npy" % k), np.abs(h))
        with h5py.File(os.path.join(pha, "p1p2-electrons-%06d.h5" % (k * EVERY)), "w") as f:
            f.attrs["NAME"] = strings(["p1p2"])
            f.attrs["TYPE"] = strings(["grid"])
            f.attrs["TIME"] = np.array([k * DT])
            f.attrs["ITER"] = np.array([k * EVERY], dtype=np.int32)
            f.attrs["UNITS"] = strings(["a.u."])
            f["p1p2"] = h.T  # (n2, n1): the last HDF5 axis is p1
            for i, (name, r) in enumerate(zip(["p1", "p2"], PHA_RANGE)):
                ax = f.create_dataset("AXIS/AXIS%d" % (i + 1), data=np.array(r))
                ax.attrs["NAME"] = strings([name])
                ax.attrs["UNITS"] = strings(["m_e c"])
                ax.attrs["LONG_NAME"] = strings([name])
                ax.attrs["TYPE"] = strings(["linear"])
            if a.layout == "new":
                f.create_group("SIMULATION").attrs["DT"] = np.array([DT / EVERY])
    # TRACKS: every particle, two flushes, rows of a track consecutive within a flush.
    tquants = ["n", "t", "q", "ene", "x1", "x2", "p1", "p2", "p3"]
    rows, itermap = [], []
    start = 0
    for flush in ([0, 1, 2], [3, 4]):
        # Per dump, the particles sorted by id; then track-major rows: the
        # points of one track are consecutive within a flush.
        sorted_dumps = []
        for k in flush:
            d = dumps[k]
            o = np.argsort(d["id"])
            u = d["u"][o]
            ene = np.sqrt(1 + np.sum(u * u, axis=1)) - 1
            zeros = np.zeros(len(o))
            sorted_dumps.append(np.stack([np.full(len(o), k * DT), -d["w"][o], ene, zeros, zeros,
                                          u[:, 0], u[:, 1], u[:, 2]], axis=1))
        block = np.stack(sorted_dumps, axis=1).reshape(-1, 8)  # (tracks * len(flush), 8)
        ids = np.sort(dumps[flush[0]]["id"])
        n = len(ids)
        itermap.append(np.stack([ids.astype(np.int64), np.full(n, len(flush)),
                                 start + len(flush) * np.arange(n)], axis=1))
        rows.append(block)
        start += len(block)
    rows = np.concatenate(rows)
    itermap = np.concatenate(itermap)
    with h5py.File(os.path.join(ms, "TRACKS", "electrons-tracks.h5"), "w") as f:
        f.attrs["TYPE"] = strings(["tracks-2"])
        f.attrs["NAME"] = strings(["electrons"])
        f.attrs["QUANTS"] = strings(tquants)
        f.attrs["LABELS"] = strings(tquants)
        f.attrs["UNITS"] = strings([""] * len(tquants))
        f.attrs["NTRACKS"] = np.array([len(dumps[0]["id"])], dtype=np.int32)
        f.create_dataset("data", data=rows, chunks=(4096, 8), compression="gzip")
        f.create_dataset("itermap", data=itermap.astype(np.int32))
    particles.write_expected(a.out, dumps, {"blob": ((-1.0, 0.0), 0.8), "ring": ((0.0, 0.0), 10.0)})


if __name__ == "__main__":
    main()
