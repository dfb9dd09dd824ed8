#!/usr/bin/env bash
# bench.sh: end-to-end benchmarks of sluice against this machine's own references, side by side
# in one run (issue 7). `make bench` runs it at full size, `make bench-quick` at 1/10.
#
# It starts private servers with the project's scripts (scripts/servers.sh) under their own state
# dir and ports, so it never disturbs the test servers, loads the standard workload (orders: N
# inserts, N/2 updates, N/5 deletes in 10,000-row transactions), and measures, per repetition:
#   pg        PostgreSQL 15 → sluice postgres → stdout (/dev/null) and → Kafka (kfake process),
#             vs pg_recvlogical (pgoutput proto 1) draining a copy of the same slot; the plain
#             franz-go kgo producer (bench/cmd/kgoprod), the fastest Go producer measured here
#             (docs/bench.md, 2026-12-05 17:37), re-sending sluice's records vs sluice → Kafka;
#             sluice → Kafka --exactly-once (eos, counted read_committed) vs at-least-once
#   mariadb   MariaDB 10.11 binlog: sluice's replication client + row decoder (bench/cmd/binlogdecode)
#             vs mariadb-binlog --read-from-remote-server --base64-output=decode-rows -v
#   mysql     the same on MySQL 9.7 vs its mysqlbinlog
#   clickhouse  Kafka → sluice-clickhouse, sluice's PostgreSQL records with and without schemas
#             (the workload is loaded when no pg section ran), vs clickhouse-client TSV insert;
#             the Kafka read ceiling: a plain kgo consumer (bench/cmd/kgodrain) draining the topics,
#             and sluice's own consumer alone (kgodrain -source: source/kafka, no sink)
#   snapshot  PostgreSQL initial snapshot (sluice postgres --snapshot-mode initial_only) of an
#             N×5-row table vs psql COPY … TO STDOUT of the same table to /dev/null
#   mysnapshot  the same on MySQL 9.7 (sluice mysql --snapshot-mode initial_only, --snapshot-max-threads
#             BENCH_MYSNAP_THREADS, default 4) vs mysql --quick -e "SELECT * FROM …" to /dev/null; also
#             the server's CPU for each and the cores' idle share (neither the client nor the server)
#   latency   2,000 single-row transactions ~2 ms apart: commit → record in Kafka via sluice vs
#             commit → pg_recvlogical receipt (test_decoding) in the same run; the Kafka hop alone
#             (latprobe -direct: the sink's producer settings, send → consumed); sluice idle RSS
# Each subject runs under bench/cmd/benchrun (wall, CPU seconds and peak RSS of that process).
# Results: Markdown table on stdout, bench/results/latest.json, raw samples in $WORK/samples.tsv.
#
# Settings (environment):
#   BENCH_SCALE (1)    divide the workload by this (bench-quick: 10)
#   BENCH_REPS (3)     repetitions
#   BENCH_SECTIONS ("pg mariadb mysql clickhouse snapshot mysnapshot latency")
#   BENCH_INFRA_DIR (/tmp/sluice-bench)  servers' state; ports: BENCH_PG_PORT (25432),
#     BENCH_MARIADB_PORT (23316), BENCH_MYSQL_PORT (23317), BENCH_CH_PORT (29000/29123 http),
#     BENCH_KAFKA_PORT (29092), BENCH_HTTP_PORT (29100, sluice /metrics)
#   BENCH_SRC (head)   build sluice from the last commit (git archive HEAD; bench/ from the work
#                      tree) or "tree" (the work tree as it is)
#   BENCH_SNAPSHOT_THREADS (4)  --snapshot-max-threads of the snapshot section
#   BENCH_SCHEMAS (false)  --schemas-enable for sluice (false: ~600-byte envelopes, as the
#                      limits' Kafka reference; true: Debezium's JsonConverter default, ~4× bigger)
#   BENCH_CH_COMPRESSION (lz4)  compression of the topic the clickhouse section consumes
#   BENCH_KEEP (0)     1: leave the servers running afterwards
#   BENCH_PPROF (0)    1: one extra PG → Kafka run with a CPU profile ($WORK/pg_kafka.pprof), and
#                      Kafka → ClickHouse runs with CPU and allocation profiles
#                      ($WORK/clickhouse_{ch,plain}.{pprof,heap}, tops in *.pprof.txt, *.allocs.txt)
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
REPO="$(dirname "$HERE")"

SCALE="${BENCH_SCALE:-1}"
REPS="${BENCH_REPS:-3}"
SECTIONS="${BENCH_SECTIONS:-pg mariadb mysql clickhouse snapshot mysnapshot latency}"
SCHEMAS="${BENCH_SCHEMAS:-false}"
CH_TOPIC_COMPRESSION="${BENCH_CH_COMPRESSION:-lz4}"
export SLUICE_INFRA_DIR="${BENCH_INFRA_DIR:-/tmp/sluice-bench}"
export PG15_PORT="${BENCH_PG_PORT:-25432}"
export MARIADB_PORT="${BENCH_MARIADB_PORT:-23316}" MARIADB_BUFFER_POOL=1G
export MYSQL9_PORT="${BENCH_MYSQL_PORT:-23317}" MYSQL9_BUFFER_POOL=1G
export CH_TCP_PORT="${BENCH_CH_PORT:-29000}" CH_HTTP_PORT="${BENCH_CH_HTTP_PORT:-29123}"
export KAFKA_PORT="${BENCH_KAFKA_PORT:-29092}"
HTTP_PORT="${BENCH_HTTP_PORT:-29100}"
KAFKA="127.0.0.1:$KAFKA_PORT"
WORK="$SLUICE_INFRA_DIR/work"
BIN="$WORK/bin"
SAMPLES="$WORK/samples.tsv"
FIGURES="$WORK/figures.tsv"
LOGS="$WORK/logs"

TXN=10000
ROWS=$((1000000 / SCALE)); UPDATES=$((500000 / SCALE)); DELETES=$((200000 / SCALE))
CHANGES=$((ROWS + UPDATES + DELETES))
SNAP_ROWS=$((5000000 / SCALE))
SNAP_THREADS="${BENCH_SNAPSHOT_THREADS:-4}" # --snapshot-max-threads of the snapshot section (issue 15: 4)
MYSNAP_THREADS="${BENCH_MYSNAP_THREADS:-4}"
LAT_N="${BENCH_LAT_N:-2000}"

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
has() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

# sample REP KEY VALUE: one raw measurement.
sample() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$SAMPLES"; }
# figure NAME UNIT KEY REF_NAME REF_KEY higher|lower: one row of the final table.
figure() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$FIGURES"; }
jget() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$2"; }
# measured REP PREFIX ROWS RESULT_JSON: rows/s, CPU s per million rows, peak RSS of one benchrun result.
measured() {
  local rep="$1" p="$2" n="$3" r="$4" wall cpu rss
  wall="$(jget wall_s "$r")"; cpu="$(jget cpu_s "$r")"; rss="$(jget maxrss_mb "$r")"
  sample "$rep" "$p.rows_s" "$(awk -v n="$n" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')"
  sample "$rep" "$p.cpu_s_per_M" "$(awk -v n="$n" -v c="$cpu" 'BEGIN { printf "%.3f", c * 1e6 / n }')"
  sample "$rep" "$p.rss_mb" "$rss"
  sample "$rep" "$p.wall_s" "$wall"
  log "  $p: $(awk -v n="$n" -v w="$wall" -v c="$cpu" -v r="$rss" 'BEGIN { printf "%.0f rows/s, wall %.2f s, cpu %.2f s, rss %.1f MB", n / w, w, c, r }')"
}
run() { "$BIN/benchrun" "$@"; }

