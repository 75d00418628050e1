#!/usr/bin/env bash
# Re-measures the README's figures: the default image run and what is done with it (score,
# denoise, inpaint; every subset a seeded, stratified sample of all ten classes), the conditional
# experts, classification by energy and the compositions, the part-of-speech taggers, and the 2-D
# toy densities. Writes everything under runs/ and the console output to
# runs/readme-figures.log.
#
#   scripts/readme-figures.sh            # all of it (over 2 hours on 2 idle cores)
#   scripts/readme-figures.sh compose    # one part: image, compose, jem, tag or toy
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
  # The default run (chains from a fitted base), the tutorial's recipe (from uniform noise) and
  # the default with a quarter of the buffer's re-initialisations from uniform noise.
  rm -rf runs/mnist runs/mnist-pcd runs/mnist-noise25
  timed train --run mnist
  timed train --run mnist-pcd --negatives persistent --base 0 --fresh-steps 256
  timed train --run mnist-noise25 --reinit-noise 0.25
  for run in mnist mnist-pcd mnist-noise25; do
    timed score --run "$run" --limit 1000 --outliers noise,gauss,flip
    timed denoise --run "$run" --sigma 0.3 --n 64
    timed inpaint --run "$run" --mask bottom --n 64
    # Its judge-agreement column needs runs/poe/judge (the compose part); without it, it stays empty.
    timed restore-bench --run "$run"
  done
  for seed in 0 1; do
    timed sample --run mnist --n 256 --seed "$seed" --out "runs/mnist/fresh-s$seed"
    timed eval-samples --samples "runs/mnist/fresh-s$seed/sample.npy"
  done
fi

if [[ "$part" == all || "$part" == compose ]]; then
  rm -rf runs/poe
  timed train-conditional --run runs/poe/judge --target judge --epochs 40 --lr 1e-3
  timed train-conditional --run runs/poe/digit --target digit --epochs 24
  for a in even ge5 loop; do
    timed train-conditional --run "runs/poe/$a" --target "$a"
  done
  for t in digit even ge5 loop; do
    timed classify --run "runs/poe/$t"
  done
  for e in "even & ge5" "digit=0 | digit=1" "ge5 & !loop" "ge5 & loop=0"; do
    timed compose --run runs/poe --expr "$e" --n 256
  done
fi

if [[ "$part" == all || "$part" == jem ]]; then
  # One network that classifies and generates; judged by runs/poe/judge (the compose part).
  rm -rf runs/jem
  timed train-conditional --run runs/jem/digit --target digit --epochs 40 --lr 1e-3 --generative-weight 0.3
  timed train-conditional --run runs/jem/judge32 --target judge --epochs 40 --lr 1e-3 --hidden 32 --shift 2
  timed train-conditional --run runs/jem/digit32 --target digit --epochs 40 --lr 1e-3 --hidden 32 --shift 2 --generative-weight 0.3
  timed train-conditional --run runs/jem/digit32-ii --target digit --epochs 40 --lr 1e-3 --hidden 32 --shift 2 --generative-weight 0.2 --informative-init
  # The same two networks with the learning rate divided by 10 for the last quarter.
  timed train-conditional --run runs/jem/judge32-decay --target judge --epochs 40 --lr 1e-3 --hidden 32 --shift 2 --lr-decay-every 1500
  timed train-conditional --run runs/jem/digit32-ii-decay --target digit --epochs 40 --lr 1e-3 --hidden 32 --shift 2 --generative-weight 0.2 --informative-init --lr-decay-every 1500
  for g in 0.1 1; do
    timed train-conditional --run "runs/jem/digit-g$g" --target digit --epochs 40 --lr 1e-3 --generative-weight "$g"
    timed classify --run "runs/jem/digit-g$g"
  done
  timed classify --run runs/poe/judge
  timed classify --run runs/jem/judge32
  timed classify --run runs/jem/digit32 --generate 32 --from buffer --steps 100
  timed classify --run runs/jem/digit32-ii --generate 32 --from buffer --steps 100
  timed classify --run runs/jem/judge32-decay
  timed classify --run runs/jem/digit32-ii-decay --generate 32 --from buffer --steps 100
  timed classify --run runs/jem/digit --generate 32 --from base --steps 0
  timed classify --run runs/jem/digit --generate 32 --from noise
  timed classify --run runs/jem/digit --generate 32 --from buffer --steps 100
  ln -sfn ../poe/judge runs/jem/judge
  for e in "even & ge5" "digit=0 | digit=1" "ge5 & !loop"; do
    timed compose --run runs/jem --from-digit --expr "$e" --n 256 --no-baselines
  done
  all_digits="digit=0 | digit=1 | digit=2 | digit=3 | digit=4 | digit=5 | digit=6 | digit=7 | digit=8 | digit=9"
  timed compose --run runs/jem --expr "$all_digits" --n 256 --no-baselines
  timed eval-samples --samples "runs/jem/compose/$(ls runs/jem/compose | grep '^digit-0_O.*npy$')"
fi

if [[ "$part" == all || "$part" == tag ]]; then
  rm -rf runs/tag-*
  for seed in 0 1 2; do
    timed tag train --objective ml --seed "$seed" --run "tag-ml-s$seed"
    timed tag train --objective softmax --seed "$seed" --run "tag-softmax-s$seed"
  done
  timed tag train --objective cd-ffbs --run tag-cd-ffbs
  timed tag train --objective cd-gibbs --run tag-cd-gibbs
  timed tag eval --run tag-ml-s0 --also tag-softmax-s0 tag-cd-ffbs tag-cd-gibbs
  for seed in 1 2; do
    timed tag eval --run "tag-ml-s$seed" --also "tag-softmax-s$seed"
  done
fi

if [[ "$part" == all || "$part" == toy ]]; then
  rm -rf runs/toy
  timed toy --dataset all --run toy
fi
