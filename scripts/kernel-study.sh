#!/usr/bin/env bash
# The kernel study (docs/kernel-study.md): the integro-differential operator
# of arXiv 2601.13377 trained with kernel sizes 1-5 and forward, backward
# and centred outer differences, beside the Fokker-Planck baselines, on the
# published data, on Fokker-Planck synthetic data made like them (the noise
# floor), on the collision study's set 1 and on the relaxing waterbag of the
# time-dependent study; then the Kramers-Moyal moments of what was learned.
# Every table and figure of the document is a file these commands write.
#
#   scripts/kernel-study.sh [OUT] [STEP...]
#
# OUT (default runs/kernel-study) receives one folder per step; STEP is any
# of published, synthetic, moments, set1, waterbag (default: the first
# three, which take about an hour on 2 cores; set1 and waterbag each run a
# PIC simulation and take one to two hours). Steps are resumed where they
# stopped. COLLOP names the binary (default: the release build of this
# checkout, built if missing); DATA the published data (default:
# ../shared/data/carvalho2026 beside the checkout). Wall times go to
# OUT/times.txt.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-runs/kernel-study}
shift || true
steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(published synthetic moments)
collop=${COLLOP:-$root/target/release/collop}
data=${DATA:-$root/../shared/data/carvalho2026}
if [[ ! -x $collop ]]; then
    cargo build --release -p collop-cli --manifest-path "$root/Cargo.toml"
fi
mkdir -p "$out"

timed() {
    local name=$1
    shift
    local start
    start=$(date +%s)
    "$@"
    echo "$name $(($(date +%s) - start)) s" >>"$out/times.txt"
}

# Kernel sizes 1-5 with each outer difference, the kernel network at k = 2,
# and the Fokker-Planck baselines; three training seeds each.
kernels=$(for d in k b c; do for k in 1 2 3 4 5; do printf 'kernel-%s%s,' $d $k; done; done)
models=tensor,par-perp,${kernels}kernel-mlp-k2
# The noise floor needs the forward kernels only.
floor_models=tensor,kernel-k1,kernel-k2,kernel-k3,kernel-k4,kernel-k5
pops=(normal_-2_0 ring_normal_2_0.2)
other() { [[ $1 == "${pops[0]}" ]] && echo "${pops[1]}" || echo "${pops[0]}"; }

for step in "${steps[@]}"; do
    case $step in
    published)
        # Trained on one published sub-population, scored on the other.
        for test in "${pops[@]}"; do
            timed "published-$test" "$collop" sweep "$data" -o "$out/published-$test" --test "$test" \
                --models "$models" --repeats 3 --resume
        done
        ;;
    synthetic)
        # Fokker-Planck data like the published ones: the par/perp operator
        # learned from the blob (defined at every speed, unlike the free
        # tensor, which the blob leaves at zero where it never went), rolled
        # out from each sub-population's first frame, drawn as histograms of
        # 300,000 particles (the data's count).
        truth=$out/published-${pops[1]}/runs/par-perp-n1-s0-r0
        for p in "${pops[@]}"; do
            if [[ ! -e $out/synthetic/$p/f/args.yaml ]]; then
                rm -rf "$out/synthetic/$p/f"
                "$collop" synthesise "$truth" --like "$data/$p/f" -o "$out/synthetic/$p/f" --particles 300000 --seed 1
            fi
        done
        for test in "${pops[@]}"; do
            timed "synthetic-$test" "$collop" sweep "$out/synthetic" -o "$out/synthetic-$test" --test "$test" \
                --models "$floor_models" --repeats 3 --resume
        done
        ;;
    moments)
        # What the kernels learned from the blob, for each training seed:
        # on the PIC data and on the Fokker-Planck data made like them.
        cells=(--cell=-2,0 --cell=-1,0 --cell=0,0 --cell=1,1)
        for source in published synthetic; do
            for m in kernel-k2 kernel-k3 kernel-k5 kernel-b3 kernel-c3 tensor; do
                for r in 0 1 2; do
                    run=$out/$source-${pops[1]}/runs/$m-n1-s0-r$r
                    [[ -d $run ]] || continue
                    "$collop" moments "$run" --data "$data/${pops[0]}/f" -o "$out/moments/$source-$m-r$r" \
                        "${cells[@]}" --overwrite >/dev/null
                done
            done
        done
        # The table of the document: the term shares of each analysis, the
        # mean over the training seeds with their minimum and maximum.
        python3 - "$out/moments" >"$out/moments/table.md" <<'PY'
import json, pathlib, sys
groups = {}
for d in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    f = d / "moments.json"
    if f.is_file():
        name = d.name.rsplit("-r", 1)[0]
        groups.setdefault(name, []).append(json.loads(f.read_text())["slots"][0])
