"""openPMD test series written by the official openPMD-api (as WarpX,
PIConGPU and FBPIC write them): a thermal electron species with ids,
variable weights and a constant mass, momenta stored in m_e c with
unitSI = m_e c.

usage: make_openpmd.py OUT [--encoding file|group] [--macro-weighted] [--no-ids]

- file: OUT/series/data_%T.h5 (WarpX, FBPIC), momenta per real particle
  (macroWeighted = 0, weightingPower = 1, as WarpX writes them);
- group: OUT/series/data.h5 with every iteration in it (PIConGPU writes
  groupBased too), with --macro-weighted momenta of the macro-particle
  (macroWeighted = 1, weightingPower = 1, PIConGPU's convention).
Times: iteration * DT with timeUnitSI = 1 / OMEGA_P, so that the import
given --omega-p OMEGA_P gets dumps DT apart in 1/omega_p.
"""
import argparse
import os
import sys

import numpy as np
import openpmd_api as io

sys.path.insert(0, os.path.dirname(__file__))
import particles  # noqa: E402

ME = 9.1093837015e-31
C = 299792458.0
QE = 1.602176634e-19
OMEGA_P = 5.0e12
DT = 0.5  # between dumps, 1/omega_p
EVERY = 10  # iterations between dumps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--encoding", default="file")
    ap.add_argument("--macro-weighted", action="store_true")
    ap.add_argument("--no-ids", action="store_true")
    a = ap.parse_args()
    dumps = particles.sample()
    os.makedirs(os.path.join(a.out, "series"), exist_ok=True)
    name = "data_%T.h5" if a.encoding == "file" else "data.h5"
    series = io.Series(os.path.join(a.out, "series", name), io.Access.create)
    if a.encoding != "file":
        series.iteration_encoding = io.Iteration_Encoding.group_based
    scalar = io.Record_Component.SCALAR
    for k, d in enumerate(dumps):
        it = series.iterations[k * EVERY]
        it.time = k * DT * OMEGA_P  # in units of timeUnitSI
        it.dt = DT / EVERY * OMEGA_P
        it.time_unit_SI = 1.0 / OMEGA_P**2
        e = it.particles["electrons"]
        n = len(d["w"])
        f64 = io.Dataset(np.dtype("float64"), [n])
        mom = e["momentum"]
        mom.unit_dimension = {io.Unit_Dimension.L: 1, io.Unit_Dimension.M: 1, io.Unit_Dimension.T: -1}
        scale = d["w"] if a.macro_weighted else np.ones(n)
        for c, axis in enumerate("xyz"):
            mom[axis].reset_dataset(f64)
            mom[axis].store_chunk(np.ascontiguousarray(d["u"][:, c] * scale))
            mom[axis].unit_SI = ME * C
        mom.set_attribute("macroWeighted", np.uint32(1 if a.macro_weighted else 0))
        mom.set_attribute("weightingPower", 1.0)
        pos = e["position"]
        pos.unit_dimension = {io.Unit_Dimension.L: 1}
        off = e["positionOffset"]
        off.unit_dimension = {io.Unit_Dimension.L: 1}
        for axis in "xy":
            pos[axis].reset_dataset(f64)
            pos[axis].store_chunk(np.zeros(n))
            pos[axis].unit_SI = 1.0
            off[axis].make_constant(0.0)
            off[axis].reset_dataset(f64)
            off[axis].unit_SI = 1.0
        e["weighting"][scalar].reset_dataset(f64)
        e["weighting"][scalar].store_chunk(np.ascontiguousarray(d["w"]))
        e["mass"][scalar].make_constant(ME)
        e["mass"][scalar].reset_dataset(f64)
        e["mass"].unit_dimension = {io.Unit_Dimension.M: 1}
        e["charge"][scalar].make_constant(-QE)
        e["charge"][scalar].reset_dataset(f64)
        e.set_attribute("particleShape", 2.0)
        # A mesh, for the cell size: gridSpacing (m) = 0.3 and 0.2 c / omega_p.
        rho = it.meshes["rho"]
        rho.grid_spacing = [0.3 * C / OMEGA_P, 0.2 * C / OMEGA_P]
        rho.grid_global_offset = [0.0, 0.0]
        rho.grid_unit_SI = 1.0
        rho.axis_labels = ["x", "y"]
        rho[io.Mesh_Record_Component.SCALAR].reset_dataset(io.Dataset(np.dtype("float64"), [4, 4]))
        rho[io.Mesh_Record_Component.SCALAR].store_chunk(np.zeros((4, 4)))
        if not a.no_ids:
            e["id"][scalar].reset_dataset(io.Dataset(np.dtype("uint64"), [n]))
            e["id"][scalar].store_chunk(np.ascontiguousarray(d["id"]))
        series.flush()
        it.close()
    series.close()
    particles.write_expected(a.out, dumps, {"blob": ((-1.0, 0.0), 0.8), "ring": ((0.0, 0.0), 10.0)})


if __name__ == "__main__":
    main()
