#!/usr/bin/env bash
# HTTP mode benchmark: the same configuration under halo and haproxy, the
# same backend, one after the other in one run. Prints keep-alive and
# new-connection requests/s (wrk) with halo/haproxy ratios, and each
# proxy's CPU seconds per 100k requests. Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-5}
CONNS=${CONNS:-32}
out=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
for t in haproxy wrk; do command -v $t >/dev/null || { echo "$t is not installed (apt-get install $t)"; exit 1; }; done
go build -o "$out/halo" ./cmd/halo
go build -o "$out/backend" ./examples/demo-backend
"$out/backend" -listen 127.0.0.1:19601 -name web1 2>/dev/null & pids+=($!)
cat > "$out/bench.cfg" <<CFG
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen web
    bind 127.0.0.1:19600
    server web1 127.0.0.1:19601
CFG

cpu() { # utime+stime of a pid, in clock ticks
  awk '{print $14+$15}' "/proc/$1/stat"
}

measure() { # $1 = binary; prints: ka_rps ka_cpu100k close_rps close_cpu100k
  "$1" -db -f "$out/bench.cfg" > /dev/null 2>&1 & local p=$!
  sleep 0.5
  local hz; hz=$(getconf CLK_TCK)
  local c0 r1 c1 r2 c2
  c0=$(cpu "$p")
  r1=$(wrk -t1 -c"$CONNS" -d"${DUR}s" http://127.0.0.1:19600/ | awk '/^Requests\/sec/ {print $2}')
  c1=$(cpu "$p")
  r2=$(wrk -t1 -c"$CONNS" -d"${DUR}s" -H "Connection: close" http://127.0.0.1:19600/ | awk '/^Requests\/sec/ {print $2}')
  c2=$(cpu "$p")
  kill "$p"; wait "$p" 2>/dev/null || true
  python3 -c "
r1,r2,d=$r1,$r2,$DUR; hz=$hz
print(r1, ($c1-$c0)/hz/(r1*d)*1e5, r2, ($c2-$c1)/hz/(r2*d)*1e5)"
}

read -r h_ka h_kc h_cl h_cc < <(measure "$(command -v haproxy)")
read -r g_ka g_kc g_cl g_cc < <(measure "$out/halo")
python3 - "$g_ka" "$h_ka" "$g_kc" "$h_kc" "$g_cl" "$h_cl" "$g_cc" "$h_cc" <<'PY'
import sys
g_ka, h_ka, g_kc, h_kc, g_cl, h_cl, g_cc, h_cc = map(float, sys.argv[1:])
print(f"{'metric':<34}{'halo':>12}{'haproxy':>12}{'halo/haproxy':>14}")
print(f"{'keep-alive requests/s':<34}{g_ka:>12.0f}{h_ka:>12.0f}{g_ka/h_ka:>14.2f}")
print(f"{'new-connection requests/s':<34}{g_cl:>12.0f}{h_cl:>12.0f}{g_cl/h_cl:>14.2f}")
print(f"{'CPU s / 100k req (keep-alive)':<34}{g_kc:>12.2f}{h_kc:>12.2f}")
print(f"{'CPU s / 100k req (new conn.)':<34}{g_cc:>12.2f}{h_cc:>12.2f}")
PY
