#!/usr/bin/env bash
# torture.sh: builds sluice, sluice-postgres, sluice-mysql and the torture harness from the work tree and
# runs the harness (torture/cmd/torture) with the arguments given. `make torture` and
# `make torture-quick` call it; see docs/torture.md.
#   TORTURE_INFRA_DIR (/tmp/sluice-torture)  private servers' state, binaries, sluice logs
#   TORTURE_PORT_BASE (41000)                private ports (path i: base+10i+1 database, +2 kfake,
#                                            +3/+4 ClickHouse tcp/http, +5 the offsets topic's kfake)
#   TORTURE_SEED                             rerun a schedule (printed by every run)
# Needs root (the servers run as their own users, as in scripts/servers.sh; disk_full mounts a tmpfs).
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
REPO="$(dirname "$HERE")"
INFRA="${TORTURE_INFRA_DIR:-/tmp/sluice-torture}"
BIN="$INFRA/bin"
mkdir -p "$BIN"
cd "$REPO"
for c in sluice sluice-postgres sluice-mysql; do
  CGO_ENABLED=0 go build -o "$BIN/$c" "./cmd/$c"
done
go build -o "$BIN/torture" ./torture/cmd/torture
go build -o "$BIN/kfakebroker" ./integration/kfakebroker
args=(-repo "$REPO" -infra-dir "$INFRA" -bin "$BIN" -out "$REPO/torture/results/latest.json"
  -port-base "${TORTURE_PORT_BASE:-41000}")
[ -n "${TORTURE_SEED:-}" ] && args+=(-seed "$TORTURE_SEED")
exec "$BIN/torture" "${args[@]}" "$@"
