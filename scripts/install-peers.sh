#!/usr/bin/env bash
# Installs the Debian 12 packages a comparison benchmark needs: the peers it measures inmem
# against, if any is missing.
# Usage: scripts/install-peers.sh [extra-package...]    bench/compare (-Dcompare_bench=true):
#                                                        RocksDB, LMDB, SQLite
#        scripts/install-peers.sh vectors               bench/vectors (-Dvectors_bench=true):
#                                                        faiss (with OpenBLAS), hnswlib
set -euo pipefail

if [ "${1:-}" = vectors ]; then
  shift
  packages=(pkg-config libfaiss-dev libopenblas-dev libhnswlib-dev "$@")
else
  packages=(pkg-config librocksdb-dev liblmdb-dev libsqlite3-dev "$@")
fi

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
