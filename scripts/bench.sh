#!/usr/bin/env bash
# `make bench`: a benchmark, not a test. Starts a local AWS endpoint of its own (torn down however
# the run ends), runs the measurements (infra/local/runner/src/bench.rs) and writes the report to
# docs/performance.md with the machine and the date.
set -euo pipefail
cd "$(dirname "$0")/.."
export OTKLIK_STATE_DIR=.local/bench
export OTKLIK_SKIP_PROVISION=1
trap 'scripts/local-down.sh >/dev/null' EXIT
scripts/local-down.sh >/dev/null
cargo build --quiet --locked -p otklik-local-runner --bin otklik-local
scripts/local-up.sh --endpoint-only >/dev/null
set -a; . "$OTKLIK_STATE_DIR/stack.env"; set +a
"${CARGO_TARGET_DIR:-target}"/debug/otklik-local bench --out docs/performance.md
