"""Smilei output written with h5py in the layouts Smilei writes and its
reader happi expects (SmileiPIC/Smilei: src/Diagnostic/DiagnosticTrack.cpp,
src/Params/OpenPMDparams.cpp, src/Diagnostic/DiagnosticParticleBinningBase.cpp;
happi/_Diagnostics/TrackParticles.py and ParticleBinning.py):

- TrackParticlesDisordered_electrons.h5: openPMD root attributes (basePath
  /data/%T/, iterationEncoding groupBased, particlesPath particles/), groups
  data/<timestep, 10 digits> with attributes time (1/omega_r), dt,
  timeUnitSI, and particles/electrons/{id (uint64), momentum/{x,y,z} (m_e c),
  weight, position/{x,y}}, the particles in another order at every dump;
- ParticleBinning0.h5: root attributes axis0 = "px min max size log
  edges_included []", axis1 = "py ...", deposited_quantity = weight,
  species, time_average; one dataset per dump named timestep%08d, shape
  (size0, size1) (axis 0 first).

usage: make_smilei.py OUT
"""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import particles  # noqa: E402

TIMESTEP = 0.05  # 1/omega_r
EVERY = 10
BINS = (40, 30)
RANGE = ((-0.2, 0.2), (-0.15, 0.15))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    dumps = particles.sample()
    with h5py.File(os.path.join(a.out, "TrackParticlesDisordered_electrons.h5"), "w") as f:
        for k, v in [("openPMD", b"1.0.0"), ("basePath", b"/data/%T/"), ("iterationEncoding", b"groupBased"),
                     ("iterationFormat", b"/data/%T/"), ("particlesPath", b"particles/"), ("software", b"Smilei"),
                     ("meshesPath", b"")]:
            f.attrs[k] = np.bytes_(v)
        f.attrs["openPMDextension"] = np.uint32(1)
        for k, d in enumerate(dumps):
            it = f.create_group("data/%010d" % (k * EVERY))
            it.attrs["time"] = k * EVERY * TIMESTEP
            it.attrs["dt"] = TIMESTEP
            it.attrs["timeUnitSI"] = 0.0
            sp = it.create_group("particles/electrons")
            sp["id"] = d["id"].astype(np.uint64)
            for c, axis in enumerate("xyz"):
                ds = sp.create_dataset("momentum/" + axis, data=d["u"][:, c])
                ds.attrs["unitSI"] = 2.73e-22  # the reference unit, not to be applied
            sp["weight"] = d["w"]
            sp["position/x"] = np.zeros(len(d["w"]))
            sp["position/y"] = np.zeros(len(d["w"]))
    with h5py.File(os.path.join(a.out, "ParticleBinning0.h5"), "w") as f:
        for i, (name, r, n) in enumerate(zip(["px", "py"], RANGE, BINS)):
            f.attrs["axis%d" % i] = np.bytes_(("%s %r %r %d 0 0 []" % (name, r[0], r[1], n)).encode())
        f.attrs["deposited_quantity"] = np.bytes_(b"weight")
        f.attrs["species"] = np.bytes_(b"0 ")
        f.attrs["time_average"] = np.int32(1)
        for k, d in enumerate(dumps):
            h, _, _ = np.histogram2d(d["u"][:, 0], d["u"][:, 1], bins=BINS, range=RANGE, weights=d["w"])
            os.makedirs(os.path.join(a.out, "expected_grid"), exist_ok=True)
            np.save(os.path.join(a.out, "expected_grid", "%06d.npy" % k), np.abs(h))
            f["timestep%08d" % (k * EVERY)] = h
    particles.write_expected(a.out, dumps, {"blob": ((-1.0, 0.0), 0.8), "ring": ((0.0, 0.0), 10.0)})


if __name__ == "__main__":
    main()
