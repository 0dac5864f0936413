#!/usr/bin/env bash
# Installs the Debian 12 packages the comparison benchmark (bench/compare, meson option
# compare_bench) needs: the peers it measures inmem against, if any is missing.
# Usage: scripts/install-peers.sh [extra-package...]
set -euo pipefail

packages=(pkg-config librocksdb-dev liblmdb-dev libsqlite3-dev "$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-peers: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
