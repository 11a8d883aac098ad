#!/usr/bin/env bash
# Stops exactly the processes local-up.sh started (by their pid files) and nothing else.
set -uo pipefail
cd "$(dirname "$0")/.."
STATE=${OTKLIK_STATE_DIR:-.local}
shopt -s nullglob
for pidfile in "$STATE"/pids/*.pid; do
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    echo "stopped $(basename "$pidfile" .pid) (pid $pid)"
  fi
  rm -f "$pidfile"
done
rm -f "$STATE/stack.env"
