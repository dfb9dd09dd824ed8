#!/usr/bin/env bash
# mysnapkill.sh: issue 15's must-show for MySQL/MariaDB. A table of KILL_ROWS (5,000,000) rows is
# snapshotted by `sluice mysql` into a private kfake broker while a writer keeps updating,
# deleting and inserting rows; sluice is killed with SIGKILL at a random point KILL_CYCLES (10)
# times, each restart resuming from the offsets file (the rest of the snapshot in watermark
# windows, --signal-data-collection); the last run finishes the snapshot and streams until the
# writer has stopped. Then:
#   - the snapshot records (op r) in the topic are counted against the table (goal ≤ 1.1×), and
#     bench/cmd/snaprestarts lists what each restart read again and the read rate before it;
#   - the topic is loaded into ClickHouse with `sluice clickhouse` and `sluice verify` compares
#     every row with the source (goal: no key missing, differing or extra).
# Uses a shared test server (KILL_SERVER mysql (default) or mariadb; a database of its own,
# dropped at the end, loaded with sql_log_bin=0 so the load is not in the binlog), the shared
# ClickHouse (a database of its own, dropped) and a private kfake (KILL_KAFKA_PORT, 25494).
#   KILL_ROWS (5000000)  KILL_CYCLES (10)  KILL_MIN_S/KILL_MAX_S (2/6: seconds before each kill)
#   KILL_DIR (/tmp/sluice-mysnapkill)  KILL_RATE (200: writer transactions per second)
#   KILL_READ_ONLY (0; 1: --read-only, GTID-set windows, nothing written by sluice)
#   KILL_DB (mysnapkill: the database on both servers; another name lets two runs share the servers)
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
REPO="$(dirname "$HERE")"
ROWS="${KILL_ROWS:-5000000}"
CYCLES="${KILL_CYCLES:-10}"
MIN_S="${KILL_MIN_S:-2}" MAX_S="${KILL_MAX_S:-6}"
RATE="${KILL_RATE:-200}"
DIR="${KILL_DIR:-/tmp/sluice-mysnapkill}"
KPORT="${KILL_KAFKA_PORT:-25494}"
HPORT=$((KPORT + 1))
KAFKA="127.0.0.1:$KPORT"
DB="${KILL_DB:-mysnapkill}"
BIN="$DIR/bin"
eval "$("$REPO/scripts/servers.sh" env)"
case "${KILL_SERVER:-mysql}" in
  mysql) SRV="$SLUICE_TEST_MYSQL_DSN" ;;
  mariadb) SRV="$SLUICE_TEST_MARIADB_DSN" ;;
  *) echo "KILL_SERVER: mysql or mariadb" >&2; exit 2 ;;
esac
ADDR="${SRV#*tcp(}" ADDR="${ADDR%%)*}" # root@tcp(127.0.0.1:13307)/ → 127.0.0.1:13307
DSN="mysql://root@$ADDR"
CH="$SLUICE_TEST_CLICKHOUSE_ADDR"

log() { printf '[mysnapkill %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
my() { mysql --no-defaults -h "${ADDR%:*}" -P "${ADDR#*:}" -uroot -N -B "$@"; }

rm -rf "$DIR/logs"
mkdir -p "$BIN" "$DIR/logs"
(cd "$REPO" && go build -o "$BIN/sluice" ./cmd/sluice && go build -o "$BIN/topicops" ./bench/cmd/topicops && go build -o "$BIN/snaprestarts" ./bench/cmd/snaprestarts) || die "go build failed"
WRITER=""
SLUICE=""
cleanup() {
  rm -f "$DIR/writer.on"
  [ -n "$WRITER" ] && wait "$WRITER" 2>/dev/null || true
  [ -n "$SLUICE" ] && kill -9 "$SLUICE" 2>/dev/null || true
  if [ "${KILL_KEEP:-0}" != 1 ]; then
    KAFKA_PORT="$KPORT" KAFKA_DIR="$DIR/kafka" "$REPO/scripts/kafka.sh" stop >/dev/null 2>&1 || true
    my -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB" || true
    clickhouse-client --host "${CH%:*}" --port "${CH#*:}" -q "DROP DATABASE IF EXISTS $DB" || true
    rm -rf "$DIR/kafka" "$DIR/offsets.json" "$DIR/offsets.json.history"
  fi
}
trap cleanup EXIT

KAFKA_PORT="$KPORT" KAFKA_DIR="$DIR/kafka" KAFKA_AUTO_CREATE=1 "$REPO/scripts/kafka.sh" start
clickhouse-client --host "${CH%:*}" --port "${CH#*:}" -q "DROP DATABASE IF EXISTS $DB"
log "loading $ROWS rows into $DB on $ADDR (${KILL_SERVER:-mysql}), not binlogged"
t0=$SECONDS
my -e "SET sql_log_bin = 0; DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB; USE $DB;
CREATE TABLE $DB.snap (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(40));
CREATE TABLE $DB.sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048));
CREATE TABLE $DB.digits (d INT PRIMARY KEY);
INSERT INTO $DB.digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
INSERT INTO $DB.snap SELECT n, 0, CONCAT('row ', n) FROM (
  SELECT 1 + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 100000*g.d + 1000000*h.d AS n
  FROM $DB.digits a, $DB.digits b, $DB.digits c, $DB.digits e, $DB.digits f, $DB.digits g, $DB.digits h) x WHERE n <= $ROWS;
