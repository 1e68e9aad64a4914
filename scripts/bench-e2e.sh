#!/usr/bin/env bash
# `make bench-e2e`: clusterbench's router strategy against redis-benchmark
# --cluster on the same local cluster, at equal connections and pipeline
# depth, side by side, in alternating rounds. Prints throughput and client
# CPU seconds per million ops. The generator must never be the bottleneck it
# measures.
#
# redis-benchmark --cluster binds each client to one master and sends it only
# keys of that master's slots: CLIENTS connections, an even load per node.
# `run --pin-workers` does the same (CLIENTS workers, one connection each),
# so that row is the like-for-like one. Without it every worker spreads its
# keys over all masters (one connection per worker per node), as a real
# cluster client does; in a closed loop that queues unevenly across the
# nodes, so it is shown for information, not compared.
set -euo pipefail
bin=${1:-bin/clusterbench}
clients=${CLIENTS:-16}
pipeline=${PIPELINE:-1}
keys=${KEYS:-100000}
secs=${SECS:-10}
requests=${REQUESTS:-600000}
rounds=${ROUNDS:-3}
work=$(mktemp -d)
state="$work/cluster.json"
cleanup() { "$bin" cluster down --state "$state" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

"$bin" cluster up --masters 3 --state "$state" > "$work/addrs"
first=$(head -1 "$work/addrs"); host=${first%:*}; port=${first##*:}
addrs=$(paste -sd, "$work/addrs")

# CPU seconds (user+sys) of a command, from GNU time's format in a file.
cpu() { awk '{print $1 + $2}' "$1"; }

# redis-benchmark: ops/s over both of its tests (SET, then GET: each is
# REQUESTS ops, so the harmonic mean of their rates) and CPU s per M ops.
redis_benchmark() {
  /usr/bin/env time -f "%U %S" -o "$work/rb.time" \
    redis-benchmark --cluster -h "$host" -p "$port" -c "$clients" -P "$pipeline" -n "$requests" -r "$keys" -d 64 -t set,get --csv \
    > "$work/rb.csv"
  # Only the result rows: redis-benchmark also prints the cluster's masters.
  awk -F, -v cpu="$(cpu "$work/rb.time")" -v ops=$((requests * 2)) \
    '/^"(SET|GET)"/ {gsub(/"/,""); s+=1/$2; n++} END {printf "%.0f %.2f\n", n/s, cpu/ops*1e6}' "$work/rb.csv"
}

# clusterbench: baseline ops/s and CPU s per M ops while its workers ran.
clusterbench() {
  rm -rf "$work/out"
  "$bin" run --addrs "$addrs" --strategy router --workers "$clients" --pipeline "$pipeline" "$@" --keys "$keys" \
    --dist uniform --mix get:50,set:50 --value-size 64 --duration "${secs}s" --warmup 2s --quiet --out "$work/out" \
    > /dev/null 2> "$work/cb.err" || { cat "$work/cb.err" >&2; return 1; }
  python3 -c 'import json,sys; st=json.load(open(sys.argv[1]))["strategies"][0]; print(round(st["phases"]["baseline"]["throughput"]), round(st["client_cpu_s_per_mop"], 2))' "$work/out/summary.json"
}

echo "== $clients connections/workers, pipeline $pipeline, SET+GET 50:50, 64-byte values, $keys keys, $rounds alternating rounds"
printf "%-6s %-40s %10s %15s\n" round generator ops/s "CPU s / M ops"
for r in $(seq "$rounds"); do
  read -r ops mop < <(redis_benchmark); echo "$ops $mop" >> "$work/rb"
  printf "%-6s %-40s %10s %15s\n" "$r" "redis-benchmark --cluster" "$ops" "$mop"
  read -r ops mop < <(clusterbench --pin-workers); echo "$ops $mop" >> "$work/pin"
  printf "%-6s %-40s %10s %15s\n" "$r" "clusterbench router --pin-workers" "$ops" "$mop"
  read -r ops mop < <(clusterbench); echo "$ops $mop" >> "$work/spread"
  printf "%-6s %-40s %10s %15s\n" "$r" "clusterbench router (keys on all nodes)" "$ops" "$mop"
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
rb=$(cut -d' ' -f1 "$work/rb" | median); pin=$(cut -d' ' -f1 "$work/pin" | median); spread=$(cut -d' ' -f1 "$work/spread" | median)
echo
echo "medians over $rounds rounds:"
printf "  %-40s %10s %15s\n" "redis-benchmark --cluster" "$rb" "$(cut -d' ' -f2 "$work/rb" | median)"
printf "  %-40s %10s %15s   %.2fx redis-benchmark (like for like)\n" "clusterbench router --pin-workers" "$pin" "$(cut -d' ' -f2 "$work/pin" | median)" "$(echo "$pin / $rb" | bc -l)"
printf "  %-40s %10s %15s   %.2fx (each worker on every node: not like for like)\n" "clusterbench router (keys on all nodes)" "$spread" "$(cut -d' ' -f2 "$work/spread" | median)" "$(echo "$spread / $rb" | bc -l)"
echo "(clusterbench CPU: while its workers ran, from summary.json; redis-benchmark: the whole process.)"
