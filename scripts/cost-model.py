"""The cost model of data-parallel training (docs/cluster.md, section 4).

One gradient evaluation on N ranks (one rank per node, every core of the
node used by the simulator) takes

    T(N) = T_c * ceil(W / N) / W + T_sum(N, S)
    T_c  = t_ws * W * U / cores              compute of the whole batch on one node
    T_sum(N, S) = (N - 1 + ceil(log2 N)) * (alpha + 8 S / B)

(the ordered sum of collop_learn::mpi: the gradients gathered on rank 0
in rank order, then a binomial broadcast). t_ws is the compute of one
window over one unrolled step on one core, measured from a one-thread
training (`collop train` prints its time; divide by the window-steps of
the schedule), W the training windows of an epoch, U their mean unroll,
S the gradient's length in doubles (`model_parameters` in run.json, plus
2 for the loss and the failure flag). Prints the speed-up T(1) / T(N)
for N = 1 ... 64 and the first N at which the sum costs as much as the
compute of a rank (past it, more nodes slow the training down).

usage: python3 scripts/cost-model.py [--us-per-window-step 21.9] [--cores 32]
           [--alpha-us 2] [--bandwidth-gbs 10] [--windows W --unroll U --size S]

Without --windows it prints the two cases of the document: the published
data (2 folders, 180 windows, mean unroll 3.9 over the reference schedule)
and a 64-folder scan at unroll 10, for the model families of the document.
"""
import argparse
import math

FAMILIES = [
    ("fp-tensor", 13_007),
    ("parperp-mlp", 13_061),
    ("kernel k=3", 46_820),
    ("fp-tensor per-dump", 1_235_477),
]
NODES = [1, 2, 4, 8, 16, 32, 64]


def step_time(n, t_c, windows, size, alpha, bandwidth):
    compute = t_c * math.ceil(windows / n) / windows
    messages = (n - 1) + (math.ceil(math.log2(n)) if n > 1 else 0)
    return compute, messages * (alpha + 8.0 * size / bandwidth)


def table(title, windows, unroll, families, a):
    t_c = a.us_per_window_step * 1e-6 * windows * unroll / a.cores
    alpha, bandwidth = a.alpha_us * 1e-6, a.bandwidth_gbs * 1e9
    print(f"{title}: {windows} windows, mean unroll {unroll}: compute per evaluation on one "
          f"{a.cores}-core node T_c = {t_c * 1e3:.2f} ms\n")
    print("| model (S) | " + " | ".join(f"N={n}" for n in NODES) + " | stops near |")
    print("| --- | " + " | ".join("---" for _ in NODES) + " | --- |")
    for name, size in families:
        speedups = []
        for n in NODES:
            compute, comm = step_time(n, t_c, windows, size, alpha, bandwidth)
            speedups.append(t_c / (compute + comm))
        stop = next(n for n in range(2, 100_000)
                    if step_time(n, t_c, windows, size, alpha, bandwidth)[1]
                    >= step_time(n, t_c, windows, size, alpha, bandwidth)[0])
        print(f"| {name} ({size:,}) | " + " | ".join(f"{s:.1f}" for s in speedups) + f" | N = {stop} |")
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--us-per-window-step", type=float, default=21.9,
                   help="compute of one window over one unrolled step on one core, microseconds")
    p.add_argument("--cores", type=int, default=32, help="cores per node (one rank per node)")
    p.add_argument("--alpha-us", type=float, default=2.0, help="message latency, microseconds")
    p.add_argument("--bandwidth-gbs", type=float, default=10.0, help="network bandwidth, GB/s")
    p.add_argument("--windows", type=int, help="training windows of an epoch")
    p.add_argument("--unroll", type=float, help="mean unrolled steps of a window")
    p.add_argument("--size", type=int, help="gradient length in doubles")
    a = p.parse_args()
    given = [a.windows, a.unroll, a.size]
    if any(v is not None for v in given):
        if any(v is None for v in given):
            p.error("--windows, --unroll and --size go together")
        if a.windows < 1 or a.unroll <= 0 or a.size < 1:
            p.error("--windows, --unroll and --size must be positive")
        table("your case", a.windows, a.unroll, [("your model", a.size)], a)
        return
    table("published data: 2 folders", 180, 3.9, FAMILIES, a)
    table("scan: 64 folders", 5_760, 10, FAMILIES, a)


if __name__ == "__main__":
    main()
