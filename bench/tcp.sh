#!/usr/bin/env bash
# TCP mode benchmark: the same configuration under halo and haproxy, the
# same backends, measured one after the other in one run. Prints
# throughput (iperf3 through the proxy) and connections/s, with the
# ratio halo / haproxy. Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-5}
CONC=${CONC:-32}
out=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install haproxy)"; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install iperf3)"; exit 1; }
go build -o "$out/halo" ./cmd/halo
go build -o "$out/tcpbench" ./bench/tcpbench
"$out/tcpbench" echo -listen 127.0.0.1:19500 & pids+=($!)
iperf3 -s -p 19501 -D --logfile "$out/iperf.log" --pidfile "$out/iperf.pid"
sleep 0.3
pids+=("$(cat "$out/iperf.pid")")

cfg() { # $1 = frontend port for echo, $2 = for iperf
cat <<CFG
global
    maxconn 5000
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen echo
    bind 127.0.0.1:$1
    server e1 127.0.0.1:19500
listen iperf
    bind 127.0.0.1:$2
    server i1 127.0.0.1:19501
CFG
}

measure() { # $1 = name, $2 = binary
  cfg 19410 19411 > "$out/$1.cfg"
  "$2" -db -f "$out/$1.cfg" > "$out/$1.log" 2>&1 & local p=$!
  sleep 0.5
  local bps
  iperf3 -c 127.0.0.1 -p 19411 -t "$DUR" -J > "$out/$1.iperf.json" || true
  bps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["end"]["sum_received"]["bits_per_second"])) if "sum_received" in d["end"] else sys.exit("iperf3 through the proxy failed: "+str(d.get("error")))' "$out/$1.iperf.json")
  local cps
  cps=$("$out/tcpbench" connrate -target 127.0.0.1:19410 -c "$CONC" -d "${DUR}s" | cut -d' ' -f1)
  kill "$p"; wait "$p" 2>/dev/null || true
  echo "$bps $cps"
}

read -r h_bps h_cps < <(measure haproxy "$(command -v haproxy)")
read -r g_bps g_cps < <(measure halo "$out/halo")
python3 - "$g_bps" "$h_bps" "$g_cps" "$h_cps" <<'PY'
import sys
g_bps, h_bps, g_cps, h_cps = map(float, sys.argv[1:])
print(f"{'metric':<22}{'halo':>14}{'haproxy':>14}{'halo/haproxy':>14}")
print(f"{'throughput (Gbit/s)':<22}{g_bps/1e9:>14.2f}{h_bps/1e9:>14.2f}{g_bps/h_bps:>14.2f}")
print(f"{'connections/s':<22}{g_cps:>14.0f}{h_cps:>14.0f}{g_cps/h_cps:>14.2f}")
PY
