#!/usr/bin/env bash
# `make fuzz`: every cargo-fuzz target (fuzz/fuzz_targets) for a fixed budget of runs each
# (FUZZ_RUNS, default 100000), from the committed seed corpus. Exit 0 only if nothing panicked.
# cargo-fuzz needs nightly Rust: installed with rustup (minimal profile) when missing; cargo-fuzz
# itself is pinned and installed into ./.tools.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${FUZZ_RUNS:-100000}"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "== installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi
if [[ ! -x .tools/bin/cargo-fuzz ]]; then
  echo "== installing cargo-fuzz 0.13.2 into .tools"
  cargo install --locked --root .tools cargo-fuzz --version 0.13.2
fi
export PATH="$PWD/.tools/bin:$PATH"
targets=(reply meta_webhook green_api_webhook crm_decode link_token config)
printf '%-20s %s\n' target result > fuzz/last-run.txt
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "== fuzz $t ($runs runs)"
  # A private copy of the seeds: new inputs the fuzzer finds stay out of the repository.
  work="fuzz/target/corpus/$t"
  mkdir -p "$work"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  if (cd fuzz && cargo +nightly fuzz run --release "$t" "target/corpus/$t" -- -runs="$runs" -max_len=8192 -timeout=10 2>&1 | tail -n 3); then
    printf '%-20s %s\n' "$t" "ok, $runs runs" >> fuzz/last-run.txt
  else
    printf '%-20s %s\n' "$t" "FAILED (artifact in fuzz/artifacts/$t)" >> fuzz/last-run.txt
    cat fuzz/last-run.txt
    exit 1
  fi
done
cat fuzz/last-run.txt
