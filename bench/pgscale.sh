#!/usr/bin/env bash
# pgscale.sh: the PostgreSQL side of issue 20 (scale to 10,000 tables and beyond). For each
# table count N it starts a private PostgreSQL 17 with default settings (only what logical
# decoding needs: wal_level=logical), creates N empty tables (id bigint PRIMARY KEY, v int) in a
# fresh database, publishes them all, and measures under bench/cmd/benchrun:
#   snapshot  sluice postgres --snapshot-mode initial_only (connect, create the slot, read all N
#             tables, save the offset, exit): wall time and peak RSS
#   restart   sluice postgres --snapshot-mode initial from the saved offset, with one row inserted
#             after the snapshot: time from start until that row's record is out (/metrics
#             sluice_records_total = 1) and RSS at that moment
# Goals (issue 20, N = 10,000): snapshot completes, ≤ 10 s; restart to streaming ≤ 5 s; peak RSS
# ≤ 64 MB. Other counts are reported without a bar.
#
# Settings (environment):
#   SCALE_TABLES ("10000 50000")  table counts, one run each
#   SCALE_PG_PORT (25442)  SCALE_HTTP_PORT (25443)  SCALE_DIR (/tmp/sluice-pgscale)
#   SCALE_KEEP (0)  1: leave the server and the databases afterwards
# Needs root (scripts/postgres.sh runs the server as user postgres) and the unpacked PostgreSQL 17
# of scripts/postgres.sh (PG_VERSION=17 scripts/postgres.sh start installs it once).
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
REPO="$(dirname "$HERE")"
TABLES="${SCALE_TABLES:-10000 50000}"
PORT="${SCALE_PG_PORT:-25442}"
HTTP_PORT="${SCALE_HTTP_PORT:-25443}"
DIR="${SCALE_DIR:-/tmp/sluice-pgscale}"
BIN="$DIR/bin"
LOGS="$DIR/logs"
PGDIR="$DIR/pg17"

log() { printf '[pgscale %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
jget() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$2"; }

pgsh() { PG_VERSION=17 PG_PORT="$PORT" PG_DIR="$PGDIR" "$REPO/scripts/postgres.sh" "$@"; }
PGBIN="$(pgsh env | sed -n 's/^PG_BIN=//p')"
psqlx() { runuser -u postgres -- "$PGBIN/psql" -h "$PGDIR/run" -p "$PORT" -U postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

mkdir -p "$BIN" "$LOGS"
log "building sluice-postgres and benchrun"
(cd "$REPO" && CGO_ENABLED=0 go build -o "$BIN/sluice-postgres" ./cmd/sluice-postgres && go build -o "$BIN/benchrun" ./bench/cmd/benchrun) ||
  die "go build failed"
pgsh start
cleanup() { [ "${SCALE_KEEP:-0}" = 1 ] || { pgsh stop; rm -rf "$PGDIR"; }; }
trap cleanup EXIT
log "PostgreSQL $(psqlx -d postgres -c 'SHOW server_version'), max_locks_per_transaction $(psqlx -d postgres -c 'SHOW max_locks_per_transaction'), max_connections $(psqlx -d postgres -c 'SHOW max_connections')"

printf '| tables | create s | snapshot wall s | snapshot peak RSS MB | restart → first streamed record s | restart RSS MB |\n|---|---|---|---|---|---|\n' >"$DIR/results.md"
for n in $TABLES; do
  db="scale_$n"
  psqlx -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'scale'" >/dev/null
  psqlx -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  log "$n tables: creating"
  t0="$(date +%s.%N)"
  # 500 tables per transaction: creating one takes a few locks until the commit.
  awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) { if (i % 500 == 1) print "BEGIN;"; printf "CREATE TABLE t%d (id bigint PRIMARY KEY, v int);\n", i; if (i % 500 == 0 || i == n) print "COMMIT;" } }' |
    psqlx -d "$db" >/dev/null
  psqlx -d "$db" -c "CREATE PUBLICATION scalepub FOR ALL TABLES" >/dev/null
  created="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  log "$n tables: created in $created s"
  dsn="postgres://postgres:postgres@127.0.0.1:$PORT/$db?sslmode=disable"
  off="$DIR/offsets.$n.json"
  rm -f "$off"
  common=(--dsn "$dsn" --slot scale --publication scalepub --publication-mode disabled --topic-prefix scale --sink stdout
    --offsets-file "$off" --http-addr "127.0.0.1:$HTTP_PORT" --log-format text)
  r="$("$BIN/benchrun" -stderr "$LOGS/snapshot.$n.log" -timeout 30m -- "$BIN/sluice-postgres" "${common[@]}" --snapshot-mode initial_only)" ||
    die "snapshot of $n tables: $r (log $LOGS/snapshot.$n.log)"
  [ "$(jget exit "$r")" = 0 ] || die "snapshot of $n tables exited $(jget exit "$r") (log $LOGS/snapshot.$n.log)"
  snap_wall="$(jget wall_s "$r")" snap_rss="$(jget maxrss_mb "$r")"
  log "$n tables: snapshot $snap_wall s, peak RSS $snap_rss MB"
  psqlx -d "$db" -c "INSERT INTO t1 VALUES (1, 1)" >/dev/null
  r="$("$BIN/benchrun" -stderr "$LOGS/restart.$n.log" -timeout 10m -metrics "http://127.0.0.1:$HTTP_PORT/metrics" -metric sluice_records_total -target 1 -- \
    "$BIN/sluice-postgres" "${common[@]}" --snapshot-mode initial)" || die "restart with $n tables: $r (log $LOGS/restart.$n.log)"
  [ "$(jget reached "$r")" = true ] || die "restart with $n tables: the streamed row never came out: $r (log $LOGS/restart.$n.log)"
  re_wall="$(jget wall_s "$r")" re_rss="$(jget maxrss_mb "$r")"
  log "$n tables: restart to the first streamed record $re_wall s, RSS $re_rss MB"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "$created" "$snap_wall" "$snap_rss" "$re_wall" "$re_rss" >>"$DIR/results.md"
  for _ in $(seq 1 100); do # the walsender lets go of the slot shortly after sluice exits
    [ "$(psqlx -d postgres -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'scale' AND active")" = 0 ] && break
    sleep 0.1
  done
  psqlx -d postgres -c "SELECT pg_drop_replication_slot('scale')" >/dev/null
  [ "${SCALE_KEEP:-0}" = 1 ] || psqlx -d postgres -c "DROP DATABASE $db" >/dev/null
done
cat "$DIR/results.md"
