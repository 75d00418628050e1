#!/usr/bin/env bash
# Issue 8's GPU figures, in one run on a machine with a GPU (and the CPU figures of that machine
# beside them): the input-gradient benches (`core`) and one training iteration (`train`) on flex,
# wgpu and, where it builds, cuda. Criterion's reports and a summary go to $OUT (default
# target/gpu-bench). Record the figures in BENCHMARKS.md with the machine's description.
set -uo pipefail
out="${OUT:-target/gpu-bench}"
mkdir -p "$out"
{
  date -u
  nproc
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  vulkaninfo --summary 2>&1 | head -30 || true
} > "$out/machine.txt"

run() { # run NAME FEATURES BENCH
  local name=$1 features=$2 bench=$3
  echo "== $name: cargo bench -p ebm-benches --features $features --bench $bench"
  timeout 900 cargo bench -p ebm-benches --features "$features" --bench "$bench" -- --noplot \
    > "$out/$name.txt" 2>&1
  echo "exit $? ($name)" | tee -a "$out/summary.txt"
  grep -E "^(core|train)/|time:" "$out/$name.txt" | tee -a "$out/summary.txt"
}

run core-wgpu wgpu core
run train-wgpu wgpu train
# burn's cuda backend downloads LLVM while it builds (the tracel-llvm-bundler crate), so it builds
# only with network access (here it fails on the address lookup); a failure is recorded, not fatal.
run core-cuda cuda core
run train-cuda cuda train
cp -r target/criterion "$out/criterion" 2>/dev/null || true