DROP TABLE $DB.digits; ANALYZE TABLE $DB.snap" >/dev/null
log "loaded in $((SECONDS - t0)) s"

# The writer: RATE transactions/s, each one statement (update, delete, or insert of a new key).
writer() {
  local top=$((ROWS + ROWS / 50)) per=$((RATE / 10))
  while [ -e "$DIR/writer.on" ]; do
    for _ in $(seq 1 "$per"); do
      case $((RANDOM % 3)) in
        0) echo "UPDATE $DB.snap SET v = v + 1 WHERE id = $(( (RANDOM * 32768 + RANDOM) % top + 1 ));" ;;
        1) echo "DELETE FROM $DB.snap WHERE id = $(( (RANDOM * 32768 + RANDOM) % top + 1 ));" ;;
        2) echo "INSERT INTO $DB.snap VALUES ($(( ROWS + (RANDOM * 32768 + RANDOM) % (ROWS / 50) + 1 )), 0, 'new') ON DUPLICATE KEY UPDATE v = v + 1;" ;;
      esac
    done
    sleep 0.1
  done | my
}
touch "$DIR/writer.on"
writer >"$DIR/logs/writer.log" 2>&1 &
WRITER=$!

WINDOWS=(--signal-data-collection "$DB.sig")
[ "${KILL_READ_ONLY:-0}" = 1 ] && WINDOWS=(--read-only)
SL=("$BIN/sluice" mysql --dsn "$DSN" --server-id $((7000 + RANDOM % 1000)) --topic-prefix kill --database-include "$DB"
  "${WINDOWS[@]}" --sink kafka --kafka-brokers "$KAFKA" --offsets-file "$DIR/offsets.json"
  --log-format text --tombstones-on-delete=false)
rm -f "$DIR/offsets.json" "$DIR/offsets.json.history"
for c in $(seq 1 "$CYCLES"); do
  "${SL[@]}" >>"$DIR/logs/sluice.$c.log" 2>&1 &
  SLUICE=$!
  w=$(awk -v a="$MIN_S" -v b="$MAX_S" -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", a + rand() * (b - a) }')
  sleep "$w"
  kill -9 "$SLUICE" 2>/dev/null || die "sluice exited by itself in cycle $c (log $DIR/logs/sluice.$c.log)"
  wait "$SLUICE" 2>/dev/null || true
  SLUICE=""
  log "cycle $c: killed after $w s; offset $(cut -c1-240 "$DIR/offsets.json" 2>/dev/null)"
done
log "final run: until the snapshot completes, then the writer stops"
"${SL[@]}" >>"$DIR/logs/sluice.final.log" 2>&1 &
SLUICE=$!
until grep -q "snapshot completed" "$DIR/logs/sluice.final.log"; do
  kill -0 "$SLUICE" 2>/dev/null || die "sluice exited (log $DIR/logs/sluice.final.log)"
  sleep 1
done
rm -f "$DIR/writer.on" # the writer's loop ends, and the client with its input
wait "$WRITER" 2>/dev/null || true
WRITER=""
sleep 10 # the last changes through the stream
kill "$SLUICE"; wait "$SLUICE" || true
SLUICE=""
rows_now="$(my -e "SELECT count(*) FROM $DB.snap")"
counts="$("$BIN/topicops" -kafka "$KAFKA" -topic "kill.$DB.snap")"
"$BIN/snaprestarts" -kafka "$KAFKA" -topic "kill.$DB.snap" | tee "$DIR/restarts.txt"
reads="$(sed -n 's/.*"r":\([0-9]*\).*/\1/p' <<<"$counts")"
ratio="$(awk -v r="$reads" -v n="$ROWS" 'BEGIN { printf "%.3f", r / n }')"
log "records by op: $counts; snapshot rows emitted $reads for $ROWS rows (${ratio}×); rows now $rows_now"
log "loading the topic into ClickHouse"
"$BIN/sluice" clickhouse --kafka-brokers "$KAFKA" --topics "kill\\.$DB\\.snap" --group killch --clickhouse-addr "$CH" \
  --clickhouse-database "$DB" --log-format text --http-addr "127.0.0.1:$HPORT" >"$DIR/logs/clickhouse.log" 2>&1 &
CHP=$!
total="$(grep -o "[0-9][0-9]*" <<<"$counts" | awk "{ s += \$1 } END { print s }")"
# The counter may print as a float (5.200337e+06).
until [ "$(curl -sf "http://127.0.0.1:$HPORT/metrics" | awk '$1 == "sluice_records_total" { printf "%d", $2 }')" = "$total" ]; do
  kill -0 "$CHP" 2>/dev/null || die "sluice clickhouse exited (log $DIR/logs/clickhouse.log)"
  sleep 2
done
sleep 5
kill "$CHP"; wait "$CHP" || true
"$BIN/sluice" verify --dsn "$DSN" --clickhouse-addr "$CH" --clickhouse-database "$DB" --table-include "$DB\\.snap" --recheck-timeout 1m \
  | tee "$DIR/verify.txt"
log "done: $CYCLES kills, snapshot rows emitted $reads for $ROWS (${ratio}×), verify above"
