#!/usr/bin/env bash
# pgsnapkill.sh: issue 15's must-show for PostgreSQL. A table of KILL_ROWS (5,000,000) rows is
# snapshotted by `sluice postgres` into a private kfake broker while pgbench keeps updating,
# deleting and inserting rows; sluice is killed with SIGKILL at a random point KILL_CYCLES (10)
# times, each restart resuming from the offsets file; the last run finishes the snapshot and
# streams until the writer has stopped. Then:
#   - the snapshot records (op r) in the topic are counted against the table (goal ≤ 1.1×), and
#     bench/cmd/snaprestarts lists what each restart read again and the read rate before it;
#   - the topic is loaded into ClickHouse with `sluice clickhouse` and `sluice verify` compares
#     every row with the source (goal: no key missing, differing or extra).
# Uses the shared test servers' PostgreSQL and ClickHouse (a database of its own on each,
# dropped at the end) and a private kfake (KILL_KAFKA_PORT, 25492; `sluice clickhouse` /metrics on the next port).
#   KILL_ROWS (5000000)  KILL_CYCLES (10)  KILL_MIN_S/KILL_MAX_S (2/6: seconds before each kill)
#   KILL_DIR (/tmp/sluice-pgsnapkill)  KILL_RATE (200: writer transactions per second)
#   KILL_DB (snapkill: the database on both servers and the slot; another name lets two runs share the servers)
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
REPO="$(dirname "$HERE")"
ROWS="${KILL_ROWS:-5000000}"
CYCLES="${KILL_CYCLES:-10}"
MIN_S="${KILL_MIN_S:-2}" MAX_S="${KILL_MAX_S:-6}"
RATE="${KILL_RATE:-200}"
DIR="${KILL_DIR:-/tmp/sluice-pgsnapkill}"
KPORT="${KILL_KAFKA_PORT:-25492}"
KAFKA="127.0.0.1:$KPORT"
DB="${KILL_DB:-snapkill}" # database (PostgreSQL and ClickHouse) and slot name
BIN="$DIR/bin"
eval "$("$REPO/scripts/servers.sh" env)"
PGBIN=/usr/lib/postgresql/15/bin
ADMIN_DSN="$SLUICE_TEST_PG_DSN"
DSN="${ADMIN_DSN/\/postgres\?/\/$DB?}"
CH="$SLUICE_TEST_CLICKHOUSE_ADDR"

