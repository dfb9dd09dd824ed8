#!/usr/bin/env bash
# walsafe-long.sh: does an idle slot retain WAL? (issue 16, "PostgreSQL idle for 30 minutes").
# Starts a private PostgreSQL 15 (scripts/postgres.sh, port $WALSAFE_PG_PORT, default 15445), runs
# two `sluice postgres` on two databases whose captured table stays idle while a writer inserts
# into a table outside the publication of each, for $WALSAFE_MINUTES (30) minutes:
#   on:  the defaults (lsn.flush.mode connector_and_driver, slot heartbeats every 30 s)
#   off: --lsn-flush-mode connector --slot-heartbeat-interval -1 (Debezium's default behaviour)
# Every minute it prints the WAL written so far and each slot's retained WAL (current LSN -
# restart_lsn). Needs root (the server runs as the postgres user) and Go. Not part of make check.
#   scripts/walsafe-long.sh          run it (stops its sluice processes and writer at the end or on Ctrl-C)
#   scripts/walsafe-long.sh clean    stop the server and delete its state
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
ROOT="$(dirname "$HERE")"
. "$HERE/lib.sh"

export PG_VERSION=15 PG_PORT="${WALSAFE_PG_PORT:-15445}" PG_DIR="${WALSAFE_PG_DIR:-$INFRA_DIR/walsafe-postgres}"
MINUTES="${WALSAFE_MINUTES:-30}"
WORK="$PG_DIR/work"

if [ "${1:-}" = clean ]; then
  "$HERE/postgres.sh" clean
  exit 0
fi

"$HERE/postgres.sh" start
export PGPASSWORD=postgres
PSQL=(/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -X -q -v ON_ERROR_STOP=1)
mkdir -p "$WORK"
(cd "$ROOT" && go build -o "$WORK/sluice" ./cmd/sluice)

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for v in on off; do
  db="walsafe_$v"
  "${PSQL[@]}" -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$db' AND NOT active" >/dev/null
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  "${PSQL[@]}" -d "$db" -c "CREATE TABLE captured (id int PRIMARY KEY)" -c "CREATE TABLE other (id bigserial PRIMARY KEY, pad text)" \
    -c "CREATE PUBLICATION sluice FOR TABLE captured" -c "INSERT INTO captured VALUES (1)"
  extra=()
  [ "$v" = off ] && extra=(--lsn-flush-mode connector --slot-heartbeat-interval -1s)
  rm -f "$WORK/$v.offsets.json"
  "$WORK/sluice" postgres --dsn "postgres://postgres:postgres@127.0.0.1:$PG_PORT/$db?sslmode=disable" --slot "$db" \
    --topic-prefix "$db" --sink stdout --offsets-file "$WORK/$v.offsets.json" "${extra[@]}" >/dev/null 2>"$WORK/$v.log" &
  PIDS+=($!)
done

start_lsn="$("${PSQL[@]}" -At -d postgres -c "SELECT pg_current_wal_lsn()")"
# The writer: ~100 kB of rows a second into each database's uncaptured table.
(
  while :; do
    for v in on off; do
      "${PSQL[@]}" -d "walsafe_$v" -c "INSERT INTO other (pad) SELECT repeat('x', 200) FROM generate_series(1, 250)"
    done
    sleep 0.5
  done
) &
PIDS+=($!)

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
printf '%-8s %-14s %-22s %-22s\n' minute "WAL written" "retained (on)" "retained (off)"
for m in $(seq 1 "$MINUTES"); do
  sleep 60
  for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null || die "a process of the run exited (logs in $WORK)"; done
  written="$("${PSQL[@]}" -At -d postgres -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$start_lsn')::bigint")"
  on="$("${PSQL[@]}" -At -d postgres -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = 'walsafe_on'")"
  off="$("${PSQL[@]}" -At -d postgres -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = 'walsafe_off'")"
  printf '%-8s %-14s %-22s %-22s\n' "$m" "$(mib "$written")" "$(mib "$on")" "$(mib "$off")"
done
log "done: the 'on' slot should stay within a few MiB (the WAL of ~15 s between two running-xacts records); the 'off' slot retains everything written"
