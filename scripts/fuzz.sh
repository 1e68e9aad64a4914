#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (default 30s):
# `make fuzz` for a longer session, `make test` for a few seconds each.
set -euo pipefail
fuzztime=${1:-30s}
go test -list '^Fuzz' ./... | awk '
  /^Fuzz/ { targets = targets " " $1; next }
  /^ok/   { if (targets != "") print $2 targets; targets = "" }' |
while read -r pkg targets; do
  for target in $targets; do
    echo "fuzz $pkg $target ($fuzztime)"
    # </dev/null: go test must not eat the list this loop reads.
    if ! out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 </dev/null); then
      echo "$out"
      exit 1
    fi
  done
done
