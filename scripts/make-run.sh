#!/usr/bin/env bash
# `make run`: the main job on a local throwaway cluster that clusterbench
# starts and stops itself: zipfian load, a scale-out in the middle, every
# strategy compared on the same seeded workload. About two minutes.
set -euo pipefail
bin=${1:-bin/clusterbench}
strategies=$("$bin" run --help | sed -n 's/^Strategies: \(.*\)\.$/\1/p' | tr -d ' ')
exec "$bin" run --profile compare --strategy "$strategies" \
  --masters 3 --keys 100000 --dist zipf --mix get:80,set:20 --workers 8 \
  --warmup 2s --duration 15s --migrate scale-out --migrate-at 4s --migrate-slots-in-flight 8 \
  --out "results/$(date +%Y%m%d-%H%M%S)-compare"