# ---------------------------------------------------------------- build
build() {
  mkdir -p "$BIN" "$LOGS"
  local src="$REPO"
  if [ "${BENCH_SRC:-head}" = head ]; then
    src="$WORK/src"
    rm -rf "$src"; mkdir -p "$src"
    git -C "$REPO" archive HEAD | tar -x -C "$src"
    rm -rf "$src/bench"; cp -r "$REPO/bench" "$src/bench"
    BUILT="$(git -C "$REPO" rev-parse --short HEAD)"
    log "building sluice $BUILT (committed tree) and the bench helpers"
  else
    BUILT="$(git -C "$REPO" rev-parse --short HEAD)+tree"
    log "building sluice and the bench helpers from the work tree"
  fi
  local b
  for b in sluice sluice-postgres sluice-mysql sluice-clickhouse; do # the PG sections run sluice-postgres, MySQL ones sluice-mysql
    [ -d "$src/cmd/$b" ] || { rm -f "$BIN/$b"; continue; } # sluice-clickhouse is newer than some commits measured
    (cd "$src" && CGO_ENABLED=0 go build -o "$BIN/$b" "./cmd/$b") || die "go build ./cmd/$b failed"
  done
  local c
  for c in benchrun benchreport kgoprod binlogdecode latprobe kgodrain; do
    (cd "$src" && go build -o "$BIN/$c" "./bench/cmd/$c") || die "go build ./bench/cmd/$c failed"
  done
  "$BIN/sluice" help >"$WORK/sluice-help.txt" 2>&1 || true
}

# ---------------------------------------------------------------- servers
servers() { "$REPO/scripts/servers.sh" "$@"; }
start_servers() {
  mkdir -p "$SLUICE_INFRA_DIR"
  # The unpacked MySQL 9.7 tree (350 MB) is shared with the test servers' when it exists.
  if [ ! -e "$SLUICE_INFRA_DIR/mysql9-root" ] && [ -e /tmp/sluice-infra/mysql9-root/.complete ]; then
    ln -s /tmp/sluice-infra/mysql9-root "$SLUICE_INFRA_DIR/mysql9-root"
  fi
  local want=()
  { has pg || has snapshot || has latency || has clickhouse; } && want+=(postgres15)
  has mariadb && want+=(mariadb)
  { has mysql || has mysnapshot; } && want+=(mysql9)
  has clickhouse && want+=(clickhouse)
  { has pg || has mariadb || has mysql || has clickhouse || has latency; } && want+=(kafka)
  [ ${#want[@]} -gt 0 ] || return 0
  servers start "${want[@]}" >&2
  if [[ " ${want[*]} " == *" postgres15 "* ]]; then
    local conf="$SLUICE_INFRA_DIR/postgres15/data/postgresql.conf"
    if ! grep -q '^# bench settings' "$conf"; then
      # The limits' settings: big buffers, no checkpoints or autovacuum during a run.
      cat >>"$conf" <<CONF
# bench settings
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
autovacuum = off
CONF
      PG_VERSION=15 PG_PORT="$PG15_PORT" "$REPO/scripts/postgres.sh" stop >&2
      PG_VERSION=15 PG_PORT="$PG15_PORT" "$REPO/scripts/postgres.sh" start >&2
    fi
  fi
}
stop_servers() {
  # Subjects left running by a failed section (the latency section's sluice) go first.
  local p
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  [ "${BENCH_KEEP:-0}" = 1 ] || servers stop >&2 || true
}

# refs PREFIX REP FILE TOPIC: the plain franz-go kgo producer sends sluice's records. (The sarama
# producer of earlier runs was 0.7x of it; their results keep its figures, PREFIX.sarama.*.)
refs() {
  local p="$1" rep="$2" file="$3" topic="$4" r
  # On the broker sluice's run just filled, kfake's heap holds those records and its GC slows the
  # reference: both start from an empty log.
  kafka_fresh
  r="$(run -stderr "$LOGS/${p}_kgoprod.$rep.log" -- "$BIN/kgoprod" -brokers "$KAFKA" -topic "$topic.kgo" "$file")" \
    || die "kgoprod: $r"
  measured "$rep" "$p.kgo" "$CHANGES" "$r"
  # The fastest Go producer of this repetition: the ceiling sluice → Kafka is measured against.
  sample "$rep" "$p.fastest.rows_s" "$(awk -F'\t' -v r="$rep" -v b="$p.kgo.rows_s" \
    '$1 == r && $2 == b && $3 > m { m = $3 } END { print m + 0 }' "$SAMPLES")"
}

kafka_fresh() { # an empty kfake log (topics of earlier runs would only cost disk)
  "$REPO/scripts/kafka.sh" stop >&2
  rm -rf "$SLUICE_INFRA_DIR/kafka/data"
  "$REPO/scripts/kafka.sh" start >&2
}

# ---------------------------------------------------------------- PostgreSQL
PGBIN=/usr/lib/postgresql/15/bin
export PGPASSWORD=postgres
PG_DSN="postgres://postgres:postgres@127.0.0.1:$PG15_PORT/postgres?sslmode=disable"
psqlb() { "$PGBIN/psql" -h 127.0.0.1 -p "$PG15_PORT" -U postgres -d postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

pg_gen_sql() { # PHASE: one autocommit statement per TXN rows (the limits' pg_bench.sh SQL)
  local s e
  case $1 in
    insert) for ((s = 1; s <= ROWS; s += TXN)); do e=$((s + TXN - 1))
      echo "INSERT INTO orders(customer_id,amount,status,created_at,payload) SELECT g%10007,(g%100000)/100.0,'new',now(),jsonb_build_object('sku','SKU-'||g,'qty',g%10,'note',md5(g::text)) FROM generate_series($s,$e) g;"; done ;;
    update) for ((s = 1; s <= UPDATES; s += TXN)); do e=$((s + TXN - 1))
      echo "UPDATE orders SET status='paid', amount=amount+1 WHERE id BETWEEN $s AND $e;"; done ;;
    delete) for ((s = ROWS - DELETES + 1; s <= ROWS; s += TXN)); do e=$((s + TXN - 1))
      echo "DELETE FROM orders WHERE id BETWEEN $s AND $e;"; done ;;
  esac
}

pg_drop_slot() { # wait until the walsender let go, then drop
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(psqlb -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name='$1' AND active")" = 0 ] && break
    sleep 0.1
  done
  psqlb -c "SELECT pg_drop_replication_slot('$1') FROM pg_replication_slots WHERE slot_name='$1'" >/dev/null
}

pg_reset() {
  local s
  for s in $(psqlb -c "SELECT slot_name FROM pg_replication_slots"); do pg_drop_slot "$s"; done
  psqlb -c "DROP TABLE IF EXISTS orders, snap" -c "DROP PUBLICATION IF EXISTS pub" -c "DROP PUBLICATION IF EXISTS snappub" >/dev/null
}

pg_workload() {
  pg_reset
  psqlb -c "CREATE TABLE orders(id bigserial PRIMARY KEY, customer_id bigint, amount numeric(12,2), status text, created_at timestamptz, payload jsonb)" \
    -c "CREATE PUBLICATION pub FOR TABLE orders" -c "SELECT pg_create_logical_replication_slot('tpl','pgoutput')" >/dev/null
  local ph t0
  for ph in insert update delete; do
    t0=$(date +%s.%N)
    pg_gen_sql $ph | psqlb >/dev/null
    log "  PostgreSQL $ph phase: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  done
  psqlb -c "CHECKPOINT" >/dev/null
  PG_ENDPOS="$(psqlb -c "SELECT pg_current_wal_lsn()")"
}

