#!/bin/sh
# The example service examples/enricher, built from an installed libeddy
# with pkg-config, against a live server:
#   enricher_test.sh <build dir> <source dir> <eddy> <cc> <pkg-config> [extra cflags...]
# installs the "client" component into a temporary prefix, builds the
# example with its own Makefile (PKG_CONFIG_PATH at the prefix; the extra
# flags: the sanitizers the library was built with), starts `eddy dev-kafka`
# (3 partitions), produces 40 page views of user_0..user_9 in turn (eddy
# loadgen --sequential: 4 each), starts `eddy serve` with a count view, and
# compares the enricher's output for examples/enricher/ids.txt exactly with
# expected.txt (multi-get) and expected_positions.txt (--positions: gets).
set -eu
build=$1 src=$2 eddy=$3 cc=$4 pkgconfig=$5
shift 5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/eddy-enricher-XXXXXX")
kafka_pid= serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  [ -n "$kafka_pid" ] && kill "$kafka_pid" 2>/dev/null && wait "$kafka_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in kafka.err serve.err; do [ -f "$tmp/$f" ] && { echo "--- $f"; tail -n 30 "$tmp/$f"; }; done
  exit 1
}

cmake --install "$build" --prefix "$tmp/prefix" --component client >"$tmp/install.log"
pc=$(find "$tmp/prefix" -name eddy.pc)
test -n "$pc" || fail "eddy.pc not installed"
libdir=$(dirname "$(dirname "$pc")")
mkdir "$tmp/enricher"
cp "$src/examples/enricher/enricher.c" "$src/examples/enricher/Makefile" "$tmp/enricher/"
PKG_CONFIG_PATH="$libdir/pkgconfig" make -s -C "$tmp/enricher" CC="$cc" PKG_CONFIG="$pkgconfig" \
  CFLAGS="-O1 -g $*" >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; fail "make"; }
enricher="$tmp/enricher/enricher"

"$eddy" dev-kafka --partitions 3 --topic pageviews --topic enr.user_views.changelog \
  >"$tmp/kafka.out" 2>"$tmp/kafka.err" &
kafka_pid=$!
i=0
until [ -s "$tmp/kafka.out" ]; do
  i=$((i + 1)); [ $i -lt 300 ] || fail "dev-kafka did not start"; sleep 0.1
done
bootstrap=$(head -n 1 "$tmp/kafka.out")
"$eddy" loadgen --bootstrap "$bootstrap" --count 40 --users 10 --sequential --rate 0 \
  >"$tmp/loadgen.out" 2>&1 || { cat "$tmp/loadgen.out"; fail "loadgen"; }

# A free TCP port: one the kernel hands out for port 0 (python3), else the
# first of a pid-seeded run of candidates that nothing listens on (ss).
free_port() {
  if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null
  then
    return 0
  fi
  p=$((20000 + $$ % 20000)) n=0
  while [ $n -lt 200 ]; do
    ss -ltnH 2>/dev/null | awk '{print $4}' | grep -q "[:.]$p\$" || { echo "$p"; return 0; }
    p=$((20000 + (p - 20000 + 1) % 20000)) n=$((n + 1))
  done
  return 1
}
port=$(free_port) || fail "no free port"
cat >"$tmp/eddy.yaml" <<YAML
app: enr
instance_id: "a"
kafka:
  bootstrap.servers: "$bootstrap"
  fetch.wait.max.ms: 10
  session.timeout.ms: 6000
http: { listen: "127.0.0.1:$port", advertised_url: "http://127.0.0.1:$port" }
data_dir: $tmp/data
commit_interval_ms: 50
views:
  user_views: { from: pageviews, format: json, aggregate: count }
YAML
"$eddy" serve "$tmp/eddy.yaml" >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!

run() { LD_LIBRARY_PATH="$libdir" "$enricher" --url "http://127.0.0.1:$port" "$@" <"$src/examples/enricher/ids.txt"; }
i=0
until run >"$tmp/out.txt" 2>"$tmp/out.err" && cmp -s "$tmp/out.txt" "$src/examples/enricher/expected.txt"; do
  kill -0 "$serve_pid" 2>/dev/null || fail "eddy serve died"
  i=$((i + 1))
  [ $i -lt 300 ] || { cat "$tmp/out.err"; diff "$src/examples/enricher/expected.txt" "$tmp/out.txt" || true; fail "multi-get output"; }
  sleep 0.2
done
run --positions >"$tmp/pos.txt" || fail "enricher --positions"
diff "$src/examples/enricher/expected_positions.txt" "$tmp/pos.txt" || fail "--positions output"
LD_LIBRARY_PATH="$libdir" ldd "$enricher" | grep -q "$libdir/libeddy.so" ||
  fail "enricher does not use the installed libeddy.so"
echo ok
