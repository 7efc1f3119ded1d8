"""Importing particles: `collop import` against h5py + numpy on the same file.

Writes a file-based openPMD series with the openPMD-api (N particles per
dump, thermal, weighted, with ids; 3 dumps), then times

- numpy: per dump, h5py reads momentum/x, momentum/y, weighting and mass,
  converts to u / v_th (v_th measured at the first dump) and bins with
  numpy.histogram2d (51 x 51 over [-5, 5]^2 v_th, weights w / <w>);
- collop: `collop import DIR --omega-p W --bins 51 --v-max 5` (the whole
  species: the same work, plus writing the frames and args.yaml, and
  starting the process),

and prints particles per second of each (best of --repeat runs).

usage: python scripts/import-bench.py [--collop target/release/collop] [--particles 2000000] [--repeat 3]
needs: numpy, h5py, openpmd-api
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import time

import h5py
import numpy as np
import openpmd_api as io

ME, C, OMEGA_P = 9.1093837015e-31, 299792458.0, 1.0e13


def write_series(path, n, dumps):
    rng = np.random.default_rng(1)
    series = io.Series(os.path.join(path, "data_%T.h5"), io.Access.create)
    ids = np.arange(n, dtype=np.uint64)
    w = rng.uniform(0.5, 1.5, n)
    for k in range(dumps):
        it = series.iterations[k * 10]
        it.time, it.dt, it.time_unit_SI = k * 0.5, 0.05, 1.0 / OMEGA_P
        e = it.particles["electrons"]
        d = io.Dataset(np.dtype("float64"), [n])
        for axis in "xyz":
            e["momentum"][axis].reset_dataset(d)
            e["momentum"][axis].store_chunk(rng.normal(0, 0.05, n) * ME * C)
            e["momentum"][axis].unit_SI = 1.0
        s = io.Record_Component.SCALAR
        e["weighting"][s].reset_dataset(d)
        e["weighting"][s].store_chunk(w)
        e["mass"][s].make_constant(ME)
        e["mass"][s].reset_dataset(d)
        e["id"][s].reset_dataset(io.Dataset(np.dtype("uint64"), [n]))
        e["id"][s].store_chunk(ids)
        for axis in "xy":
            e["position"][axis].reset_dataset(d)
            e["position"][axis].store_chunk(np.zeros(n))
            e["positionOffset"][axis].make_constant(0.0)
            e["positionOffset"][axis].reset_dataset(d)
        series.flush()
        it.close()
    series.close()


def numpy_import(path):
    files = sorted(f for f in os.listdir(path) if f.endswith(".h5"))
    files.sort(key=lambda f: int(f[5:-3]))
    vth = wref = None
    out = []
    for f in files:
        with h5py.File(os.path.join(path, f), "r") as h:
            it = list(h["data"].keys())[0]
            e = h["data"][it]["particles"]["electrons"]
            m = e["mass"].attrs["value"] * e["mass"].attrs["unitSI"]
            ux = e["momentum/x"][...] * e["momentum/x"].attrs["unitSI"] / (m * C)
            uy = e["momentum/y"][...] * e["momentum/y"].attrs["unitSI"] / (m * C)
            w = e["weighting"][...]
        if vth is None:
            mx = np.sum(w * ux) / np.sum(w)
            vth = np.sqrt(np.sum(w * (ux - mx) ** 2) / np.sum(w))
            wref = np.mean(w)
        h2, _, _ = np.histogram2d(ux / vth, uy / vth, bins=51, range=[[-5, 5], [-5, 5]], weights=w / wref)
        out.append(h2)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collop", default="target/release/collop")
    ap.add_argument("--particles", type=int, default=2_000_000)
    ap.add_argument("--dumps", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    try:
        series = os.path.join(tmp, "series")
        os.makedirs(series)
        write_series(series, a.particles, a.dumps)
        total = a.particles * a.dumps
        t_np, t_collop = [], []
        for r in range(a.repeat):
            t0 = time.perf_counter()
            numpy_import(series)
            t_np.append(time.perf_counter() - t0)
            out = os.path.join(tmp, "out%d" % r)
            t0 = time.perf_counter()
            subprocess.run([a.collop, "import", series, "--omega-p", str(OMEGA_P), "--bins", "51", "--v-max", "5",
                            "-o", out], check=True, stdout=subprocess.DEVNULL)
            t_collop.append(time.perf_counter() - t0)
        print("particles per dump %d, dumps %d" % (a.particles, a.dumps))
        print("h5py + numpy.histogram2d: %.3f s, %.3e particles/s" % (min(t_np), total / min(t_np)))
        print("collop import:            %.3f s, %.3e particles/s" % (min(t_collop), total / min(t_collop)))
        print("ratio (numpy time / collop time): %.2f" % (min(t_np) / min(t_collop)))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
