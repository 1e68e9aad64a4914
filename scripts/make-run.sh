#!/usr/bin/env bash
# `make run`: the main job on a local throwaway cluster that clusterbench
# starts and stops itself: the `compare` profile, every strategy through
# one scale-out on the same seeded zipfian workload. About three minutes.
set -euo pipefail
bin=${1:-bin/clusterbench}
exec "$bin" run --profile compare --out "results/$(date +%Y%m%d-%H%M%S)-compare"
