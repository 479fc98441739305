#!/usr/bin/env bash
# TLS benchmark: HTTPS termination under halo and haproxy, same backend,
# same certificates, one after the other in one run. Prints full-handshake
# requests/s (new connection per request, no session resumption) for
# ECDSA P-256 and RSA 2048 certificates, and keep-alive requests/s, with
# halo/haproxy ratios. Traffic stays on 127.0.0.1. The proxies take turns
# ROUNDS times and the medians are compared.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-5}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
out=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
for t in haproxy wrk openssl; do command -v $t >/dev/null || { echo "$t is not installed (apt-get install $t)"; exit 1; }; done
go build -o "$out/halo" ./cmd/halo
go build -o "$out/backend" ./examples/demo-backend
"$out/backend" -listen 127.0.0.1:19701 -name web1 2>/dev/null & pids+=($!)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out/ec.key" -out "$out/ec.crt" -days 2 -subj /CN=localhost 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$out/rsa.key" -out "$out/rsa.crt" -days 2 -subj /CN=localhost 2>/dev/null
cat "$out/ec.crt" "$out/ec.key" > "$out/ec.pem"
cat "$out/rsa.crt" "$out/rsa.key" > "$out/rsa.pem"
# Full handshakes: haproxy's session cache and both proxies' tickets off.
cat > "$out/bench.cfg" <<CFG
global
    tune.ssl.cachesize 0
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen ec
    bind 127.0.0.1:19710 ssl crt $out/ec.pem no-tls-tickets
    server web1 127.0.0.1:19701
listen rsa
    bind 127.0.0.1:19711 ssl crt $out/rsa.pem no-tls-tickets
    server web1 127.0.0.1:19701
CFG


rps() { wrk -t1 -c"$CONNS" -d"${DUR}s" "$@" | awk '/^Requests\/sec/ {print $2}'; }
measure() { # $1 = binary; prints: ec_close rsa_close ec_keepalive
  "$1" -db -f "$out/bench.cfg" > /dev/null 2>&1 & local p=$!
  sleep 0.7
  local a b c
  a=$(rps -H "Connection: close" https://127.0.0.1:19710/)
  b=$(rps -H "Connection: close" https://127.0.0.1:19711/)
  c=$(rps https://127.0.0.1:19710/)
  kill "$p"; wait "$p" 2>/dev/null || true
  echo "$a $b $c"
}
for i in $(seq "$ROUNDS"); do
  measure "$(command -v haproxy)" >> "$out/haproxy.txt"
  measure "$out/halo" >> "$out/halo.txt"
done
python3 - "$out" "$ROUNDS" <<'PY'
import statistics, sys
out, rounds = sys.argv[1], sys.argv[2]
def med(name):
    rows = [list(map(float, l.split())) for l in open(f"{out}/{name}")]
    return [statistics.median(r[i] for r in rows) for i in range(3)], rows
g, grows = med("halo.txt")
h, hrows = med("haproxy.txt")
print(f"median of {rounds} alternating rounds")
print(f"{'metric':<40}{'halo':>10}{'haproxy':>10}{'halo/haproxy':>14}")
for i, name in enumerate(["full handshakes/s, ECDSA P-256", "full handshakes/s, RSA 2048", "TLS keep-alive requests/s"]):
    print(f"{name:<40}{g[i]:>10.0f}{h[i]:>10.0f}{g[i]/h[i]:>14.2f}")
for name, rows in [("halo", grows), ("haproxy", hrows)]:
    print(f"  {name} rounds: " + "; ".join(" ".join(f"{x:.0f}" for x in r) for r in rows))
PY
