#!/usr/bin/env bash
# All halo-vs-haproxy benchmarks; each prints halo/haproxy ratios.
set -euo pipefail
cd "$(dirname "$0")"
echo "== TCP mode (bench/tcp.sh)"
./tcp.sh
echo "== HTTP mode (bench/http.sh)"
./http.sh
echo "== TLS termination (bench/tls.sh)"
./tls.sh
if [ "${FAILOVER:-0}" = 1 ]; then
  echo "== VRRP failover (bench/failover/run.sh; root, network namespaces, ~9 min)"
  ./failover/run.sh
else
  echo "(set FAILOVER=1 to also run the VRRP failover benchmark: root, ~9 min)"
fi
