#!/usr/bin/env bash
# Installs the Debian 12 packages inmem needs to build and test, if any is missing.
# Usage: scripts/install-deps.sh [extra-package...]
set -euo pipefail

packages=(g++ python3 meson ninja-build pkg-config cmake libboost1.81-dev librange-v3-dev catch2 strace nlohmann-json3-dev libssl-dev "$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
