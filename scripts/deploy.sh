#!/usr/bin/env bash
# `make deploy`: check everything first, then `sam build` + `sam deploy` the stack (docs/deploy.md).
#
#   make deploy SES_IDENTITY=shop.example ALARM_EMAIL=ops@shop.example
#               [SECRETS_PREFIX=<STACK>] [CONFIG=otklik.toml] [STACK=otklik] [REGION=eu-central-1] [DRY_RUN=1]
#
# The secrets are <SECRETS_PREFIX>/crm, /links, … one per purpose (`otklik config check` lists
# them with their keys); each function's role may read only those it uses.
#
# Nothing is built or changed until the parameters, the config file and the template pass their
# checks. DRY_RUN=1 stops after the checks and prints what would run.
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG="${CONFIG:-otklik.toml}"
STACK="${STACK:-otklik}"
REGION="${REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}"
SECRETS_PREFIX="${SECRETS_PREFIX:-$STACK}"
SES_IDENTITY="${SES_IDENTITY:-}"
ALARM_EMAIL="${ALARM_EMAIL:-}"

problems=()
# The one secret of earlier versions is split per purpose (docs/deploy.md, "From one secret").
[[ -z "${SECRETS_ARN:-}" ]] \
  || problems+=("SECRETS_ARN is no longer used: the one secret is now one per purpose under SECRETS_PREFIX (default the stack name); split it as docs/deploy.md says, then pass SECRETS_PREFIX")
[[ "$SECRETS_PREFIX" =~ ^[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*$ && ${#SECRETS_PREFIX} -le 400 ]] \
  || problems+=("SECRETS_PREFIX must be a secret name path (letters, digits, _+=.@- and single slashes, no slash at either end): $SECRETS_PREFIX")
[[ -n "$SES_IDENTITY" ]] || problems+=("SES_IDENTITY is not set: the verified SES domain or address emails are sent from")
[[ -n "$ALARM_EMAIL" ]] || problems+=("ALARM_EMAIL is not set: where alarms are emailed")
[[ -z "$ALARM_EMAIL" || "$ALARM_EMAIL" =~ ^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$ ]] \
  || problems+=("ALARM_EMAIL is not an email address: $ALARM_EMAIL")
[[ "$STACK" =~ ^[A-Za-z][A-Za-z0-9-]{0,39}$ ]] \
  || problems+=("STACK must be a letter then letters, digits or dashes, at most 40 characters (it prefixes every resource name): $STACK")
if (( ${#problems[@]} )); then
  printf 'make deploy: %s\n' "${problems[@]}" >&2
  echo "make deploy: nothing was built or changed (see docs/deploy.md)" >&2
  exit 2
fi

echo "== config: $CONFIG"
if [[ -z "${OTKLIK_BIN:-}" ]]; then
  cargo build --quiet --locked -p otklik-cli
  OTKLIK_BIN="${CARGO_TARGET_DIR:-target}/debug/otklik"
fi
if ! "$OTKLIK_BIN" config check --config "$CONFIG" --secrets-prefix "$SECRETS_PREFIX" >/dev/null; then
  echo "make deploy: fix $CONFIG first; nothing was built or changed" >&2
  exit 2
fi

echo "== template: cfn-lint"
.venv/bin/cfn-lint infra/template.yaml

region_args=()
[[ -n "$REGION" ]] && region_args=(--region "$REGION")
build=(sam build --template-file infra/template.yaml --beta-features)
deploy=(sam deploy --template-file .aws-sam/build/template.yaml --stack-name "$STACK" "${region_args[@]}"
  --parameter-overrides "SecretsPrefix=$SECRETS_PREFIX" "SesIdentity=$SES_IDENTITY" "AlarmEmail=$ALARM_EMAIL")
if [[ "${DRY_RUN:-}" == 1 ]]; then
  echo "== dry run: checks passed; would copy $CONFIG to infra/config/otklik.toml and run:"
  echo "  ${build[*]}"
  echo "  ${deploy[*]}"
  exit 0
fi

if [[ ! -f .venv-deploy/.installed || requirements-deploy.lock -nt .venv-deploy/.installed ]]; then
  echo "== installing the pinned SAM CLI into .venv-deploy"
  python3 -m venv .venv-deploy
  .venv-deploy/bin/pip install --quiet --disable-pip-version-check -r requirements-deploy.lock
  touch .venv-deploy/.installed
fi
# cargo-lambda and its zig come from .venv (its python3 must come first: cargo-lambda finds zig
# as `python3 -m ziglang`); sam and aws from .venv-deploy.
export PATH="$PWD/.venv/bin:$PWD/.venv-deploy/bin:$PATH"
export SAM_CLI_BETA_RUST_CARGO_LAMBDA=1
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

cp "$CONFIG" infra/config/otklik.toml
echo "== sam build"
"${build[@]}"
echo "== sam deploy (stack $STACK)"
"${deploy[@]}"
echo "== outputs"
aws cloudformation describe-stacks --stack-name "$STACK" "${region_args[@]}" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text
