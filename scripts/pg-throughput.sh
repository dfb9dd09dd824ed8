#!/usr/bin/env bash
# pg-throughput.sh: rows/s of sluice postgres against pg_recvlogical draining the same slot
# contents, for the 1.7 M-change workload of the project's limits notes (orders table: 1,000,000
# inserts, 500,000 updates, 200,000 deletes in 10,000-row transactions).
# Uses the PostgreSQL 15 test server (scripts/servers.sh start postgres15; PG_PORT 15432) and, for
# the Kafka runs, the kfake broker (scripts/servers.sh start kafka; 127.0.0.1:19092).
#   REPS (2)  SINKS ("stdout kafka")  ROWS (1000000) UPDATES (500000) DELETES (200000)
# Prints one line per drain and a summary with the ratio sluice / pg_recvlogical.
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
ROOT="$(dirname "$HERE")"
. "$HERE/lib.sh"
PORT="${PG_PORT:-15432}" REPS="${REPS:-2}" SINKS="${SINKS:-stdout kafka}"
ROWS="${ROWS:-1000000}" UPDATES="${UPDATES:-500000}" DELETES="${DELETES:-200000}" TXN=10000
BROKERS="${KAFKA_BROKERS:-127.0.0.1:19092}"
BIN=/usr/lib/postgresql/15/bin
export PGPASSWORD="${PG_PASSWORD:-postgres}"
W="$INFRA_DIR/pg-throughput"; mkdir -p "$W"
sql() { "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d "${DB:-bench}" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

log "building sluice"
(cd "$ROOT" && go build -o "$W/sluice" ./cmd/sluice)

DB=postgres sql -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = 'bench'" >/dev/null
DB=postgres sql -c "DROP DATABASE IF EXISTS bench WITH (FORCE)" -c "CREATE DATABASE bench"
sql -c "CREATE TABLE orders(id bigserial PRIMARY KEY, customer_id bigint, amount numeric(12,2), status text, created_at timestamptz, payload jsonb)" \
    -c "CREATE TABLE bench_end(id int)" -c "CREATE PUBLICATION pub FOR TABLE orders, bench_end" \
    -c "SELECT pg_create_logical_replication_slot('tpl', 'pgoutput')" >/dev/null
log "writing the workload"
t0=$(now_s)
{
  for ((s=1; s<=ROWS; s+=TXN)); do echo "INSERT INTO orders(customer_id,amount,status,created_at,payload) SELECT g%10007,(g%100000)/100.0,'new',now(),jsonb_build_object('sku','SKU-'||g,'qty',g%10,'note',md5(g::text)) FROM generate_series($s,$((s+TXN-1))) g;"; done
  for ((s=1; s<=UPDATES; s+=TXN)); do echo "UPDATE orders SET status='paid', amount=amount+1 WHERE id BETWEEN $s AND $((s+TXN-1));"; done
  for ((s=ROWS-DELETES+1; s<=ROWS; s+=TXN)); do echo "DELETE FROM orders WHERE id BETWEEN $s AND $((s+TXN-1));"; done
} | sql
XID=$(sql -c "BEGIN" -c "INSERT INTO bench_end VALUES (1)" -c "SELECT txid_current()" -c "COMMIT")
sql -c CHECKPOINT
END=$(sql -c "SELECT pg_current_wal_lsn()")
CHANGES=$((ROWS + UPDATES + DELETES + 1))
log "workload written in $(elapsed "$t0") s; $CHANGES changes, end $END, marker xid $XID"

results="$W/results.tsv"; : > "$results"
copy_slot() { sql -c "SELECT pg_drop_replication_slot('$1') FROM pg_replication_slots WHERE slot_name = '$1'" -c "SELECT pg_copy_logical_replication_slot('tpl', '$1')" >/dev/null; }
rate() { awk -v n="$CHANGES" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }

drain_recvlogical() {
  copy_slot s_recv
  local t0; t0=$(now_s)
  "$BIN/pg_recvlogical" -h 127.0.0.1 -p "$PORT" -U postgres -d bench --slot=s_recv --start --endpos="$END" --no-loop -F 0 \
    -o proto_version=1 -o publication_names=pub -f /dev/null
  elapsed "$t0"
}

drain_sluice() { # SINK
  copy_slot s_sluice
  rm -f "$W/offsets.json"
  local args=(postgres --dsn "postgres://postgres@127.0.0.1:$PORT/bench?sslmode=disable" --slot s_sluice --publication pub
    --snapshot-mode no_data --topic-prefix bench --offsets-file "$W/offsets.json" --offsets-flush-interval 50ms --log-level warn)
  [ "$1" = kafka ] && args+=(--sink kafka --kafka-brokers "$BROKERS" --topic-partitions 1)
  local t0 pid; t0=$(now_s)
  "$W/sluice" "${args[@]}" >/dev/null 2>"$W/sluice-$1.log" &
  pid=$!
  until grep -q "\"txId\":$XID,.*\"messageType\":\"COMMIT\"" "$W/offsets.json" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$W/sluice-$1.log" >&2; die "sluice exited"; }
    sleep 0.02
  done
  local t; t=$(elapsed "$t0")
  kill -TERM "$pid"; wait "$pid" || true
  echo "$t"
}

for rep in $(seq 1 "$REPS"); do
  s=$(drain_recvlogical); printf '%s\tpg_recvlogical\t%s\t%s\n' "$rep" "$s" "$(rate "$s")" | tee -a "$results"
  for sink in $SINKS; do
    s=$(drain_sluice "$sink"); printf '%s\tsluice-%s\t%s\t%s\n' "$rep" "$sink" "$s" "$(rate "$s")" | tee -a "$results"
  done
done
sql -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('s_recv', 's_sluice', 'tpl')" >/dev/null
echo
echo "== median rows/s (ratio to pg_recvlogical, same slot contents)"
awk -F'\t' '{ r[$2] = r[$2] " " $4 } END {
  for (k in r) { n = split(substr(r[k], 2), a, " "); asort(a); m[k] = (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  for (k in m) printf "%-18s %8.0f rows/s  %.2f\n", k, m[k], m[k] / m["pg_recvlogical"] }' "$results"
