#!/usr/bin/env bash
# The time-dependent study (docs/time-dependent-study.md): the PIC runs of
# the shipped time-varying decks, the comparison of every model on each, and
# the sweeps of the time regularisation and of the number of training
# sub-populations. Every table and figure of the document is a file these
# commands write.
#
#   scripts/time-dependent-study.sh [OUT] [STEP...]
#
# OUT (default runs/time-dependent) receives one folder per step; STEP is
# any of pic, compare, sweep-reg, sweep-subpops (default: all, in order).
# Steps already done are resumed (collop's --resume), so an interrupted
# study continues where it stopped. COLLOP names the binary (default: the
# release build of this checkout, built if missing). The wall time of each
# step goes to OUT/times.txt.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-runs/time-dependent}
shift || true
steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(pic compare sweep-reg sweep-subpops)
collop=${COLLOP:-$root/target/release/collop}
if [[ ! -x $collop ]]; then
    cargo build --release -p collop-cli --manifest-path "$root/Cargo.toml"
fi
mkdir -p "$out"
decks=$root/crates/pic/decks/time-varying

# Times one command into OUT/times.txt.
timed() {
    local name=$1
    shift
    local start
    start=$(date +%s)
    "$@"
    echo "$name $(($(date +%s) - start)) s" >>"$out/times.txt"
}

# Resume a step whose output folder exists.
resume_flag() { [[ -e $1 ]] && echo --resume || true; }

waterbag_test=(heldout_blob_0_-1 heldout_ring_1.5_2_lower)
weibel_test=(heldout_blob_1_0 heldout_ring_1.3_1.7)
# Constant and time-dependent learned models: the number of time nodes is
# the model (tensor, 2, 25 nodes, one per dump), the par/perp profiles with
# 25 nodes, and the par/perp network with time as an input.
waterbag_models=tensor,tensor-t2,tensor-t25,tensor-tdump,par-perp,par-perp-t25,parperp-mlp-t
# The Weibel operator is anisotropic: no par/perp models.
weibel_models=tensor,tensor-t2,tensor-t25,tensor-tdump

for step in "${steps[@]}"; do
    case $step in
    pic)
        for s in sim1 sim2 weibel; do
            if [[ -e $out/$s/run.json ]]; then continue; fi
            timed "pic-$s" "$collop" pic "$decks/$s.toml" -o "$out/$s" $(resume_flag "$out/$s")
        done
        ;;
    compare)
        for s in sim1 sim2; do
            timed "compare-$s" "$collop" compare "$out/$s" -o "$out/$s-compare" \
                --test "${waterbag_test[@]}" --models "$waterbag_models" --lambda2 1e-5 \
                --lags 1,2,5,10 --windows 10,25 --overlapping $(resume_flag "$out/$s-compare/models")
        done
        timed compare-weibel "$collop" compare "$out/weibel" -o "$out/weibel-compare" \
            --test "${weibel_test[@]}" --models "$weibel_models" --lambda2 1e-5 \
            --lags 1,2,5,10 --windows 10,25 --overlapping $(resume_flag "$out/weibel-compare/models")
        ;;
    sweep-reg)
        # The time regularisation of the per-dump tensor (the model with
        # the most time nodes, where it matters most): second differences
        # at 0, 1e-8, 1e-5 (the comparison's), 1e-4, first differences at
        # 1e-4 and 1e-2.
        timed sweep-reg-sim1 "$collop" sweep "$out/sim1" -o "$out/sim1-sweep-reg" \
            --test "${waterbag_test[@]}" --models tensor-tdump \
            --lambda1 0,0,0,0,1e-4,1e-2 --lambda2 1e-4,1e-5,1e-8,0,0,0 \
            $(resume_flag "$out/sim1-sweep-reg/sweep.json")
        ;;
    sweep-subpops)
        # 1 to 8 training sub-populations, 8 distinct subsets per size
        # (all 8 single ones, the whole pool once), at a quarter of the
        # reference schedule's epochs, for the par/perp profiles with 25
        # time nodes (the free tensor with 25 nodes is unstable in long
        # rollouts whatever it is trained on: section 1 of the document).
        timed sweep-subpops-sim1 "$collop" sweep "$out/sim1" -o "$out/sim1-sweep-subpops" \
            --test "${waterbag_test[@]}" --pool blob_-1_0 blob_0_1 blob_1_0 blob_0.71_0.71 \
            blob_-0.71_-0.71 core_0_0.5 ring_1.5_2_upper rest \
            --models par-perp-t25 --lambda2 1e-5 --train-counts 1,2,4,8 --seeds 8 --epochs-scale 0.25 \
            $(resume_flag "$out/sim1-sweep-subpops/sweep.json")
        ;;
    *)
        echo "unknown step $step: use pic, compare, sweep-reg or sweep-subpops" >&2
        exit 2
        ;;
    esac
done
