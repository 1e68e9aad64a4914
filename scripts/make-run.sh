#!/usr/bin/env bash
# `make run`: the main job on a local throwaway cluster.
set -euo pipefail
bin=${1:-bin/clusterbench}
if ! "$bin" run --help >/dev/null 2>&1; then
  echo "make run: the run command is not built yet; try '$bin slot somekey' meanwhile" >&2
  exit 0
fi
exec "$bin" run --profile compare