print("| analysis | seeds | cells | drift | diffusion | third | fourth | higher share, mean [min, max] over seeds | p90 |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name, slots in groups.items():
    n = len(slots)
    shares = [sum(s["term_shares"][k] for s in slots) / n for k in range(4)]
    h = [s["higher_share"][0] for s in slots]
    p90 = sum(s["higher_share"][2] for s in slots) / n
    print(f"| {name} | {n} | {slots[0]['cells']} | " + " | ".join(f"{x:.4f}" for x in shares)
          + f" | {sum(h) / n:.3e} [{min(h):.3e}, {max(h):.3e}] | {p90:.2e} |")
PY
        cat "$out/moments/table.md"
        ;;
    set1)
        # The collision study's set 1 has the published data's parameters
        # and their two sub-populations (the blob at (-2, 0) v_th, the ring
        # of radius 2): trained on the blob as above, scored on the ring and
        # on the two held-out sub-populations; two sub-steps per dump as in
        # the collision study. The kernel network is left to the published
        # data (the sweep takes about 70 minutes on 2 cores without it).
        [[ -e $out/s1/run.json ]] || timed pic-s1 "$collop" pic "$root/crates/pic/decks/study/s1-ppc4-dx1-o1.toml" -o "$out/s1"
        timed sweep-s1 "$collop" sweep "$out/s1" -o "$out/set1" --pool blob_-2_0 \
            --test ring_2 heldout_blob_0_-1.5 heldout_ring_1.5 \
            --substeps 2 --models "tensor,par-perp,${kernels%,}" --repeats 3 --resume
        ;;
    waterbag)
        # The relaxing waterbag of the time-dependent study, trained on its
        # eight training sub-populations, scored on the two held out. With
        # time nodes every dump step has its own matrix and the windows are
        # batched by start, so a 25-node kernel costs about ten times its
        # constant version per epoch. First every model at a fifth of the
        # reference schedule with three training seeds (equal cost); then
        # every model on the reference schedule with one training seed (the
        # 25-node kernels about ten minutes each on 2 cores), and the
        # constant models on it with three (their spread, 40 minutes).
        [[ -e $out/waterbag/run.json ]] ||
            timed pic-waterbag "$collop" pic "$root/crates/pic/decks/time-varying/sim1.toml" -o "$out/waterbag"
        # One sweep of the waterbag into OUT/NAME: NAME, models, options.
        waterbag_sweep() {
            local name=$1 models=$2
            shift 2
            timed "sweep-$name" "$collop" sweep "$out/waterbag" -o "$out/$name" \
                --test heldout_blob_0_-1 heldout_ring_1.5_2_lower --models "$models" --resume "$@"
        }
        waterbag_sweep waterbag-kernels \
            tensor-t25,kernel-k2-t25,kernel-k3-t25,kernel-b3-t25,kernel-c3-t25,kernel-k2,par-perp-t25,tensor,par-perp,kernel-k3,kernel-b3,kernel-c3,kernel-k1,kernel-b2,kernel-c2 \
            --repeats 3 --epochs-scale 0.2
        waterbag_sweep waterbag-full \
            kernel-k2,kernel-k3,kernel-b3,kernel-c3,par-perp,tensor,kernel-k1,kernel-b2,kernel-c2,kernel-k2-t25,kernel-k3-t25,kernel-c3-t25,kernel-b3-t25 \
            --repeats 1
        waterbag_sweep waterbag-full-seeds \
            kernel-k2,kernel-k3,kernel-b3,kernel-c3,kernel-c2,kernel-k1,kernel-b2,par-perp,tensor \
            --repeats 3
        # The Kramers-Moyal reading of every time slot, over the cells the
        # training sub-populations populate: each sweep's time-noded models,
        # every training seed.
        train=()
        for p in blob_-1_0 blob_0_1 blob_1_0 blob_0.71_0.71 blob_-0.71_-0.71 core_0_0.5 ring_1.5_2_upper rest; do
            train+=("$out/waterbag/$p/f")
        done
        for sweep in waterbag-kernels waterbag-full; do
            moments=$out/moments-${sweep/-kernels/}
            for m in tensor-t25 kernel-k2-t25 kernel-k3-t25 kernel-b3-t25 kernel-c3-t25; do
                for run in "$out/$sweep/runs/$m-n8-s0" "$out/$sweep/runs/$m-n8-s0-r"[0-9]; do
                    [[ -d $run ]] || continue
                    "$collop" moments "$run" --data "${train[@]}" -o "$moments/$m${run##*-n8-s0}" \
                        --cell=0,0 --cell=1,0 --cell=0,1.5 --overwrite >/dev/null
                done
            done
            # The table of the document: the higher terms' share of the
            # operator at five times (mean [min, max] over the training
            # seeds), and the drift's share at the first and last dump step.
            python3 - "$moments" >"$moments/table.md" <<'PY'
import csv, pathlib, sys
groups = {}
for d in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    f = d / "summary.csv"
    if f.is_file():
        rows = {int(r["slot"]): r for r in csv.DictReader(f.open())}
        groups.setdefault(d.name.rsplit("-r", 1)[0], []).append(rows)
slots = sorted(next(iter(groups.values()))[0])
picks = [slots[round(i * (len(slots) - 1) / 4)] for i in range(5)]
print("| model | seeds | " + " | ".join(f"higher share, slot {s}" for s in picks)
      + f" | drift share, slot {picks[0]} | drift share, slot {picks[-1]} |")
print("| --- | --- |" + " --- |" * (len(picks) + 2))
for name, runs in groups.items():
    cells = []
    for s in picks:
        h = [float(r[s]["higher_mean"]) for r in runs]
        cells.append(f"{sum(h) / len(h):.2e} [{min(h):.2e}, {max(h):.2e}]")
    for s in (picks[0], picks[-1]):
        a = [float(r[s]["share_drift"]) for r in runs]
        cells.append(f"{sum(a) / len(a):.3f}")
    print(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
PY
            cat "$moments/table.md"
        done
        ;;
    *)
        echo "unknown step $step: use published, synthetic, moments, set1 or waterbag" >&2
        exit 2
        ;;
    esac
done
