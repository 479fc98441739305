#!/usr/bin/env bash
# HTTP mode benchmark: the same configuration under halo and haproxy, the
# same backend, in one run. Prints keep-alive and new-connection
# requests/s (wrk) with halo/haproxy ratios, and each proxy's CPU seconds
# (user+system) per 100k requests. Traffic stays on 127.0.0.1.
#
# The proxies take turns ROUNDS times (haproxy, halo, haproxy, ...) and
# the medians are compared, so that a load burst on the machine does not
# decide the ratio. PROFILE=1 also writes a CPU profile of halo's last
# keep-alive round and prints its top entries.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-5}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
PROFILE=${PROFILE:-0}
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

# measure BINARY KIND [env...]: one wrk run against a fresh proxy; prints
# "requests/s cpu-seconds-per-100k".
measure() {
  local bin=$1 kind=$2; shift 2
  env "$@" "$bin" -db -f "$out/bench.cfg" > /dev/null 2>&1 &
  local p=$!
  sleep 0.5
  local hz c0 c1 r
  hz=$(getconf CLK_TCK)
  c0=$(cpu "$p")
  if [ "$kind" = close ]; then
    r=$(wrk -t1 -c"$CONNS" -d"${DUR}s" -H "Connection: close" http://127.0.0.1:19600/ | awk '/^Requests\/sec/ {print $2}')
  else
    r=$(wrk -t1 -c"$CONNS" -d"${DUR}s" http://127.0.0.1:19600/ | awk '/^Requests\/sec/ {print $2}')
  fi
  c1=$(cpu "$p")
  kill "$p"; wait "$p" 2>/dev/null || true
  python3 -c "r=$r; print(r, ($c1-$c0)/$hz/(r*$DUR)*1e5)"
}

for kind in keepalive close; do
  for i in $(seq "$ROUNDS"); do
    measure "$(command -v haproxy)" "$kind" >> "$out/haproxy.$kind"
    if [ "$PROFILE" = 1 ] && [ "$kind" = keepalive ] && [ "$i" = "$ROUNDS" ]; then
      measure "$out/halo" "$kind" HALO_CPUPROFILE="$out/halo.prof" >> "$out/halo.$kind"
    else
      measure "$out/halo" "$kind" >> "$out/halo.$kind"
    fi
  done
done

python3 - "$out" "$ROUNDS" <<'PY'
import statistics, sys
out, rounds = sys.argv[1], sys.argv[2]
def load(name):
    rows = [tuple(map(float, l.split())) for l in open(f"{out}/{name}")]
    return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows), [r[0] for r in rows]
print(f"median of {rounds} alternating rounds")
print(f"{'metric':<34}{'halo':>12}{'haproxy':>12}{'halo/haproxy':>14}")
for kind, label in [("keepalive", "keep-alive"), ("close", "new-connection")]:
    g, h = load(f"halo.{kind}"), load(f"haproxy.{kind}")
    print(f"{label + ' requests/s':<34}{g[0]:>12.0f}{h[0]:>12.0f}{g[0]/h[0]:>14.2f}")
for kind, label in [("keepalive", "keep-alive"), ("close", "new conn.")]:
    g, h = load(f"halo.{kind}"), load(f"haproxy.{kind}")
    print(f"{'CPU s / 100k req (' + label + ')':<34}{g[1]:>12.2f}{h[1]:>12.2f}{g[1]/h[1]:>14.2f}")
for kind in ["keepalive", "close"]:
    g, h = load(f"halo.{kind}"), load(f"haproxy.{kind}")
    print(f"  {kind} rounds: halo {' '.join(f'{x:.0f}' for x in g[2])}; haproxy {' '.join(f'{x:.0f}' for x in h[2])}")
PY
if [ "$PROFILE" = 1 ]; then
  echo "halo CPU profile, keep-alive (top entries by flat time):"
  go tool pprof -top -nodecount 25 "$out/halo" "$out/halo.prof" 2>/dev/null | sed -n '6,32p'
fi
