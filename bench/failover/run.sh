#!/bin/sh
# Failover benchmark: halo-vrrp pair vs keepalived pair in network
# namespaces (root). Prints, per scenario, the median of ROUNDS (default 3)
# times from the master's death to the VIP being configured on the backup,
# the keepalived/halo ratio and the median longest ping gap seen by a client.
set -eu
cd "$(dirname "$0")/../.."
go build -o bin/halo-vrrp ./cmd/halo-vrrp
go build -o bin/failover-bench ./bench/failover
exec ./bin/failover-bench -halo bin/halo-vrrp -rounds "${ROUNDS:-3}" "$@"
