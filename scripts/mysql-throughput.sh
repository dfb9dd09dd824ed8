#!/usr/bin/env bash
# mysql-throughput.sh: changes/s, CPU and peak RSS of `sluice mysql` streaming the orders
# workload of the project's limits notes (ROWS inserts, ROWS/2 updates, ROWS/5 deletes in
# 10,000-row transactions) from MariaDB (scripts/mariadb.sh, 13306) to the kfake broker
# (scripts/kafka.sh, 127.0.0.1:19092) or stdout (/dev/null), against
# mariadb-binlog --read-from-remote-server --base64-output=decode-rows over the same binlog.
#   ROWS (1000000)  SINKS ("kafka stdout")  MARIADB_PORT (13306)  KAFKA_BROKERS
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
ROOT="$(dirname "$HERE")"
. "$HERE/lib.sh"
PORT="${MARIADB_PORT:-13306}" ROWS="${ROWS:-1000000}" SINKS="${SINKS:-kafka stdout}" TXN=10000
BROKERS="${KAFKA_BROKERS:-127.0.0.1:19092}"
W="$INFRA_DIR/mysql-throughput"
if [ "${REUSE:-0}" = 1 ] && [ -s "$W/state" ]; then . "$W/state"; else rm -rf "$W"; fi
mkdir -p "$W"
sql() { mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot -N -B "$@"; }
log "building sluice"
(cd "$ROOT" && go build -o "$W/sluice" ./cmd/sluice)
if [ -z "${endgtid:-}" ]; then
sql -e "DROP DATABASE IF EXISTS sl_tp; CREATE DATABASE sl_tp; CREATE TABLE sl_tp.orders(id bigint AUTO_INCREMENT PRIMARY KEY, customer_id bigint, amount decimal(12,2), status varchar(16), created_at timestamp(6), payload json); FLUSH BINARY LOGS"
first=$(sql -e "SHOW BINARY LOGS" | tail -1 | cut -f1)
startgtid=$(sql -e "SELECT @@gtid_binlog_pos")
# the offset where the workload starts (as a snapshot would leave it)
printf '{"key":["sluice",{"server":"tp"}],"value":{"file":"%s","pos":4,"gtids":"%s","ts_sec":0}}' "$first" "$startgtid" > "$W/offsets.tpl"
log "writing the workload ($ROWS rows)"
t0=$(now_s)
{ for ((s=1; s<=ROWS; s+=TXN)); do e=$((s+TXN-1))
    echo "INSERT INTO orders(customer_id,amount,status,created_at,payload) SELECT seq%10007,(seq%100000)/100.0,'new',now(6),JSON_OBJECT('sku',CONCAT('SKU-',seq),'qty',seq%10,'note',MD5(seq)) FROM seq_${s}_to_${e};"; done
  for ((s=1; s<=ROWS/2; s+=TXN)); do echo "UPDATE orders SET status='paid', amount=amount+1 WHERE id BETWEEN $s AND $((s+TXN-1));"; done
  for ((s=ROWS-ROWS/5+1; s<=ROWS; s+=TXN)); do echo "DELETE FROM orders WHERE id BETWEEN $s AND $((s+TXN-1));"; done
} | mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot sl_tp
sql -e "CREATE TABLE sl_tp.bench_end(id int primary key); INSERT INTO sl_tp.bench_end VALUES (1)"
endgtid=$(sql -e "SELECT @@gtid_binlog_pos")
log "workload written in $(elapsed "$t0") s, binlog $(sql -e "SHOW BINARY LOGS" | awk -v f="$first" '$1>=f{s+=$2} END{printf "%.1f MB", s/1e6}')"
changes=$(mariadb-binlog --no-defaults --read-from-remote-server -h127.0.0.1 -P"$PORT" -uroot --to-last-log --base64-output=decode-rows -v "$first" 2>/dev/null | grep -c '^### \(INSERT\|UPDATE\|DELETE\)' || true)
log "binlog rows events hold $changes row changes"
t0=$(now_s)
mariadb-binlog --no-defaults --read-from-remote-server -h127.0.0.1 -P"$PORT" -uroot --to-last-log --base64-output=decode-rows -v "$first" >/dev/null 2>&1
ref=$(elapsed "$t0")
printf 'first=%s\nstartgtid=%s\nendgtid=%s\nchanges=%s\nref=%s\n' "$first" "$startgtid" "$endgtid" "$changes" "$ref" > "$W/state"
fi
log "mariadb-binlog decode-rows: $ref s = $(awk -v n="$changes" -v s="$ref" 'BEGIN{printf "%.0f", n/s}') rows/s"
for sink in $SINKS; do
  cp "$W/offsets.tpl" "$W/offsets.json"; rm -f "$W/offsets.json.history"
  args=(mysql --dsn "mysql://root@127.0.0.1:$PORT" --server-id 4242 --topic-prefix tp --database-include sl_tp
        --snapshot-mode recovery --offsets-file "$W/offsets.json" --schemas-enable=false --log-level warn --sink "$sink")
  [ "$sink" = kafka ] && args+=(--kafka-brokers "$BROKERS")
  t0=$(now_s)
  /usr/bin/time -f '%U %S %M' -o "$W/time.$sink" "$W/sluice" "${args[@]}" >/dev/null 2>"$W/err.$sink" &
  pid=$!
  # done when the offset reaches the end GTID (sequence numbers of domain 0; others may write too)
  endseq=${endgtid##*-}
  until [ "$(sed -n 's/.*"gtids":"0-[0-9]*-\([0-9]*\).*/\1/p' "$W/offsets.json" 2>/dev/null || true)" -ge "$endseq" ] 2>/dev/null; do
    kill -0 $pid 2>/dev/null || { cat "$W/err.$sink" >&2; die "sluice exited"; }
    sleep 0.05
  done
  s=$(elapsed "$t0")
  # stop sluice (the child of time), then let time write its report
  kill -TERM "$(pgrep -P $pid)" 2>/dev/null || true; wait $pid 2>/dev/null || true
  read -r u sy rss < "$W/time.$sink"
  printf 'sink=%s changes=%s seconds=%s changes_per_s=%s cpu_us_per_change=%s peak_rss_MB=%s ratio_vs_mariadb_binlog=%s\n' \
    "$sink" "$changes" "$s" "$(awk -v n="$changes" -v s="$s" 'BEGIN{printf "%.0f", n/s}')" \
    "$(awk -v n="$changes" -v u="$u" -v y="$sy" 'BEGIN{printf "%.2f", (u+y)*1e6/n}')" "$((rss/1024))" \
    "$(awk -v a="$ref" -v b="$s" 'BEGIN{printf "%.2f", a/b}')"
done
