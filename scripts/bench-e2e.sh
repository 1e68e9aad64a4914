#!/usr/bin/env bash
# `make bench-e2e`: clusterbench's router strategy against redis-benchmark
# --cluster on the same local cluster, at equal connections and pipeline
# depth, side by side. Prints throughput and client CPU seconds per million
# ops for both. The generator must never be the bottleneck it measures.
set -euo pipefail
bin=${1:-bin/clusterbench}
clients=${CLIENTS:-16}
keys=${KEYS:-100000}
secs=${SECS:-10}
requests=${REQUESTS:-600000}
work=$(mktemp -d)
state="$work/cluster.json"
cleanup() { "$bin" cluster down --state "$state" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

"$bin" cluster up --masters 3 --state "$state" > "$work/addrs"
first=$(head -1 "$work/addrs"); host=${first%:*}; port=${first##*:}
addrs=$(paste -sd, "$work/addrs")

# CPU seconds (user+sys) of a command, from GNU time's format in a file.
cpu() { awk '{print $1 + $2}' "$1"; }

echo "== redis-benchmark --cluster: $clients clients, pipeline 1, SET+GET, 64-byte values, $keys keys"
/usr/bin/env time -f "%U %S" -o "$work/rb.time" \
  redis-benchmark --cluster -h "$host" -p "$port" -c "$clients" -P 1 -n "$requests" -r "$keys" -d 64 -t set,get --csv \
  > "$work/rb.csv"
cat "$work/rb.csv"
# Only the result rows: redis-benchmark also prints the cluster's masters.
rb_rps=$(awk -F, '/^"(SET|GET)"/ {gsub(/"/,""); s+=$2; n++} END {printf "%.0f", s/n}' "$work/rb.csv")
rb_cpu=$(cpu "$work/rb.time")
rb_ops=$((requests * 2))

echo "== clusterbench run --strategy router: $clients workers, pipeline 1, get:50,set:50, 64-byte values, $keys keys, ${secs}s"
/usr/bin/env time -f "%U %S" -o "$work/cb.time" \
  "$bin" run --addrs "$addrs" --strategy router --workers "$clients" --pipeline 1 --keys "$keys" \
  --dist uniform --mix get:50,set:50 --value-size 64 --duration "${secs}s" --warmup 2s --quiet --out "$work/out" \
  > "$work/cb.txt"
cat "$work/cb.txt"
summary() { python3 -c 'import json,sys; st=json.load(open(sys.argv[1]))["strategies"][0]; print(eval(sys.argv[2]))' "$work/out/summary.json" "$1"; }
cb_rps=$(summary 'round(st["phases"]["baseline"]["throughput"])')
cb_cpu_mop=$(summary 'round(st["client_cpu_s_per_mop"], 2)')
cb_cpu_all=$(cpu "$work/cb.time")

echo
printf "%-28s %12s %18s\n" "generator" "ops/s" "CPU s / M ops"
printf "%-28s %12s %18.2f\n" "redis-benchmark --cluster" "$rb_rps" "$(echo "$rb_cpu / $rb_ops * 1000000" | bc -l)"
printf "%-28s %12s %18.2f\n" "clusterbench (router)" "$cb_rps" "$cb_cpu_mop"
echo "(clusterbench: CPU while its workers ran, from summary.json; the whole process, with the"
echo " preload of $keys keys, key cleanup and plots, used ${cb_cpu_all}s. redis-benchmark: whole process.)"