log() { printf '[pgsnapkill %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
psqla() { "$PGBIN/psql" "$ADMIN_DSN" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
psqld() { "$PGBIN/psql" "$DSN" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

rm -rf "$DIR/logs"
mkdir -p "$BIN" "$DIR/logs"
(cd "$REPO" && go build -o "$BIN/sluice" ./cmd/sluice && go build -o "$BIN/topicops" ./bench/cmd/topicops && go build -o "$BIN/snaprestarts" ./bench/cmd/snaprestarts) || die "go build failed"
WRITER=""
SLUICE=""
cleanup() {
  [ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null || true
  [ -n "$SLUICE" ] && kill -9 "$SLUICE" 2>/dev/null || true
  if [ "${KILL_KEEP:-0}" != 1 ]; then
    KAFKA_PORT="$KPORT" KAFKA_DIR="$DIR/kafka" "$REPO/scripts/kafka.sh" stop >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do
      [ "$(psqla -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$DB' AND active")" = 0 ] && break
      sleep 0.2
    done
    psqla -c "SELECT pg_drop_replication_slot('$DB') FROM pg_replication_slots WHERE slot_name = '$DB'" >/dev/null || true
    psqla -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
    clickhouse-client --host "${CH%:*}" --port "${CH#*:}" -q "DROP DATABASE IF EXISTS $DB" || true
    rm -rf "$DIR/kafka" "$DIR/offsets.json"
  fi
}
trap cleanup EXIT

KAFKA_PORT="$KPORT" KAFKA_DIR="$DIR/kafka" KAFKA_AUTO_CREATE=1 "$REPO/scripts/kafka.sh" start
psqla -c "SELECT pg_drop_replication_slot('$DB') FROM pg_replication_slots WHERE slot_name = '$DB'" >/dev/null
psqla -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
clickhouse-client --host "${CH%:*}" --port "${CH#*:}" -q "DROP DATABASE IF EXISTS $DB"
log "loading $ROWS rows"
t0=$SECONDS
psqld -c "CREATE TABLE snap (id bigint PRIMARY KEY, v bigint NOT NULL, pad text)" \
  -c "INSERT INTO snap SELECT g, 0, md5(g::text) FROM generate_series(1, $ROWS) g" \
  -c "VACUUM ANALYZE snap" -c "CREATE PUBLICATION killpub FOR TABLE snap"
log "loaded in $((SECONDS - t0)) s"

cat >"$DIR/writer.sql" <<SQL
\set k random(1, $((ROWS + ROWS / 50)))
UPDATE snap SET v = v + 1 WHERE id = :k;
\set d random(1, $((ROWS + ROWS / 50)))
DELETE FROM snap WHERE id = :d;
\set i random($((ROWS + 1)), $((ROWS + ROWS / 50)))
INSERT INTO snap VALUES (:i, 0, 'new') ON CONFLICT (id) DO UPDATE SET v = snap.v + 1;
SQL
"$PGBIN/pgbench" "$DSN" -n -f "$DIR/writer.sql" -R "$RATE" -T 3600 -c 1 >"$DIR/logs/pgbench.log" 2>&1 &
WRITER=$!

SL=("$BIN/sluice" postgres --dsn "$DSN" --slot "$DB" --publication killpub --publication-mode disabled --topic-prefix kill
  --sink kafka --kafka-brokers "$KAFKA" --offsets-file "$DIR/offsets.json" --log-format text --tombstones-on-delete=false)
rm -f "$DIR/offsets.json"
for c in $(seq 1 "$CYCLES"); do
  "${SL[@]}" >>"$DIR/logs/sluice.$c.log" 2>&1 &
  SLUICE=$!
  w=$(awk -v a="$MIN_S" -v b="$MAX_S" -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", a + rand() * (b - a) }')
  sleep "$w"
  kill -9 "$SLUICE" 2>/dev/null || die "sluice exited by itself in cycle $c (log $DIR/logs/sluice.$c.log)"
  wait "$SLUICE" 2>/dev/null || true
  SLUICE=""
  log "cycle $c: killed after $w s; offset $(cut -c1-200 "$DIR/offsets.json" 2>/dev/null)"
done
log "final run: until the snapshot completes, then the writer stops"
"${SL[@]}" >>"$DIR/logs/sluice.final.log" 2>&1 &
SLUICE=$!
# A small table may finish its snapshot before the last kill: any run's log counts.
until grep -qs "snapshot completed" "$DIR"/logs/sluice.*.log; do
  kill -0 "$SLUICE" 2>/dev/null || die "sluice exited (log $DIR/logs/sluice.final.log)"
  sleep 1
done
kill "$WRITER"; wait "$WRITER" 2>/dev/null || true
WRITER=""
sleep 10 # the last changes through the stream
kill "$SLUICE"; wait "$SLUICE" || true
SLUICE=""
rows_now="$(psqld -c "SELECT count(*) FROM snap")"
counts="$("$BIN/topicops" -kafka "$KAFKA" -topic kill.public.snap)"
"$BIN/snaprestarts" -kafka "$KAFKA" -topic kill.public.snap | tee "$DIR/restarts.txt"
reads="$(sed -n 's/.*"r":\([0-9]*\).*/\1/p' <<<"$counts")"
log "records by op: $counts; snapshot rows emitted $reads for $ROWS rows ($(awk -v r="$reads" -v n="$ROWS" 'BEGIN { printf "%.3f", r / n }')×); rows now $rows_now"
log "loading the topic into ClickHouse"
"$BIN/sluice" clickhouse --kafka-brokers "$KAFKA" --topics 'kill\.public\.snap' --group killch --clickhouse-addr "$CH" \
  --clickhouse-database "$DB" --log-format text --http-addr 127.0.0.1:$((KPORT + 1)) >"$DIR/logs/clickhouse.log" 2>&1 &
CHP=$!
total="$(grep -o "[0-9][0-9]*" <<<"$counts" | awk "{ s += \$1 } END { print s }")"
until [ "$(curl -sf http://127.0.0.1:$((KPORT + 1))/metrics | awk '$1 == "sluice_records_total" { printf "%d", $2 }')" = "$total" ]; do
  kill -0 "$CHP" 2>/dev/null || die "sluice clickhouse exited (log $DIR/logs/clickhouse.log)"
  sleep 2
done
sleep 5
kill "$CHP"; wait "$CHP" || true
"$BIN/sluice" verify --dsn "$DSN" --clickhouse-addr "$CH" --clickhouse-database "$DB" --table-include 'public\.snap' --recheck-timeout 1m \
  | tee "$DIR/verify.txt"
log "done: $CYCLES kills, snapshot rows emitted $reads for $ROWS ($(awk -v r="$reads" -v n="$ROWS" 'BEGIN { printf "%.3f", r / n }')×), verify above"
