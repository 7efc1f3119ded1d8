#!/usr/bin/env bash
# Data-parallel training over MPI: builds collop with the feature `mpi` and
# trains one schedule on 1, 2 and 3 ranks under mpirun (the published data
# plus a synthetic third folder; skipped with a message without the data),
# checking that the parameters agree within round-off and that a run
# resumes under another rank count (crates/cli/tests/mpi.rs). Installs
# OpenMPI and libclang with apt-get when they are missing. About two
# minutes on two cores once built.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mpirun >/dev/null 2>&1 || ! command -v mpicc >/dev/null 2>&1 \
    || ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
    echo "mpi-test: installing OpenMPI and libclang (apt-get)"
    apt-get update -qq
    apt-get install -y -qq libopenmpi-dev openmpi-bin libclang-dev >/dev/null
fi
start=$(date +%s)
cargo test -j 1 -p collop-cli --features mpi --test mpi -- --ignored --nocapture
echo "mpi-test: built and passed in $(( $(date +%s) - start )) s"
