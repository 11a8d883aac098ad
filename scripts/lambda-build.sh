#!/usr/bin/env bash
# `make lambda-build`: every function as an arm64 Lambda binary (provided.al2023), with the release
# profile, by cargo-lambda (pinned in .venv, cross-linking with its pinned zig). The binaries land in
# target/lambda/<function>/bootstrap; `sam build` does the same per function for `make deploy`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
target=aarch64-unknown-linux-gnu
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "== adding the Rust target $target (once)"
  rustup target add "$target"
fi
packages=()
for dir in functions/*/; do
  [ -f "$dir/Cargo.toml" ] || continue
  packages+=(-p "otklik-$(basename "$dir")")
done
start=$(date +%s)
cargo lambda build --release --arm64 --locked "${packages[@]}"
took=$(( $(date +%s) - start ))
echo
printf '%-18s %10s\n' function "size (KB)"
for dir in functions/*/; do
  name=$(basename "$dir")
  bin="${CARGO_TARGET_DIR:-target}/lambda/$name/bootstrap"
  [ -f "$bin" ] || { echo "missing: $bin" >&2; exit 1; }
  printf '%-18s %10d\n' "$name" $(( $(stat -c %s "$bin") / 1024 ))
done
echo "built $(( ${#packages[@]} / 2 )) functions for arm64 in ${took}s"
