#!/usr/bin/env bash
# Query benchmark: point lookups on a 1,000,000-key table over HTTP/1.1
# keep-alive with 64 connections (wrk), beside, in the same run, an h2o
# handler that answers a fixed 20-byte body (the ceiling of the HTTP layer
# on this machine); then range-scan throughput in 10,000-row pages.
#
# The servers run on core 0 and wrk on core 1 (taskset). Rounds alternate
# ceiling and eddy; the summary gives medians.
#
# Usage: bench/query_bench.sh [BUILD_DIR]   (default build-bench)
# Environment: KEYS (1000000), DURATION (10 s per round), ROUNDS (3),
#              CONNECTIONS (64).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
keys=${KEYS:-1000000}
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
conns=${CONNECTIONS:-64}

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDDY_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target eddy h2o_fixed >/dev/null
eddy=$build/server/eddy

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Kafka with the table's source: the mock keeps about 5 MiB per partition,
# so 1M records need 16 partitions (and lz4 would not hurt).
"$eddy" dev-kafka --partitions 16 --topic pageviews --topic qbench.users.changelog >"$dir/kafka.out" 2>"$dir/kafka.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/kafka.out" ] && break; sleep 0.1; done
bootstrap=$(head -1 "$dir/kafka.out")
echo "dev-kafka at $bootstrap; producing $keys keys"
"$eddy" loadgen --bootstrap "$bootstrap" --topic pageviews --users "$keys" --count "$keys" \
  --rate 0 --sequential 2>/dev/null

port=$(free_port)
cat >"$dir/bench.yaml" <<EOF
app: qbench
kafka: { bootstrap.servers: "$bootstrap", fetch.wait.max.ms: 10, session.timeout.ms: 6000 }
http: { listen: "127.0.0.1:$port" }
data_dir: $dir/data
views:
  users: { from: pageviews, aggregate: count }
EOF
taskset -c 0 "$eddy" serve "$dir/bench.yaml" 2>"$dir/serve.err" &
pids+=($!)
echo "eddy serve on port $port; waiting until all $keys keys are in the table"
t0=$(date +%s)
until [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/readyz")" = 200 ] &&
  [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/v1/views/users/keys/user_$((keys - 1))")" = 200 ]; do
  sleep 0.5
  [ $(($(date +%s) - t0)) -lt 300 ] || { echo "not caught up after 300 s" >&2; exit 1; }
done
# Every key of a sample must answer.
for i in $(seq 0 $((keys / 1000)) $((keys - 1))); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/v1/views/users/keys/user_$i")
  [ "$code" = 200 ] || { echo "user_$i: HTTP $code" >&2; exit 1; }
done
echo "table ready after $(($(date +%s) - t0)) s"

fixed_port=$(free_port)
taskset -c 0 "$build/bench/h2o_fixed" "$fixed_port" &
pids+=($!)
sleep 0.5

cat >"$dir/lookup.lua" <<EOF
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/v1/views/users/keys/user_" .. math.random(0, $keys - 1))
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %.3f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, summary.errors.status))
end
EOF

run_wrk() { # url -> "rps p50 p99 p999 errors"
  taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" -s "$dir/lookup.lua" "$1" | awk '/^RESULT/ {print $2, $3, $4, $5, $6}'
}

printf "%-6s %-8s %12s %9s %9s %9s %7s\n" round server "requests/s" "p50 ms" "p99 ms" "p999 ms" "non-2xx"
: >"$dir/results"
for r in $(seq "$rounds"); do
  for server in ceiling eddy; do
    [ "$server" = ceiling ] && url="http://127.0.0.1:$fixed_port" || url="http://127.0.0.1:$port"
    read -r rps p50 p99 p999 errs < <(run_wrk "$url")
    printf "%-6s %-8s %12s %9s %9s %9s %7s\n" "$r" "$server" "$rps" "$p50" "$p99" "$p999" "$errs"
    echo "$server $rps $p50 $p99 $p999" >>"$dir/results"
  done
done
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for server in ceiling eddy; do
  for col in 2 3 4 5; do
    grep "^$server " "$dir/results" | awk -v c=$col '{print $c}' | median
  done | paste -sd' ' | awk -v s=$server '{printf "median %-8s %12s %9s %9s %9s\n", s, $1, $2, $3, $4}'
done
ceil=$(grep '^ceiling ' "$dir/results" | awk '{print $2}' | median)
mine=$(grep '^eddy ' "$dir/results" | awk '{print $2}' | median)
awk -v a="$mine" -v b="$ceil" 'BEGIN{printf "eddy / ceiling: %.2f\n", a / b}'

# Range scans: page through the whole table, 10,000 rows a page. The time
# is curl's (request to last byte), summed over the pages.
echo "range scan: paging through the table, 10,000 rows per page"
rows=0
secs=0
cursor=""
while :; do
  url="127.0.0.1:$port/v1/views/users/rows?limit=10000"
  [ -n "$cursor" ] && url="$url&cursor=$cursor"
  t=$(curl -s -o "$dir/page.json" -w '%{time_total}' "$url")
  secs=$(awk -v a="$secs" -v b="$t" 'BEGIN{print a + b}')
  read -r got cursor < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["rows"]), d.get("next_cursor") or "")' "$dir/page.json")
  rows=$((rows + got))
  [ -n "$cursor" ] || break
done
awk -v r=$rows -v s="$secs" 'BEGIN{printf "scanned %d rows in %.2f s of requests: %.0f rows/s\n", r, s, r / s}'
