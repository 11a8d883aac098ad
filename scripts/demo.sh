#!/usr/bin/env bash
# `make demo`. The end-to-end demo (a scripted day of ~30 orders through the local stack) is not
# built yet: it needs intake, dispatch and the simulators. Until then this shows, honestly, the part
# that exists: how the product reads customers' replies.
set -euo pipefail
cd "$(dirname "$0")/.."
cat <<'TXT'
Otklik demo: the end-to-end run (orders → WhatsApp/email → replies → retailCRM, complaints, KPI)
is NOT BUILT YET. It lands with the local-stack issue.

What exists today is the core. Here is how it reads some customers' replies:
TXT
cargo build --quiet -p otklik-cli
for reply in "5" "5️⃣" "４" "⭐⭐⭐⭐" "на 4" "5 из 5" "пятёрка" "п'ять" "3 или 4" "на 4, курьер на 2" \
             "а где мой заказ?" "1500 руб" "+7 900 123-45-67" "12.05" "да" "не надо" "СТОП"; do
  printf '  %-22s → %s\n' "$reply" "$(target/debug/otklik reply "$reply")"
done
