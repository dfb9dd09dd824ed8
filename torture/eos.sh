#!/usr/bin/env bash
# eos.sh: the exactly-once crash test (issue 18). Usage: torture/eos.sh pg|my eos|alo
# A 20,000-row workload (400 INSERTs of 50 rows) runs against the test server
# (SLUICE_TEST_PG_DSN, or MySQL on SLUICE_TEST_MYSQL_PORT, default 13307) while sluice is
# killed with SIGKILL $KILLS times (default 50) and a private kfake broker is restarted
# $RESTARTS times (default 10); then torture/cmd/eoscount reads the topic read_committed and
# read_uncommitted. It exits 1 when read_committed lacks a row (either mode) or, in eos mode
# (--exactly-once), shows one twice; alo (the control run) shows duplicates, so the checker can
# fail. ROWS (default 20000, a multiple of 50) sets the workload: ROWS=2000 KILLS=5 RESTARTS=1
# is a quick variant (about a minute).
#   EOS_DIR (/tmp/sluice-eos): binaries, broker data, logs.
#   SNAP_ROWS (0): rows in the table before the first start, read by the initial snapshot
#   (negative ids), which the kills then cut (issue 18: a snapshot batch committed past its
#   offset was read again after a kill).
#   GAP_MS (300): a kill comes GAP_MS to 7/3 GAP_MS after the last (a slow start may see none).
#   LOG_LEVEL (warn): sluice's --log-level; EOS_KEEP=1 keeps a failed run's broker data.
set -u
HERE="$(dirname "$(readlink -f "$0")")"; REPO="$(dirname "$HERE")"
EOS_DIR=${EOS_DIR:-/tmp/sluice-eos}; mkdir -p "$EOS_DIR"
(cd "$REPO" && go build -o "$EOS_DIR/sluice" ./cmd/sluice && go build -o "$EOS_DIR/eoscount" ./torture/cmd/eoscount) || exit 1
DB=$1; MODE=$2
if [ "$DB" = pg ] && [ -z "${SLUICE_TEST_PG_DSN:-}" ]; then
  echo 'eos.sh: SLUICE_TEST_PG_DSN is not set: eval "$(scripts/servers.sh env)" first' >&2; exit 2
fi
SNAP_ROWS=${SNAP_ROWS:-0}; GAP_MS=${GAP_MS:-300}; KILLS=${KILLS:-50}; RESTARTS=${RESTARTS:-10}; ROWS=${ROWS:-20000}; STMTS=$((ROWS/50))
ID=eosc$$$DB$MODE
KP=${EOS_KAFKA_PORT:-$((46092 + RANDOM%50))}; KD=$EOS_DIR/kafka-$ID
K="env KAFKA_PORT=$KP KAFKA_DIR=$KD $REPO/scripts/kafka.sh"
$K start >/dev/null 2>&1 || { echo "broker failed"; exit 1; }
trap '$K stop >/dev/null 2>&1' EXIT # also when set -u or a failed step ends the script early
BR=127.0.0.1:$KP
EXTRA=""; [ "$MODE" = eos ] && EXTRA="--exactly-once"
if [ $DB = pg ]; then
  PG="$SLUICE_TEST_PG_DSN"
  psql "$PG" -qc "create table ${ID}(id int primary key, v int)" >/dev/null
  [ "$SNAP_ROWS" != 0 ] && psql "$PG" -qc "insert into ${ID} select -g, -g from generate_series(1, $SNAP_ROWS) g" >/dev/null
  SRC=(postgres --dsn "$PG" --slot ${ID} --publication ${ID} --table-include public.${ID})
  TOPIC=${ID}.public.${ID}
  ins() { psql "$PG" -qc "insert into ${ID} select g, g from generate_series($1, $2) g" >/dev/null 2>&1; }
else
  MP=${SLUICE_TEST_MYSQL_PORT:-13307}; M="mysql -h127.0.0.1 -P$MP -uroot"
  $M -e "create database ${ID}; create table ${ID}.t(id int primary key, v int)"
  [ "$SNAP_ROWS" != 0 ] && $M -e "set session cte_max_recursion_depth = $SNAP_ROWS; insert into ${ID}.t with recursive s(n) as (select 1 union all select n+1 from s where n < $SNAP_ROWS) select -n, -n from s"
  SRC=(mysql --dsn "mysql://root@127.0.0.1:$MP" --server-id $((5000+RANDOM%1000)) --database-include ${ID})
  TOPIC=${ID}.${ID}.t
  ins() { $M -e "insert into ${ID}.t with recursive s(n) as (select $1 union all select n+1 from s where n < $2) select n, n from s"; }
fi
run() {
  $EOS_DIR/sluice "${SRC[@]}" --topic-prefix ${ID} --name ${ID} --sink kafka --kafka-brokers $BR \
    --offsets-topic ${ID}-offsets --offsets-flush-interval 1s --errors-retry-timeout -1s $EXTRA --log-level ${LOG_LEVEL:-warn} >>$EOS_DIR/${ID}.log 2>&1 &
  echo $!
}
# With SNAP_ROWS the kills begin at once, so that they cut the initial snapshot (and its
# resumption in windows while the workload streams); the workload begins after 3 s either way.
pid=$(run); [ "$SNAP_ROWS" = 0 ] && sleep 3
( [ "$SNAP_ROWS" != 0 ] && sleep 3; for i in $(seq 1 $STMTS); do ins $(( (i-1)*50+1 )) $(( i*50 )); sleep 0.1; done ) &
wl=$!
kills=0; restarts=0
for k in $(seq 1 $KILLS); do
  sleep 0.$((RANDOM%5+3))
  kill -9 $pid; wait $pid 2>/dev/null; kills=$((kills+1)); pid=$(run)
  if [ $((k % 5)) = 0 ] && [ $restarts -lt $RESTARTS ]; then $K stop >/dev/null 2>&1; sleep 1; $K start >/dev/null 2>&1; restarts=$((restarts+1)); fi
done
wait $wl
sleep 15
kill $pid; wait $pid 2>/dev/null
echo "$DB $MODE: $kills kill -9, $restarts broker restarts, $ROWS rows, $SNAP_ROWS snapshot rows"
CHECK=(-want $((ROWS + SNAP_ROWS))); [ "$MODE" = eos ] && CHECK+=(-exactly-once)
$EOS_DIR/eoscount "${CHECK[@]}" $BR $TOPIC; verdict=$?
$K stop >/dev/null 2>&1
if [ $verdict != 0 ] && [ -n "${EOS_KEEP:-}" ]; then echo "broker data kept: $KD"; else rm -rf $KD; fi
if [ $DB = pg ]; then
  psql "$PG" -qc "select pg_drop_replication_slot('${ID}')" >/dev/null 2>&1
  psql "$PG" -qc "drop table ${ID}; drop publication if exists ${ID}" >/dev/null 2>&1
else
  $M -e "drop database ${ID}"
fi
echo "log $EOS_DIR/${ID}.log:"; grep -o '"msg":"[^"]*"\|^sluice[^:]*: [^:]*: [^:]*' $EOS_DIR/${ID}.log | sort | uniq -c | sort -rn | head -6
exit $verdict
