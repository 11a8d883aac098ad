#!/usr/bin/env bash
# The core crate must not depend on I/O: no AWS SDK, no HTTP client or server, no async runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(cargo tree -p otklik-core -e normal --prefix none --locked | grep -E '^(aws-|reqwest|hyper|tokio|lambda_)' | sort -u || true)
if [ -n "$bad" ]; then
  echo "otklik-core depends on I/O crates:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "otklik-core: no aws-*, reqwest, hyper, tokio or lambda_* in its dependency tree"
