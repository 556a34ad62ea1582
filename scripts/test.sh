#!/usr/bin/env bash
# Builds eddy with -Werror and ASan+UBSan and runs every test (unit and
# integration). Installs missing packages first. Usage: scripts/test.sh
# Set EDDY_SANITIZE=OFF for a plain build; extra args go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
build=build-test
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDDY_WERROR=ON \
  -DEDDY_SANITIZE="${EDDY_SANITIZE:-ON}" >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure "$@"
