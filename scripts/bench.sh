#!/usr/bin/env bash
# `make bench`: a benchmark, not a test. Builds the functions' release binaries and the hello-world
# baseline, starts a local AWS endpoint of its own (torn down however the run ends), runs the
# measurements (infra/local/runner/src/bench.rs and coldstart/) and writes the report to
# docs/performance.md with the machine and the date.
#
#   BENCH_RUNS       cold starts per binary (default 5)
#   BENCH_PEAK       the December peak as ORDERS:REPLIES (default 3000:1000; 0:0 skips it)
#   BENCH_PEAK_AWS   1: the peak's AWS requests counted through a proxy and the local endpoint's
#                    own pace probed (what bounds "every customer asked"); slows the peak's times
#   BENCH_PEAK_ONLY  1: only the December peak (no release builds), its section of the report
#                    replaced and the rest kept
#   BENCH_COLD       0: no release builds and no cold starts (calls per path and the peak); the
#                    report keeps the last measured cold starts
#   BENCH_YEAR       rated orders in "reports at a year of data" (default 100000; 0 skips it)
#   BENCH_YEAR_ONLY  1: only "reports at a year of data" (no release builds), its section of the
#                    report replaced and the rest kept
set -euo pipefail
cd "$(dirname "$0")/.."
export OTKLIK_STATE_DIR=.local/bench
export OTKLIK_SKIP_PROVISION=1
trap 'scripts/local-down.sh >/dev/null' EXIT
scripts/local-down.sh >/dev/null
target=${CARGO_TARGET_DIR:-target}

if [ "${BENCH_YEAR_ONLY:-0}" = 1 ]; then
  cargo build --quiet --locked -p otklik-local-runner --bin otklik-local
  scripts/local-up.sh --endpoint-only >/dev/null
  set -a; . "$OTKLIK_STATE_DIR/stack.env"; set +a
  # Not exec: the trap must still tear the endpoint down.
  "$target"/debug/otklik-local bench --out docs/performance.md --year-only \
    ${BENCH_YEAR:+--year "$BENCH_YEAR"}
  exit
fi

if [ "${BENCH_COLD:-1}" = 0 ]; then
  # No release builds, no cold starts: the calls per path and the December peak; the report keeps
  # the last measured cold starts.
  cargo build --quiet --locked -p otklik-local-runner --bin otklik-local
  scripts/local-up.sh --endpoint-only >/dev/null
  set -a; . "$OTKLIK_STATE_DIR/stack.env"; set +a
  "$target"/debug/otklik-local bench --out docs/performance.md --keep-cold \
    ${BENCH_PEAK:+--peak "$BENCH_PEAK"} ${BENCH_PEAK_AWS:+--peak-aws} ${BENCH_YEAR:+--year "$BENCH_YEAR"}
  exit
fi

if [ "${BENCH_PEAK_ONLY:-0}" = 1 ]; then
  # shellcheck disable=SC2086  # OTKLIK_BUILD_SCOPE: as in local-up.sh
  cargo build --quiet --locked ${OTKLIK_BUILD_SCOPE:--p otklik-local-runner --bin otklik-local}
  scripts/local-up.sh --endpoint-only >/dev/null
  set -a; . "$OTKLIK_STATE_DIR/stack.env"; set +a
  # Not exec: the trap must still tear the endpoint down.
  "$target"/debug/otklik-local bench --out docs/performance.md --peak-only \
    ${BENCH_PEAK:+--peak "$BENCH_PEAK"} ${BENCH_PEAK_AWS:+--peak-aws}
  exit
fi

# Cold starts are measured on what Lambda runs: the release profile (LTO, one codegen unit). The
# functions and the baseline are built together, as `make lambda-build` builds the functions, so
# they share one feature resolution. From nothing this takes about 15 minutes on 2 cores; after a
# change, only what changed is compiled and relinked.
packages=(-p otklik-hello-lambda)
for dir in functions/*/; do
  [ -f "$dir/Cargo.toml" ] || continue
  packages+=(-p "otklik-$(basename "$dir")")
done
echo "building the release binaries of $(( ${#packages[@]} / 2 - 1 )) functions and the baseline…"
start=$(date +%s)
cargo build --quiet --release --locked --bins "${packages[@]}"
build_secs=$(( $(date +%s) - start ))
echo "built in ${build_secs}s"

cargo build --quiet --locked -p otklik-local-runner --bin otklik-local
scripts/local-up.sh --endpoint-only >/dev/null
set -a; . "$OTKLIK_STATE_DIR/stack.env"; set +a
"$target"/debug/otklik-local bench --out docs/performance.md \
  --bins "$target/release" --build-secs "$build_secs" ${BENCH_RUNS:+--runs "$BENCH_RUNS"} \
  ${BENCH_PEAK:+--peak "$BENCH_PEAK"} ${BENCH_PEAK_AWS:+--peak-aws} ${BENCH_YEAR:+--year "$BENCH_YEAR"}
