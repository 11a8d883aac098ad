#!/usr/bin/env bash
# Sets up the headless-browser tooling for tests/browser/: Debian's Chromium (/usr/bin/chromium, plus
# chromium-driver) and the pinned playwright-core from tests/browser/package-lock.json. Playwright's
# own browser download is never used (it cannot be fetched here); landing.mjs launches
# /usr/bin/chromium. Idempotent: prints nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ! -x /usr/bin/chromium ]; then
  echo "browser-setup: installing Debian packages chromium chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      chromium chromium-driver >/dev/null
  }
  # Only refresh the package lists when the install cannot go ahead with the ones on the machine.
  if ! apt_install 2>/dev/null; then
    echo "browser-setup: apt-get update"
    $SUDO apt-get update -q >/dev/null
    apt_install
  fi
  echo "browser-setup: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')"
fi

LOCK=tests/browser/package-lock.json
STAMP=tests/browser/node_modules/.package-lock.json
if [ ! -f "$STAMP" ] || [ ! "$STAMP" -nt "$LOCK" ]; then
  echo "browser-setup: npm ci in tests/browser ($(grep -m1 -A1 '"node_modules/playwright-core"' "$LOCK" | sed -n 's/.*"version": "\(.*\)".*/playwright-core \1/p'))"
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null
fi