sluice_pg() { # SLOT SINK [extra flags]: the sluice postgres command line, in the array SL
  local slot="$1" sink="$2"; shift 2
  SL=("$BIN/sluice-postgres" --dsn "$PG_DSN" --slot "$slot" --publication pub --publication-mode disabled \
    --snapshot-mode no_data --proto-version 1 --topic-prefix bench --sink "$sink" --kafka-brokers "$KAFKA" \
    --tombstones-on-delete=false --schemas-enable="$SCHEMAS" --http-addr "127.0.0.1:$HTTP_PORT" \
    --log-level warn --log-format text "$@")
}

section_pg() {
  log "PostgreSQL: loading $CHANGES changes"
  pg_workload
  local rep r slot
  for rep in $(seq 1 "$REPS"); do
    log "PostgreSQL rep $rep/$REPS"
    slot="ref_$rep"
    psqlb -c "SELECT pg_copy_logical_replication_slot('tpl','$slot')" >/dev/null
    r="$(run -stderr "$LOGS/pg_recvlogical.$rep.log" -- "$PGBIN/pg_recvlogical" -h 127.0.0.1 -p "$PG15_PORT" -U postgres -d postgres \
      --slot="$slot" --start --endpos="$PG_ENDPOS" --no-loop -F 0 -o proto_version=1 -o publication_names=pub -f /dev/null)" \
      || die "pg_recvlogical: $r"
    measured "$rep" pg.recvlogical "$CHANGES" "$r"
    pg_drop_slot "$slot"

    slot="out_$rep"
    psqlb -c "SELECT pg_copy_logical_replication_slot('tpl','$slot')" >/dev/null
    sluice_pg "$slot" stdout
    r="$(run -stderr "$LOGS/pg_stdout.$rep.log" -metrics "http://127.0.0.1:$HTTP_PORT/metrics" -metric sluice_records_total \
      -target "$CHANGES" -- "${SL[@]}")" || die "sluice postgres → stdout: $r (log $LOGS/pg_stdout.$rep.log)"
    measured "$rep" pg.stdout "$CHANGES" "$r"
    pg_drop_slot "$slot"

    kafka_fresh
    slot="kafka_$rep"
    psqlb -c "SELECT pg_copy_logical_replication_slot('tpl','$slot')" >/dev/null
    sluice_pg "$slot" kafka
    r="$(run -stderr "$LOGS/pg_kafka.$rep.log" -kafka "$KAFKA" -topic bench.public.orders -target "$CHANGES" -- "${SL[@]}")" || die "sluice postgres → kafka: $r (log $LOGS/pg_kafka.$rep.log)"
    measured "$rep" pg.kafka "$CHANGES" "$r"
    pg_drop_slot "$slot"

    # The same with --exactly-once (transactions, offsets in Kafka), counted read_committed.
    kafka_fresh
    slot="eos_$rep"
    psqlb -c "SELECT pg_copy_logical_replication_slot('tpl','$slot')" >/dev/null
    sluice_pg "$slot" kafka --exactly-once --offsets-topic bench-offsets --name "eos$rep"
    r="$(run -stderr "$LOGS/pg_eos.$rep.log" -kafka "$KAFKA" -topic bench.public.orders -read-committed -target "$CHANGES" -- "${SL[@]}")" \
      || die "sluice postgres → kafka --exactly-once: $r (log $LOGS/pg_eos.$rep.log)"
    measured "$rep" pg.eos "$CHANGES" "$r"
    pg_drop_slot "$slot"

    if [ "$rep" = 1 ]; then # sluice's records, for the plain producer (not timed)
      slot="dump_1"
      psqlb -c "SELECT pg_copy_logical_replication_slot('tpl','$slot')" >/dev/null
      sluice_pg "$slot" stdout
      run -stdout "$WORK/pg_records.jsonl" -stderr "$LOGS/pg_dump.log" -metrics "http://127.0.0.1:$HTTP_PORT/metrics" \
        -metric sluice_records_total -target "$CHANGES" -- "${SL[@]}" >/dev/null || die "record dump failed"
      pg_drop_slot "$slot"
      "$BIN/kgoprod" convert "$WORK/pg_records.jsonl" "$WORK/pg_records.bin" 2>>"$LOGS/kgoprod.log"
      rm -f "$WORK/pg_records.jsonl"
    fi
    refs pg "$rep" "$WORK/pg_records.bin" "ref.orders.$rep"
  done
  if [ "${BENCH_PPROF:-0}" = 1 ]; then
    log "PostgreSQL → Kafka with a CPU profile"
    kafka_fresh
    psqlb -c "SELECT pg_copy_logical_replication_slot('tpl','prof')" >/dev/null
    sluice_pg prof kafka
    local secs; secs="$(awk -F'\t' '$2 == "pg.kafka.wall_s" { print int($3 * 0.5) + 1; exit }' "$SAMPLES")"
    SLUICE_PPROF_ADDR="127.0.0.1:$((HTTP_PORT + 1))" run -stderr "$LOGS/pg_prof.log" -kafka "$KAFKA" -topic bench.public.orders \
      -target "$CHANGES" -- "${SL[@]}" >/dev/null &
    local bp=$!
    sleep 1
    curl -sf -o "$WORK/pg_kafka.pprof" "http://127.0.0.1:$((HTTP_PORT + 1))/debug/pprof/profile?seconds=${secs:-10}" || log "profile fetch failed"
    wait "$bp" || true
    go tool pprof -top -nodecount=30 "$BIN/sluice-postgres" "$WORK/pg_kafka.pprof" >"$WORK/pg_kafka.pprof.txt" 2>&1 || true
    log "profile: $WORK/pg_kafka.pprof (top: $WORK/pg_kafka.pprof.txt)"
    pg_drop_slot prof
  fi
  figure "PG → sluice → stdout" rows/s pg.stdout.rows_s "pg_recvlogical (pgoutput, /dev/null)" pg.recvlogical.rows_s higher
  figure "PG → sluice → Kafka" rows/s pg.kafka.rows_s "pg_recvlogical (pgoutput, /dev/null)" pg.recvlogical.rows_s higher
  figure "PG → stdout: sluice CPU" "CPU s/M rows" pg.stdout.cpu_s_per_M "pg_recvlogical CPU" pg.recvlogical.cpu_s_per_M lower
  figure "PG → Kafka: sluice CPU" "CPU s/M rows" pg.kafka.cpu_s_per_M "pg_recvlogical CPU" pg.recvlogical.cpu_s_per_M lower
  figure "PG → sluice → Kafka vs the fastest Go producer" rows/s pg.kafka.rows_s "kgo producer, same run" pg.fastest.rows_s higher
  figure "PG → Kafka exactly-once (eos) vs at-least-once" rows/s pg.eos.rows_s "sluice → Kafka at-least-once, same run" pg.kafka.rows_s higher
  figure "PG → Kafka: sluice CPU vs franz-go" "CPU s/M rows" pg.kafka.cpu_s_per_M "kgo producer CPU" pg.kgo.cpu_s_per_M lower
  figure "PG → stdout: sluice peak RSS" MB pg.stdout.rss_mb "goal" "=64" lower
  figure "PG → Kafka: sluice peak RSS" MB pg.kafka.rss_mb "goal" "=64" lower
}

