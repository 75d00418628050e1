#!/usr/bin/env bash
# Re-measures the README's image figures on the embedded digits: the default image run and what
# is done with it (score, denoise, inpaint), then the conditional experts, classification by
# energy and the compositions. Every subset is a seeded, stratified sample of all ten classes.
# Writes everything under runs/ and the console output to runs/readme-figures.log.
#
#   scripts/readme-figures.sh            # all of it (about an hour on 2 cores)
#   scripts/readme-figures.sh compose    # only the conditional experts and compositions
set -euo pipefail
cd "$(dirname "$0")/.."
part="${1:-all}"
mkdir -p runs
exec > >(tee -a runs/readme-figures.log) 2>&1

cargo build --release --package ebm-app --bin ebm
ebm=target/release/ebm
timed() {
  echo "\$ ebm $*"
  local start=$SECONDS
  "$ebm" "$@"
  echo "($((SECONDS - start)) s)"
}

if [[ "$part" == all || "$part" == image ]]; then
  rm -rf runs/mnist
  timed train --run mnist
  timed score --run mnist --limit 1000 --outliers noise,gauss,flip
  timed denoise --run mnist --sigma 0.3 --n 64
  timed inpaint --run mnist --mask bottom --n 64
fi

if [[ "$part" == all || "$part" == compose ]]; then
  rm -rf runs/poe
  timed train-conditional --run poe/judge --target judge --epochs 40 --lr 1e-3
  timed train-conditional --run poe/digit --target digit --epochs 24
  for a in even ge5 loop; do
    timed train-conditional --run "poe/$a" --target "$a"
  done
  for t in digit even ge5 loop; do
    timed classify --run "poe/$t"
  done
  for e in "even & ge5" "digit=0 | digit=1" "ge5 & !loop" "ge5 & loop=0"; do
    timed compose --run poe --expr "$e" --n 256
  done
fi
