#!/usr/bin/env bash
# Installs the Debian 12 packages eddy needs to build, test and run. Safe to
# run again: it installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  librdkafka-dev liblmdb-dev libh2o-evloop-dev
  libprotobuf-c-dev protobuf-c-compiler
  libcmocka-dev libyaml-dev libcurl4-openssl-dev
  curl openssl libssl-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