# ---------------------------------------------------------------- MariaDB / MySQL
# Both servers get the same SQL: a 10,000-row numbers table drives the inserts (MySQL has no
# Sequence engine; MySQL 9.7 has no MD5(), hence SHA2), made before the measured binlog starts. Ids are explicit: INSERT … SELECT
# reserves auto-increment values in growing chunks, leaving gaps the update/delete ranges miss.
my_gen_sql() {
  local s e
  echo "USE bench;"
  for ((s = 1; s <= ROWS; s += TXN)); do
    echo "INSERT INTO orders(id,customer_id,amount,status,created_at,payload) SELECT $s+n,($s+n)%10007,(($s+n)%100000)/100.0,'new',now(6),JSON_OBJECT('sku',CONCAT('SKU-',$s+n),'qty',($s+n)%10,'note',LEFT(SHA2(CONCAT($s+n),256),32)) FROM nums ORDER BY n;"
  done
  for ((s = 1; s <= UPDATES; s += TXN)); do e=$((s + TXN - 1))
    echo "UPDATE orders SET status='paid', amount=amount+1 WHERE id BETWEEN $s AND $e;"
  done
  for ((s = ROWS - DELETES + 1; s <= ROWS; s += TXN)); do e=$((s + TXN - 1))
    echo "DELETE FROM orders WHERE id BETWEEN $s AND $e;"
  done
}

# sluice_my FLAVOR PORT FILE TAG SINK: `sluice mysql` from FILE:4 in the array SL. It starts from a
# stored offset (a fresh offsets file) with --snapshot-mode recovery, which rebuilds the schema
# history from the server and streams from that offset: the way to replay a given binlog.
sluice_my() {
  local flavor="$1" port="$2" file="$3" tag="$4" sink="$5" off="$WORK/${1}_$4_$5.offsets"
  rm -f "$off" "$off.history"
  printf '{"key":["sluice",{"server":"my%s"}],"value":{"file":"%s","pos":4,"ts_sec":0}}\n' "$flavor" "$file" >"$off"
  SL=("$BIN/sluice-mysql" --dsn "mysql://repl:replpw@127.0.0.1:$port" --server-id "$((9200 + RANDOM % 500))" --tls-mode disable --allow-public-key-retrieval
    --offsets-file "$off" --schema-history "file:$off.history" --snapshot-mode recovery --table-include 'bench\.orders'
    --topic-prefix "my$flavor" --sink "$sink" --kafka-brokers "$KAFKA" --tombstones-on-delete=false --schemas-enable="$SCHEMAS"
    --http-addr "127.0.0.1:$HTTP_PORT" --log-level warn --log-format text)
}

section_binlog() { # FLAVOR: mariadb | mysql
  local flavor="$1" port cli binlogtool status_sql tool_name
  if [ "$flavor" = mariadb ]; then
    port="$MARIADB_PORT"
    cli() { mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -uroot "$@"; }
    binlogtool=(mariadb-binlog --no-defaults --skip-ssl)
    tool_name="mariadb-binlog -v (decode-rows)"
    status_sql="SHOW MASTER STATUS"
  else
    port="$MYSQL9_PORT"
    cli() { "$REPO/scripts/mysql9.sh" exec mysql --no-defaults -h 127.0.0.1 -P "$MYSQL9_PORT" -uroot "$@"; }
    binlogtool=("$REPO/scripts/mysql9.sh" exec mysqlbinlog --no-defaults --ssl-mode=DISABLED --get-server-public-key)
    tool_name="mysqlbinlog -v (decode-rows)"
    status_sql="SHOW BINARY LOG STATUS"
  fi
  log "$flavor: loading $CHANGES changes"
  cli -e "DROP DATABASE IF EXISTS bench; CREATE DATABASE bench; USE bench;
    CREATE TABLE orders(id bigint AUTO_INCREMENT PRIMARY KEY, customer_id bigint, amount decimal(12,2), status varchar(32), created_at timestamp(6) NULL, payload json);
    CREATE TABLE d(i int PRIMARY KEY); INSERT INTO d VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
    CREATE TABLE nums(n int PRIMARY KEY);
    INSERT INTO nums SELECT a.i + 10 * b.i + 100 * c.i + 1000 * e.i FROM d a, d b, d c, d e;"
  [ "$(cli -N -e "SELECT COUNT(*) FROM bench.nums")" = "$TXN" ] || die "$flavor: numbers table not filled"
  cli -e "FLUSH BINARY LOGS"
  local file t0
  file="$(cli -N -e "$status_sql" | awk '{print $1}')"
  t0=$(date +%s.%N)
  my_gen_sql | cli
  log "  $flavor workload: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s, binlog $file"
  cli -e "FLUSH BINARY LOGS"
  local rep r
  for rep in $(seq 1 "$REPS"); do
    log "$flavor rep $rep/$REPS"
    r="$(run -stderr "$LOGS/${flavor}_binlogtool.$rep.log" -- "${binlogtool[@]}" --read-from-remote-server -h 127.0.0.1 -P "$port" \
      -u repl -preplpw --base64-output=decode-rows -v --result-file=/dev/null "$file")" || die "$tool_name: $r"
    measured "$rep" "$flavor.tool" "$CHANGES" "$r"
    r="$(run -stderr "$LOGS/${flavor}_decode.$rep.log" -- "$BIN/binlogdecode" -addr "127.0.0.1:$port" -user repl -password replpw \
      -file "$file" -rows "$CHANGES" -server-id $((9100 + rep)))" || die "binlogdecode: $r (log $LOGS/${flavor}_decode.$rep.log)"
    measured "$rep" "$flavor.decode" "$CHANGES" "$r"
    if grep -q '^  mysql ' "$WORK/sluice-help.txt"; then
      sluice_my "$flavor" "$port" "$file" "$rep" stdout
      r="$(run -stderr "$LOGS/${flavor}_stdout.$rep.log" -metrics "http://127.0.0.1:$HTTP_PORT/metrics" -metric sluice_records_total \
        -target "$CHANGES" -- "${SL[@]}")" || die "sluice mysql → stdout: $r (log $LOGS/${flavor}_stdout.$rep.log)"
      measured "$rep" "$flavor.stdout" "$CHANGES" "$r"
      kafka_fresh
      sluice_my "$flavor" "$port" "$file" "$rep" kafka
      r="$(run -stderr "$LOGS/${flavor}_kafka.$rep.log" -kafka "$KAFKA" -topic "my$flavor.bench.orders" -target "$CHANGES" -- "${SL[@]}")" \
        || die "sluice mysql → kafka: $r (log $LOGS/${flavor}_kafka.$rep.log)"
      measured "$rep" "$flavor.kafka" "$CHANGES" "$r"
      if [ "$rep" = 1 ]; then
        sluice_my "$flavor" "$port" "$file" dump stdout
        run -stdout "$WORK/${flavor}_records.jsonl" -stderr "$LOGS/${flavor}_dump.log" -metrics "http://127.0.0.1:$HTTP_PORT/metrics" \
          -metric sluice_records_total -target "$CHANGES" -- "${SL[@]}" >/dev/null || die "record dump failed"
        "$BIN/kgoprod" convert "$WORK/${flavor}_records.jsonl" "$WORK/${flavor}_records.bin" 2>>"$LOGS/kgoprod.log"
        rm -f "$WORK/${flavor}_records.jsonl"
      fi
      refs "$flavor" "$rep" "$WORK/${flavor}_records.bin" "ref.$flavor.$rep"
    fi
  done
  figure "$flavor binlog → sluice decode only" rows/s "$flavor.decode.rows_s" "$tool_name" "$flavor.tool.rows_s" higher
  figure "$flavor decode: sluice CPU" "CPU s/M rows" "$flavor.decode.cpu_s_per_M" "$tool_name CPU" "$flavor.tool.cpu_s_per_M" lower
  figure "$flavor decode: sluice peak RSS" MB "$flavor.decode.rss_mb" "goal" "=64" lower
  figure "$flavor → sluice → stdout" rows/s "$flavor.stdout.rows_s" "$tool_name" "$flavor.tool.rows_s" higher
  figure "$flavor → stdout: sluice CPU" "CPU s/M rows" "$flavor.stdout.cpu_s_per_M" "$tool_name CPU" "$flavor.tool.cpu_s_per_M" lower
  figure "$flavor → sluice → Kafka vs the fastest Go producer" rows/s "$flavor.kafka.rows_s" "kgo producer, same run" "$flavor.fastest.rows_s" higher
  figure "$flavor → Kafka: sluice CPU vs franz-go" "CPU s/M rows" "$flavor.kafka.cpu_s_per_M" "kgo producer CPU" "$flavor.kgo.cpu_s_per_M" lower
  figure "$flavor → stdout: sluice peak RSS" MB "$flavor.stdout.rss_mb" "goal" "=64" lower
  figure "$flavor → Kafka: sluice peak RSS" MB "$flavor.kafka.rss_mb" "goal" "=64" lower
}

