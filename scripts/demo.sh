#!/usr/bin/env bash
# `make demo`: a shop's day end to end on this machine. Starts a local AWS endpoint of its own
# (torn down however the run ends), builds the runner, and plays the scripted day
# (infra/local/runner/src/demo/). Exit 0 only when every expected outcome happened. The terminal
# gets the progress and the report; the functions' metric lines and logs go to
# $OTKLIK_STATE_DIR/logs/functions.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export OTKLIK_STATE_DIR=${OTKLIK_STATE_DIR:-.local/demo}   # its own, apart from `make local-up`
export OTKLIK_SKIP_PROVISION=1   # the runner creates its own tables and queues
trap 'scripts/local-down.sh >/dev/null' EXIT
scripts/local-down.sh >/dev/null
echo "Building (the first build compiles the AWS SDK: several minutes)…"
cargo build --quiet --locked -p otklik-local-runner --bin otklik-local
scripts/local-up.sh --endpoint-only >/dev/null
set -a; . "$OTKLIK_STATE_DIR/stack.env"; set +a
"${CARGO_TARGET_DIR:-target}"/debug/otklik-local demo
