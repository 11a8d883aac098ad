#!/usr/bin/env bash
# `make test`: formatting, lints and every test, against a local AWS endpoint of its own that is
# torn down however the run ends. A developer's `make local-up` stack is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export OTKLIK_STATE_DIR=.local/test
export OTKLIK_STACK=otklik-test
trap 'scripts/local-down.sh >/dev/null' EXIT
scripts/local-down.sh >/dev/null   # leftovers of an interrupted run

echo "== format"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== CloudFormation template (cfn-lint, pinned in .venv)"
.venv/bin/cfn-lint infra/template.yaml
echo "== headless browser (Debian chromium, pinned playwright-core)"
scripts/browser-setup.sh
echo "== local AWS endpoint"
scripts/local-up.sh
set -a; . "$OTKLIK_STATE_DIR/stack.env"; set +a
echo "== tests"
# A failing test's message, not tokio's stack frames, should end the run's output: a CI summary
# shows the output's first and last lines, and a backtrace pushed the message out of both.
export RUST_BACKTRACE=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
cargo test --workspace --locked --doc
echo "== fault injection (300 orders on WhatsApp, MAX, SMS and email through faults, alone: docs/reliability.md)"
# --workspace, not -p: one package alone resolves features differently and would compile the AWS
# SDK a second time (minutes, gigabytes).
cargo test --workspace --locked --test faults -- --ignored --nocapture
echo "== API robustness (schemathesis against docs/openapi.yaml on a local stack of its own)"
scripts/api-fuzz.sh
echo "== core stays pure"
scripts/check-core-deps.sh
