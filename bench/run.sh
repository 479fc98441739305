#!/usr/bin/env bash
# All halo-vs-haproxy benchmarks; each prints halo/haproxy ratios.
set -euo pipefail
cd "$(dirname "$0")"
echo "== TCP mode (bench/tcp.sh)"
./tcp.sh
