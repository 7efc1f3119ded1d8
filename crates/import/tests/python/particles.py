"""Particles sampled from known distributions, shared by the generators of
the import tests: a thermal species (per-component spread u_th in c) of N
particles with ids, weights, and a random walk of the momenta from dump to
dump; particles are shuffled at every dump, so that only ids follow them.

Also writes what the import must produce, computed with numpy alone:
`expected/<population>/NNNNNN.npy` (numpy.histogram2d of the same
velocities) and `truth.npz` (every particle's velocity in v_th at every
dump, sorted by id) for the track files.
"""
import os

import numpy as np

U_TH = 0.05  # v_th / c of the species
BINS = 21
V_MAX = 4.0


def sample(n=20000, dumps=5, seed=7):
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(1, 3 * n, 3, dtype=np.uint64))[:n]
    w = rng.uniform(0.5, 1.5, n)
    u = rng.normal(0.0, U_TH, (n, 3))
    out = []
    for k in range(dumps):
        if k > 0:
            u = u + rng.normal(0.0, 0.1 * U_TH, (n, 3))
        perm = rng.permutation(n)
        out.append(dict(id=ids[perm], w=w[perm], u=u[perm].copy()))
    return out


def measured_vth(d0):
    w = d0["w"]
    mx = np.sum(w * d0["u"][:, 0]) / np.sum(w)
    return np.sqrt(np.sum(w * (d0["u"][:, 0] - mx) ** 2) / np.sum(w)), mx, np.sum(w * d0["u"][:, 1]) / np.sum(w)


def write_expected(out, dumps, regions):
    """regions: {name: (centre, radius)} blobs in v_th, exclusive in order; plus 'background' (all)."""
    vth, _, _ = measured_vth(dumps[0])
    w_ref = np.mean(dumps[0]["w"])
    edges = np.linspace(-V_MAX, V_MAX, BINS + 1)
    v0 = dumps[0]["u"][:, :2] / vth
    taken = np.zeros(len(v0), bool)
    members = {}
    for name, (c, r) in regions.items():
        inside = np.hypot(v0[:, 0] - c[0], v0[:, 1] - c[1]) < r
        members[name] = set(dumps[0]["id"][inside & ~taken].tolist())
        taken |= inside
    for k, d in enumerate(dumps):
        v = d["u"] / vth
        for name in list(regions) + ["background"]:
            if name == "background":
                sel = np.ones(len(v), bool)
            else:
                sel = np.isin(d["id"], np.fromiter(members[name], np.uint64))
            h, _, _ = np.histogram2d(v[sel, 0], v[sel, 1], bins=[edges, edges], weights=d["w"][sel] / w_ref)
            os.makedirs(os.path.join(out, "expected", name), exist_ok=True)
            np.save(os.path.join(out, "expected", name, "%06d.npy" % k), h)
    order = [np.argsort(d["id"]) for d in dumps]
    np.savez(
        os.path.join(out, "truth.npz"),
        ids=dumps[0]["id"][order[0]].astype(np.float64),
        vx=np.stack([d["u"][o, 0] / vth for d, o in zip(dumps, order)]),
        vy=np.stack([d["u"][o, 1] / vth for d, o in zip(dumps, order)]),
        vz=np.stack([d["u"][o, 2] / vth for d, o in zip(dumps, order)]),
        vth_c=np.array([vth]),
    )
