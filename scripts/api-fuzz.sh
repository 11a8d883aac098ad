#!/usr/bin/env bash
# API robustness: schemathesis (pinned, in ./.venv-api) generates requests from docs/openapi.yaml
# against a local stack of its own (runner, simulators, moto) and checks that no answer is a 5xx,
# that answers match the documented status codes, content types and schemas, that refusals of the
# machine-facing routes are JSON with `error` and `message` (tests/api/hooks.py), and that auth is
# not ignored, and that a method a path does not take gets 405 with `Allow` (every path has an
# `ANY` route for it: docs/reliability.md). One stock check is left out, with its reason:
#   positive_data_acceptance — a rating link is an HMAC-signed token; no schema can generate a
#     valid one, so a "schema-valid" token is rightly refused.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f .venv-api/.installed || requirements-api.lock -nt .venv-api/.installed ]]; then
  echo "== installing the pinned schemathesis into .venv-api"
  python3 -m venv .venv-api
  .venv-api/bin/pip install --quiet --disable-pip-version-check -r requirements-api.lock
  touch .venv-api/.installed
fi
export OTKLIK_STATE_DIR=.local/api OTKLIK_STACK=otklik-api OTKLIK_SKIP_PROVISION=1
# Inside `make test` the workspace is already built with every target's features: reuse that.
export OTKLIK_BUILD_SCOPE=${OTKLIK_BUILD_SCOPE:---workspace --all-targets}
trap 'scripts/local-down.sh >/dev/null' EXIT
scripts/local-down.sh >/dev/null
scripts/local-up.sh --stack >/dev/null
set -a; . "$OTKLIK_STATE_DIR/stack.env"; set +a
SCHEMATHESIS_HOOKS=tests.api.hooks .venv-api/bin/schemathesis run docs/openapi.yaml \
  --url "$OTKLIK_API_URL" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "${API_FUZZ_EXAMPLES:-30}" \
  ${API_FUZZ_SEED:+--seed "$API_FUZZ_SEED"} \
  -H "Authorization: Bearer $OTKLIK_REPORT_TOKEN" \
  --no-color
