#!/usr/bin/env bash
# Starts the local AWS endpoint (moto_server) on a free loopback port, creates the stack's tables and
# queues, and writes the connection settings to $STATE/stack.env. Only what this script starts gets
# a pid file, so local-down.sh stops exactly that.
#
#   OTKLIK_STATE_DIR  where pids, logs and stack.env go (default .local; `make test` uses its own)
#
# With --stack it then starts the runner (infra/local/runner: both simulators, the API, every
# function's queue and schedule plumbing) and appends their URLs and local secrets to stack.env.
set -euo pipefail
mode=${1:---endpoint-only}
cd "$(dirname "$0")/.."
STATE=${OTKLIK_STATE_DIR:-.local}
mkdir -p "$STATE/pids" "$STATE/logs"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_runner() {
  if alive "$STATE/pids/runner.pid"; then
    echo "runner already running (pid $(cat "$STATE/pids/runner.pid"))"
    return
  fi
  # OTKLIK_BUILD_SCOPE lets `make test` build with the whole workspace's features, which its test
  # build has already compiled; building the runner alone resolves features differently and would
  # compile the AWS SDK a second time (minutes, gigabytes).
  # shellcheck disable=SC2086
  cargo build --quiet --locked ${OTKLIK_BUILD_SCOPE:--p otklik-local-runner --bin otklik-local}
  ( set -a; . "$STATE/stack.env"; set +a
    nohup "${CARGO_TARGET_DIR:-target}"/debug/otklik-local up --state "$STATE" >"$STATE/logs/runner.out" 2>"$STATE/logs/runner.log" & echo $! >"$STATE/pids/runner.pid" )
  for _ in $(seq 1 300); do
    grep -q '^ready' "$STATE/logs/runner.out" 2>/dev/null && break
    alive "$STATE/pids/runner.pid" || { echo "the runner exited; see $STATE/logs/runner.log" >&2; exit 1; }
    sleep 0.2
  done
  grep -q '^ready' "$STATE/logs/runner.out" || { echo "the runner did not come up; see $STATE/logs/runner.log" >&2; exit 1; }
  echo "local stack up; every URL and local secret is in $STATE/stack.env:"
  grep -E '^(OTKLIK_API_URL|RETAILCRM_SIM_URL|WHATSAPP_SIM_URL|AWS_ENDPOINT_URL)=' "$STATE/stack.env" | sed 's/^/  /'
}

if alive "$STATE/pids/moto.pid"; then
  echo "local endpoint already running (pid $(cat "$STATE/pids/moto.pid")); settings in $STATE/stack.env"
  [ "$mode" = --stack ] && start_runner
  exit 0
fi

[ -x .venv/bin/moto_server ] || { echo "no .venv/bin/moto_server: run 'make venv' first" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# The endpoint is two moto processes behind one address: DynamoDB in one, every other service in
# the other, so that it uses two cores (moto serves one request at a time per process). The
# router (infra/local/aws-router: hyper and tokio only, built on its own) sends each request by
# its X-Amz-Target; docs/local.md. Its release build takes about a minute, once.
cargo build --quiet --locked --release -p otklik-aws-router \
  || { echo "the local endpoint's router did not build" >&2; exit 1; }
router="${CARGO_TARGET_DIR:-target}/release/otklik-aws-router"

wait_for() { # url pidfile what
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('$1/moto-api/data.json', timeout=1)" 2>/dev/null; then
      return 0
    fi
    alive "$2" || { echo "$3 exited; see $STATE/logs" >&2; exit 1; }
    sleep 0.2
  done
  echo "$3 did not come up; see $STATE/logs" >&2
  exit 1
}

# moto_server through scripts/moto_server.py: see there for the one lookup it makes cheap.
main_port=$(free_port)
nohup .venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p "$main_port" >"$STATE/logs/moto.log" 2>&1 &
echo $! >"$STATE/pids/moto.pid"
ddb_port=$(free_port)
nohup .venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p "$ddb_port" >"$STATE/logs/moto-dynamodb.log" 2>&1 &
echo $! >"$STATE/pids/moto-dynamodb.pid"
port=$(free_port)
nohup "$router" "127.0.0.1:$port" "http://127.0.0.1:$main_port" "http://127.0.0.1:$ddb_port" >"$STATE/logs/aws-router.log" 2>&1 &
echo $! >"$STATE/pids/aws-router.pid"

endpoint="http://127.0.0.1:$port"
wait_for "http://127.0.0.1:$main_port" "$STATE/pids/moto.pid" "moto_server"
wait_for "http://127.0.0.1:$ddb_port" "$STATE/pids/moto-dynamodb.pid" "moto_server (DynamoDB)"
wait_for "$endpoint" "$STATE/pids/aws-router.pid" "the endpoint's router"

stack=${OTKLIK_STACK:-otklik-local}
cat >"$STATE/stack.env" <<ENV
# Written by scripts/local-up.sh. Load with: set -a; . $STATE/stack.env; set +a
AWS_ENDPOINT_URL=$endpoint
AWS_REGION=eu-central-1
AWS_DEFAULT_REGION=eu-central-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_EC2_METADATA_DISABLED=true
OTKLIK_STACK=$stack
ENV

if [ "${OTKLIK_SKIP_PROVISION:-}" != 1 ]; then
  set -a; . "$STATE/stack.env"; set +a
  cargo run --quiet -p otklik-cli -- provision >"$STATE/logs/provision.log" 2>&1 \
    || { echo "provisioning failed; see $STATE/logs/provision.log" >&2; exit 1; }
fi
echo "local AWS endpoint: $endpoint (settings in $STATE/stack.env)"
[ "$mode" = --stack ] && start_runner
exit 0