# ---------------------------------------------------------------- ClickHouse
chq() { clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" "$@"; }

# ch_records SCHEMAS FILE: sluice's own PostgreSQL records of the workload (with or without their
# Connect schemas), dumped once per workload size. Loads the workload when the pg section did not.
ch_records() {
  local schemas="$1" f="$2"
  [ -s "$f" ] && [ "$(cat "$f.n" 2>/dev/null)" = "$CHANGES" ] && return 0
  if [ "$(psqlb -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name='tpl'")" != 1 ]; then
    log "clickhouse: loading $CHANGES changes into PostgreSQL (no pg section ran)"
    pg_workload
  fi
  sluice_pg dump_s stdout --schemas-enable="$schemas"
  psqlb -c "SELECT pg_copy_logical_replication_slot('tpl','dump_s')" >/dev/null
  run -stdout "$f.jsonl" -stderr "$LOGS/pg_dump_schemas_$schemas.log" -metrics "http://127.0.0.1:$HTTP_PORT/metrics" \
    -metric sluice_records_total -target "$CHANGES" -- "${SL[@]}" >/dev/null || die "record dump failed"
  pg_drop_slot dump_s
  "$BIN/kgoprod" convert "$f.jsonl" "$f" 2>>"$LOGS/kgoprod.log"
  rm -f "$f.jsonl"
  echo "$CHANGES" >"$f.n"
}

# sluice_ch GROUP TOPIC_RE DB: the sluice clickhouse command line, in the array SL
# (sluice-clickhouse, the binary without the capture sources, when the commit has it).
sluice_ch() {
  SL=("$BIN/sluice" clickhouse)
  [ -x "$BIN/sluice-clickhouse" ] && SL=("$BIN/sluice-clickhouse")
  SL+=(--kafka-brokers "$KAFKA" --topics "$2" --group "$1" \
    --clickhouse-addr "127.0.0.1:$CH_TCP_PORT" --clickhouse-database "$3" --log-level warn --log-format text)
}

section_clickhouse() {
  # Input: the PostgreSQL workload's records as sluice writes them, loaded untimed into two
  # topics with the plain producer: with their Connect schemas (the sink creates the table from
  # them) and without (Debezium's schemas.enable=false; the sink writes to the table as it
  # exists, created here beforehand as the schema run made it).
  local topic="bench_ch.public.orders" ptopic="bench_chp.public.orders"
  ch_records true "$WORK/pg_records_schemas.bin"
  ch_records false "$WORK/pg_records_plain.bin"
  kafka_fresh
  # Written as `sluice --kafka-compression $CH_TOPIC_COMPRESSION` would write it: records that
  # carry their schemas are ~3.6 kB of which ~3 kB repeat, and reading them uncompressed is what
  # bounds any consumer (docs/bench.md).
  "$BIN/kgoprod" -brokers "$KAFKA" -topic "$topic" -compression "$CH_TOPIC_COMPRESSION" "$WORK/pg_records_schemas.bin" 2>>"$LOGS/kgoprod.log" || die "clickhouse: loading $topic failed"
  "$BIN/kgoprod" -brokers "$KAFKA" -topic "$ptopic" -compression "$CH_TOPIC_COMPRESSION" "$WORK/pg_records_plain.bin" 2>>"$LOGS/kgoprod.log" || die "clickhouse: loading $ptopic failed"
  local rep r db
  for rep in $(seq 1 "$REPS"); do
    log "ClickHouse rep $rep/$REPS"
    db="bench_ch$rep"
    chq --query "DROP DATABASE IF EXISTS $db"
    sluice_ch "bench-ch-$rep-$$" 'bench_ch\.public\.orders' "$db"
    r="$(run -stderr "$LOGS/clickhouse.$rep.log" -kafka "$KAFKA" -topic "$topic" -group "bench-ch-$rep-$$" -target "$CHANGES" -- "${SL[@]}")" \
      || die "sluice clickhouse: $r (log $LOGS/clickhouse.$rep.log)"
    measured "$rep" ch.sluice "$CHANGES" "$r"
    if [ "$rep" = 1 ]; then # the reference's input: the rows sluice wrote, as TSV, CHANGES lines
      chq --query "SELECT * FROM $db.orders__versions FORMAT TabSeparated" >"$WORK/ch_rows.tsv"
      local have_rows; have_rows=$(wc -l <"$WORK/ch_rows.tsv")
      [ "$have_rows" -gt 0 ] || die "clickhouse: no rows in $db.orders"
      while [ "$(wc -l <"$WORK/ch_rows.tsv")" -lt "$CHANGES" ]; do { cat "$WORK/ch_rows.tsv" "$WORK/ch_rows.tsv" | head -n "$CHANGES" >"$WORK/ch_rows.tmp"; } || true; mv "$WORK/ch_rows.tmp" "$WORK/ch_rows.tsv"; done
      head -n "$CHANGES" "$WORK/ch_rows.tsv" >"$WORK/ch_rows.tmp"; mv "$WORK/ch_rows.tmp" "$WORK/ch_rows.tsv"
      chq --query "CREATE DATABASE IF NOT EXISTS bench_ref"
    fi
    db="bench_chp$rep"
    chq --query "DROP DATABASE IF EXISTS $db"
    chq --query "CREATE DATABASE $db"
    chq --query "CREATE TABLE $db.orders__versions AS bench_ch1.orders__versions"
    sluice_ch "bench-chp-$rep-$$" 'bench_chp\.public\.orders' "$db"
    r="$(run -stderr "$LOGS/clickhouse_plain.$rep.log" -kafka "$KAFKA" -topic "$ptopic" -group "bench-chp-$rep-$$" -target "$CHANGES" -- "${SL[@]}")" \
      || die "sluice clickhouse (no schemas): $r (log $LOGS/clickhouse_plain.$rep.log)"
    measured "$rep" ch.plain "$CHANGES" "$r"
    chq --query "DROP TABLE IF EXISTS bench_ref.orders_$rep"
    chq --query "CREATE TABLE bench_ref.orders_$rep AS bench_ch1.orders__versions"
    r="$(run -stderr "$LOGS/clickhouse_client.$rep.log" -- clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" \
      --query "INSERT INTO bench_ref.orders_$rep FORMAT TabSeparated" <"$WORK/ch_rows.tsv")" || die "clickhouse-client: $r"
    measured "$rep" ch.client "$CHANGES" "$r"
    # The Kafka read ceiling: a plain franz-go consumer (no group, no sink, sluice's fetch size)
    # draining the same topics from the same broker.
    r="$(run -stderr "$LOGS/kgodrain.$rep.log" -- "$BIN/kgodrain" -kafka "$KAFKA" -topic "$topic" -n "$CHANGES")" || die "kgodrain: $r"
    measured "$rep" ch.kgo "$CHANGES" "$r"
    r="$(run -stderr "$LOGS/kgodrain_plain.$rep.log" -- "$BIN/kgodrain" -kafka "$KAFKA" -topic "$ptopic" -n "$CHANGES")" || die "kgodrain (no schemas): $r"
    measured "$rep" ch.kgop "$CHANGES" "$r"
    # sluice's own consumer alone (source/kafka: group, lz4 decoder, buffer reuse), no sink.
    r="$(run -stderr "$LOGS/kgodrain_src.$rep.log" -- "$BIN/kgodrain" -source -kafka "$KAFKA" -topic "$topic" -n "$CHANGES")" || die "kgodrain -source: $r"
    measured "$rep" ch.src "$CHANGES" "$r"
    r="$(run -stderr "$LOGS/kgodrain_srcp.$rep.log" -- "$BIN/kgodrain" -source -kafka "$KAFKA" -topic "$ptopic" -n "$CHANGES")" || die "kgodrain -source (no schemas): $r"
    measured "$rep" ch.srcp "$CHANGES" "$r"
    [ "$rep" = 1 ] || chq --query "DROP DATABASE IF EXISTS bench_ch$rep" --query "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
  done
  if [ "${BENCH_PPROF:-0}" = 1 ]; then
    local v secs bp
    for v in ch:bench_ch plain:bench_chp; do
      log "Kafka → ClickHouse (${v%%:*}) with CPU and allocation profiles"
      chq --query "DROP DATABASE IF EXISTS ${v#*:}_prof"
      if [ "${v%%:*}" = plain ]; then
        chq --query "CREATE DATABASE ${v#*:}_prof"
        chq --query "CREATE TABLE ${v#*:}_prof.orders__versions AS bench_ch1.orders__versions"
      fi
      secs="$(awk -F'\t' -v k="ch.${v%%:*}" '$2 == (k == "ch.ch" ? "ch.sluice.wall_s" : "ch.plain.wall_s") { print int($3 * 0.7) + 1; exit }' "$SAMPLES")"
      sluice_ch "bench-${v#*:}-prof-$$" "${v#*:}\\.public\\.orders" "${v#*:}_prof"
      rm -f "$WORK/clickhouse_${v%%:*}".{pprof,heap,pprof.txt,allocs.txt} # a failed fetch must not leave the last run's
      SLUICE_PPROF_ADDR="127.0.0.1:$((HTTP_PORT + 1))" run -stderr "$LOGS/clickhouse_prof.log" -kafka "$KAFKA" -topic "${v#*:}.public.orders" \
        -group "bench-${v#*:}-prof-$$" -target "$CHANGES" -- "${SL[@]}" >/dev/null &
      bp=$!
      sleep 0.5
      curl -sf -o "$WORK/clickhouse_${v%%:*}.pprof" "http://127.0.0.1:$((HTTP_PORT + 1))/debug/pprof/profile?seconds=${secs:-5}" || log "profile fetch failed"
      curl -sf -o "$WORK/clickhouse_${v%%:*}.heap" "http://127.0.0.1:$((HTTP_PORT + 1))/debug/pprof/allocs" || log "allocs fetch failed"
      wait "$bp" || true
      go tool pprof -top -nodecount=40 "${SL[0]}" "$WORK/clickhouse_${v%%:*}.pprof" >"$WORK/clickhouse_${v%%:*}.pprof.txt" 2>&1 || true
      go tool pprof -sample_index=alloc_space -top -nodecount=25 "${SL[0]}" "$WORK/clickhouse_${v%%:*}.heap" >"$WORK/clickhouse_${v%%:*}.allocs.txt" 2>&1 || true
      log "profile: $WORK/clickhouse_${v%%:*}.pprof (top: $WORK/clickhouse_${v%%:*}.pprof.txt, allocations: $WORK/clickhouse_${v%%:*}.allocs.txt)"
    done
  fi
  figure "Kafka → sluice clickhouse, records with schemas" rows/s ch.sluice.rows_s "clickhouse-client TSV insert, same rows" ch.client.rows_s higher
  figure "Kafka → sluice clickhouse, records without schemas" rows/s ch.plain.rows_s "clickhouse-client TSV insert, same rows" ch.client.rows_s higher
  figure "Kafka read ceiling: plain kgo consumer, records with schemas" rows/s ch.kgo.rows_s "clickhouse-client TSV insert, same rows" ch.client.rows_s higher
  figure "Kafka read ceiling: plain kgo consumer, records without schemas" rows/s ch.kgop.rows_s "clickhouse-client TSV insert, same rows" ch.client.rows_s higher
  figure "Kafka → sluice clickhouse vs the Kafka read ceiling (schemas)" rows/s ch.sluice.rows_s "plain kgo consumer, same topic" ch.kgo.rows_s higher
  figure "Kafka → sluice clickhouse vs the Kafka read ceiling (no schemas)" rows/s ch.plain.rows_s "plain kgo consumer, same topic" ch.kgop.rows_s higher
  figure "sluice's consumer alone (source/kafka, no sink), records with schemas" rows/s ch.src.rows_s "plain kgo consumer, same topic" ch.kgo.rows_s higher
  figure "sluice's consumer alone (source/kafka, no sink), records without schemas" rows/s ch.srcp.rows_s "plain kgo consumer, same topic" ch.kgop.rows_s higher
  figure "sluice's consumer alone: CPU (schemas / without)" "CPU s/M rows" ch.src.cpu_s_per_M "without schemas" ch.srcp.cpu_s_per_M lower
  figure "Kafka → ClickHouse: sluice CPU (schemas)" "CPU s/M rows" ch.sluice.cpu_s_per_M "clickhouse-client CPU" ch.client.cpu_s_per_M lower
  figure "Kafka → ClickHouse: sluice CPU (no schemas)" "CPU s/M rows" ch.plain.cpu_s_per_M "clickhouse-client CPU" ch.client.cpu_s_per_M lower
  figure "Kafka → ClickHouse: sluice peak RSS (schemas)" MB ch.sluice.rss_mb "goal" "=64" lower
  figure "Kafka → ClickHouse: sluice peak RSS (no schemas)" MB ch.plain.rss_mb "goal" "=64" lower
}

