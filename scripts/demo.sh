#!/usr/bin/env bash
# The demo: builds eddy, then runs `eddy serve examples/pageviews.yaml` with
# an embedded Kafka and a load generator producing page views. Ctrl-C stops.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEDDY_TESTS=OFF -DEDDY_WERROR=OFF -DEDDY_SANITIZE=OFF >/dev/null
cmake --build build -j"$(nproc)" --target eddy

# The embedded Kafka starts empty every time, so last run's state goes too.
rm -rf data/demo

cat <<'MSG'

eddy is starting: embedded Kafka, view `user_views` (page views per user),
and a load generator producing 200 page views/s to topic `pageviews`.
Try, in another terminal:

  curl localhost:8080/v1/views
  curl localhost:8080/v1/views/user_views/keys/user_42     # run it again: it grows
  curl localhost:8080/v1/views/user_views/keys/nobody      # 404
  curl localhost:8080/healthz

Ctrl-C stops the demo.

MSG
exec build/server/eddy serve examples/pageviews.yaml --loadgen 200