# ---------------------------------------------------------------- snapshot
# pg_cpu: CPU seconds of the bench PostgreSQL's processes so far: the postmaster's reaped
# children (backends that ended) plus the live ones. A backend's CPU is in the postmaster's
# cutime/cstime once it has exited and been reaped, hence the pause before each reading.
pg_cpu() {
  local pm t c
  sleep 0.5
  pm="$(head -1 "$SLUICE_INFRA_DIR/postgres15/data/postmaster.pid")"
  t="$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat")"
  for c in $(cat /proc/"$pm"/task/*/children); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || echo 0)))
  done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
# server_sample REP KEY BEFORE: the server's CPU s per M snapshot rows since BEFORE (pg_cpu).
server_sample() {
  local now; now="$(pg_cpu)"
  sample "$1" "$2" "$(awk -v a="$3" -v b="$now" -v n="$SNAP_ROWS" 'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')"
}

# idle_sample REP KEY RESULT_JSON BEFORE: the share of the machine's cores neither the subject
# (benchrun's CPU) nor the bench PostgreSQL (pg_cpu since BEFORE) used during the subject's
# wall time; with other load on the machine it says little.
idle_sample() {
  local now; now="$(pg_cpu)"
  sample "$1" "$2" "$(awk -v w="$(jget wall_s "$3")" -v c="$(jget cpu_s "$3")" -v a="$4" -v b="$now" -v n="$(nproc)" \
    'BEGIN { i = 1 - (c + b - a) / (n * w); printf "%.3f", i < 0 ? 0 : i }')"
}

# my_cpu: CPU seconds of the bench MySQL 9.7 server so far (one process: its threads' time).
my_cpu() {
  local pid
  pid="$(cat "$SLUICE_INFRA_DIR/mysql9/run/mysqld.pid")"
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat"
}
# my_server_sample REP KEY BEFORE: the MySQL server's CPU s per M snapshot rows since BEFORE.
my_server_sample() {
  local now; now="$(my_cpu)"
  sample "$1" "$2" "$(awk -v a="$3" -v b="$now" -v n="$SNAP_ROWS" 'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')"
}
# my_idle_sample REP KEY BEFORE RESULT_JSON: the share of the machine's cores that neither the
# client (RESULT_JSON's CPU) nor the MySQL server (its CPU since BEFORE) used during the run: on
# a quiet machine, the time the two waited on each other. Load from other processes makes it
# meaningless (they take the cores), so say the load with it.
my_idle_sample() {
  local now; now="$(my_cpu)"
  sample "$1" "$2" "$(awk -v a="$3" -v b="$now" -v c="$(jget cpu_s "$4")" -v w="$(jget wall_s "$4")" -v k="$(nproc)" \
    'BEGIN { printf "%.1f", 100 * (1 - (c + b - a) / (k * w)) }')"
}

section_snapshot() {
  log "snapshot: loading $SNAP_ROWS rows"
  local s e
  psqlb -c "DROP TABLE IF EXISTS snap" -c "DROP PUBLICATION IF EXISTS snappub" \
    -c "CREATE TABLE snap(id bigserial PRIMARY KEY, customer_id bigint, amount numeric(12,2), status text, created_at timestamptz, payload jsonb)" \
    -c "CREATE PUBLICATION snappub FOR TABLE snap" >/dev/null
  for ((s = 1; s <= SNAP_ROWS; s += 100000)); do e=$((s + 99999)); [ "$e" -gt "$SNAP_ROWS" ] && e="$SNAP_ROWS"
    echo "INSERT INTO snap(customer_id,amount,status,created_at,payload) SELECT g%10007,(g%100000)/100.0,'new',now(),jsonb_build_object('sku','SKU-'||g,'qty',g%10,'note',md5(g::text)) FROM generate_series($s,$e) g;"
  done | psqlb >/dev/null
  psqlb -c "VACUUM ANALYZE snap" -c "CHECKPOINT" >/dev/null
  local rep r c0
  for rep in $(seq 1 "$REPS"); do
    log "snapshot rep $rep/$REPS"
    c0="$(pg_cpu)"
    r="$(run -stderr "$LOGS/snap_copy.$rep.log" -- "$PGBIN/psql" -h 127.0.0.1 -p "$PG15_PORT" -U postgres -d postgres -X -q \
      -c "COPY snap TO STDOUT")" || die "COPY: $r"
    measured "$rep" snap.copy "$SNAP_ROWS" "$r"
    idle_sample "$rep" snap.copy.idle "$r" "$c0"
    server_sample "$rep" snap.copy.server_cpu_s_per_M "$c0"
    c0="$(pg_cpu)"
    r="$(run -stderr "$LOGS/snap_sluice.$rep.log" -- "$BIN/sluice-postgres" --dsn "$PG_DSN" --slot "snap_$rep" --publication snappub \
      --publication-mode disabled --snapshot-mode initial_only --table-include 'public\.snap' --topic-prefix bench --sink stdout \
      --snapshot-max-threads "$SNAP_THREADS" \
      --schemas-enable="$SCHEMAS" --log-level warn --log-format text)" || die "sluice snapshot: $r (log $LOGS/snap_sluice.$rep.log)"
    measured "$rep" snap.sluice "$SNAP_ROWS" "$r"
    idle_sample "$rep" snap.sluice.idle "$r" "$c0"
    server_sample "$rep" snap.sluice.server_cpu_s_per_M "$c0"
    pg_drop_slot "snap_$rep"
  done
  figure "PG snapshot → sluice → stdout" rows/s snap.sluice.rows_s "psql COPY TO STDOUT (/dev/null)" snap.copy.rows_s higher
  figure "PG snapshot: sluice CPU" "CPU s/M rows" snap.sluice.cpu_s_per_M "psql COPY CPU (client only)" snap.copy.cpu_s_per_M lower
  figure "PG snapshot: server CPU for sluice's reads" "CPU s/M rows" snap.sluice.server_cpu_s_per_M "server CPU for COPY" snap.copy.server_cpu_s_per_M lower
  figure "PG snapshot: idle share of the cores (load-sensitive)" share snap.sluice.idle "idle during COPY" snap.copy.idle lower
  figure "PG snapshot: sluice peak RSS" MB snap.sluice.rss_mb "goal" "=64" lower
}

# ---------------------------------------------------------------- MySQL snapshot
section_mysnapshot() {
  my9() { "$REPO/scripts/mysql9.sh" exec mysql --no-defaults -h 127.0.0.1 -P "$MYSQL9_PORT" -uroot "$@"; }
  log "MySQL snapshot: loading $SNAP_ROWS rows"
  my9 -e "CREATE DATABASE IF NOT EXISTS bench; USE bench; DROP TABLE IF EXISTS snap;
    CREATE TABLE IF NOT EXISTS d(i int PRIMARY KEY); INSERT IGNORE INTO d VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
    CREATE TABLE IF NOT EXISTS nums(n int PRIMARY KEY);
    INSERT IGNORE INTO nums SELECT a.i + 10 * b.i + 100 * c.i + 1000 * e.i FROM d a, d b, d c, d e;
    CREATE TABLE snap(id bigint PRIMARY KEY, customer_id bigint, amount decimal(12,2), status varchar(32), created_at timestamp(6) NULL, payload json);"
  local s
  for ((s = 1; s <= SNAP_ROWS; s += TXN)); do
    echo "INSERT INTO snap(id,customer_id,amount,status,created_at,payload) SELECT $s+n,($s+n)%10007,(($s+n)%100000)/100.0,'new',now(6),JSON_OBJECT('sku',CONCAT('SKU-',$s+n),'qty',($s+n)%10,'note',LEFT(SHA2(CONCAT($s+n),256),32)) FROM nums WHERE $s+n <= $SNAP_ROWS;"
  done | my9 bench
  local rep r off c0
  for rep in $(seq 1 "$REPS"); do
    log "MySQL snapshot rep $rep/$REPS"
    c0="$(my_cpu)"
    r="$(run -stderr "$LOGS/mysnap_select.$rep.log" -- "$REPO/scripts/mysql9.sh" exec mysql --no-defaults -h 127.0.0.1 -P "$MYSQL9_PORT" \
      -uroot --quick -N -e "SELECT * FROM bench.snap")" || die "SELECT: $r"
    measured "$rep" mysnap.select "$SNAP_ROWS" "$r"
    my_idle_sample "$rep" mysnap.select.idle_pct "$c0" "$r"
    my_server_sample "$rep" mysnap.select.server_cpu_s_per_M "$c0"
    c0="$(my_cpu)"
    off="$WORK/mysnap_$rep.offsets"; rm -f "$off" "$off.history"
    r="$(run -stderr "$LOGS/mysnap_sluice.$rep.log" -- "$BIN/sluice-mysql" --dsn "mysql://repl:replpw@127.0.0.1:$MYSQL9_PORT" \
      --server-id "$((9300 + rep))" --tls-mode disable --allow-public-key-retrieval --offsets-file "$off" --schema-history "file:$off.history" \
      --snapshot-mode initial_only --snapshot-max-threads "$MYSNAP_THREADS" --table-include 'bench\.snap' --topic-prefix mysnap --sink stdout \
      --schemas-enable="$SCHEMAS" --log-level warn --log-format text)" || die "sluice mysql snapshot: $r (log $LOGS/mysnap_sluice.$rep.log)"
    measured "$rep" mysnap.sluice "$SNAP_ROWS" "$r"
    my_idle_sample "$rep" mysnap.sluice.idle_pct "$c0" "$r"
    my_server_sample "$rep" mysnap.sluice.server_cpu_s_per_M "$c0"
  done
  figure "MySQL snapshot → sluice → stdout" rows/s mysnap.sluice.rows_s "mysql --quick SELECT * (/dev/null)" mysnap.select.rows_s higher
  figure "MySQL snapshot: sluice CPU" "CPU s/M rows" mysnap.sluice.cpu_s_per_M "mysql client CPU" mysnap.select.cpu_s_per_M lower
  figure "MySQL snapshot: server CPU for sluice's reads" "CPU s/M rows" mysnap.sluice.server_cpu_s_per_M "server CPU for SELECT *" mysnap.select.server_cpu_s_per_M lower
  figure "MySQL snapshot: idle share of the cores (1 - (client + server CPU) / (cores × wall))" % mysnap.sluice.idle_pct "the same for mysql --quick" mysnap.select.idle_pct lower
  figure "MySQL snapshot: sluice peak RSS" MB mysnap.sluice.rss_mb "goal" "=64" lower
}

# ---------------------------------------------------------------- latency
section_latency() {
  local rep out sp
  psqlb -c "SELECT 1 FROM orders LIMIT 0" >/dev/null 2>&1 || psqlb \
    -c "CREATE TABLE orders(id bigserial PRIMARY KEY, customer_id bigint, amount numeric(12,2), status text, created_at timestamptz, payload jsonb)" >/dev/null
  psqlb -c "CREATE PUBLICATION pub FOR TABLE orders" >/dev/null 2>&1 || true
  for rep in $(seq 1 "$REPS"); do
    log "latency rep $rep/$REPS ($LAT_N transactions)"
    kafka_fresh
    psqlb -c "SELECT pg_create_logical_replication_slot('lat_ref_$rep','test_decoding')" \
      -c "SELECT pg_create_logical_replication_slot('lat_$rep','pgoutput')" >/dev/null
    sluice_pg "lat_$rep" kafka --topic-prefix latk
    "${SL[@]}" >/dev/null 2>"$LOGS/lat_sluice.$rep.log" &
    sp=$!
    sleep 3
    sample "$rep" lat.idle_rss_mb "$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$sp/status")"
    # The split: anonymous (heap, stacks, runtime) vs file (the binary's own pages mapped).
    sample "$rep" lat.idle_anon_mb "$(awk '/^RssAnon:/ { printf "%.1f", $2 / 1024 }' "/proc/$sp/status")"
    sample "$rep" lat.idle_file_mb "$(awk '/^RssFile:/ { printf "%.1f", $2 / 1024 }' "/proc/$sp/status")"
    # The topic exists once sluice has sent one record; make it so (and wait).
    psqlb -c "INSERT INTO orders(customer_id,amount,status,created_at,payload) VALUES (0,0,'warmup',now(),'{}')" >/dev/null
    "$BIN/benchrun" -kafka "$KAFKA" -topic latk.public.orders -target 1 -timeout 30s -- sleep 60 >/dev/null 2>&1 || die "latency: no warm-up record in Kafka"
    "$BIN/latprobe" -dsn "$PG_DSN" -kafka "$KAFKA" -topic latk.public.orders -n "$LAT_N" -direct -- \
      "$PGBIN/pg_recvlogical" -h 127.0.0.1 -p "$PG15_PORT" -U postgres -d postgres --slot="lat_ref_$rep" --start --no-loop -F 0 -f - \
      >"$WORK/lat.$rep.json" 2>"$LOGS/latprobe.$rep.log" || die "latprobe failed (log $LOGS/latprobe.$rep.log)"
    out="$(cat "$WORK/lat.$rep.json")"
    log "  $out"
    kill -TERM "$sp"; wait "$sp" || true
    local wp; wp="$(psqlb -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name='lat_ref_$rep'")"
    if [ -n "$wp" ]; then psqlb -c "SELECT pg_terminate_backend($wp)" >/dev/null; fi
    pg_drop_slot "lat_ref_$rep"; pg_drop_slot "lat_$rep"
    local k rf
    k="$(sed 's/.*"kafka":{\([^}]*\)}.*/\1/' <<<"$out")"; rf="$(sed 's/.*"ref":{\([^}]*\)}.*/\1/' <<<"$out")"
    sample "$rep" lat.kafka.p50 "$(jget p50_ms "$k")"; sample "$rep" lat.kafka.p99 "$(jget p99_ms "$k")"; sample "$rep" lat.kafka.max "$(jget max_ms "$k")"
    sample "$rep" lat.ref.p50 "$(jget p50_ms "$rf")"; sample "$rep" lat.ref.p99 "$(jget p99_ms "$rf")"; sample "$rep" lat.ref.max "$(jget max_ms "$rf")"
    sample "$rep" lat.kafka.count "$(jget count "$k")"
    local d; d="$(sed 's/.*"direct":{\([^}]*\)}.*/\1/' <<<"$out")"
    sample "$rep" lat.direct.p50 "$(jget p50_ms "$d")"; sample "$rep" lat.direct.p99 "$(jget p99_ms "$d")"
    sample "$rep" lat.added_p99 "$(awk -v a="$(jget p99_ms "$k")" -v b="$(jget p99_ms "$rf")" 'BEGIN { printf "%.3f", a - b }')"
  done
  figure "latency commit → Kafka p50" ms lat.kafka.p50 "commit → pg_recvlogical p50" lat.ref.p50 lower
  figure "latency commit → Kafka p99" ms lat.kafka.p99 "commit → pg_recvlogical p99" lat.ref.p99 lower
  figure "latency commit → Kafka max" ms lat.kafka.max "commit → pg_recvlogical max" lat.ref.max lower
  figure "latency added by sluice, p99" ms lat.added_p99 "goal" "=1" lower
  figure "latency: Kafka hop alone p50 (plain producer, send → consumed)" ms lat.direct.p50 "share of commit → Kafka p50" lat.kafka.p50 higher
  figure "latency: Kafka hop alone p99" ms lat.direct.p99 "share of commit → Kafka p99" lat.kafka.p99 higher
  figure "records seen in Kafka (of $LAT_N)" records lat.kafka.count "sent" "=$LAT_N" higher
  figure "sluice idle RSS" MB lat.idle_rss_mb "goal" "=20" lower
  figure "sluice idle RSS: anonymous (heap, stacks)" MB lat.idle_anon_mb "idle RSS: file (binary pages)" lat.idle_file_mb lower
}

# ---------------------------------------------------------------- main
main() {
  mkdir -p "$WORK" "$REPO/bench/results"
  : >"$SAMPLES"; : >"$FIGURES"
  local load0; load0="$(cut -d' ' -f1-3 /proc/loadavg)"
  log "workload: $CHANGES changes (scale 1/$SCALE), $REPS reps, sections: $SECTIONS; load average $load0"
  build
  trap stop_servers EXIT
  trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR
  start_servers
  if has pg; then section_pg; fi
  if has mariadb; then section_binlog mariadb; fi
  if has mysql; then section_binlog mysql; fi
  if has clickhouse; then section_clickhouse; fi
  if has snapshot; then section_snapshot; fi
  if has mysnapshot; then section_mysnapshot; fi
  if has latency; then section_latency; fi
  local load1; load1="$(cut -d' ' -f1-3 /proc/loadavg)"
  "$BIN/benchreport" -samples "$SAMPLES" -figures "$FIGURES" -json "$REPO/bench/results/latest.json" \
    -title "sluice $BUILT, $CHANGES changes (scale 1/$SCALE), $REPS reps, $(nproc) cores; load average before: $load0, after: $load1"
}

main "$@"
