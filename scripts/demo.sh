#!/usr/bin/env bash
# demo.sh: the seed's pipeline in one command (make demo):
#   MariaDB ──binlog──> sluice mysql ──> Kafka ──> sluice clickhouse ──> ClickHouse
# with a small shop (products, inventory, orders) taking orders, paying, shipping, cancelling and
# deleting them. One side shows the records arriving on the topics, the other a ClickHouse query
# (orders of the last 10 minutes and revenue by status) refreshed every 2 s: side by side in tmux
# when it is installed and this is a terminal, else one after the other.
#
# Needs root (it installs Debian 12 packages with apt and runs each server as its service user)
# and Go (it builds sluice and the test broker). It installs what is missing of: mariadb-server,
# mariadb-client, openssl (MariaDB 10.11), clickhouse-server, clickhouse-client (ClickHouse 18.16,
# the one Debian ships); the Kafka broker is franz-go's kfake built from this repository (Debian
# has no Kafka). tmux and jq are used when present, never installed.
#
# Private ports and state (it never touches the servers of scripts/servers.sh):
#   DEMO_MARIADB_PORT (13406)  DEMO_KAFKA_PORT (19192)  DEMO_CH_PORT (19100)  DEMO_CH_HTTP_PORT (18223)
#   state under $SLUICE_INFRA_DIR/demo (default /tmp/sluice-infra/demo)
#   DEMO_SECONDS   stop by itself after this many seconds (default: run until Ctrl-C)
#   DEMO_NO_TMUX=1 alternate the two views in this terminal even where tmux is available
#
#   scripts/demo.sh          run it; Ctrl-C (or, in tmux, Ctrl-C in a pane) stops what it started
#   scripts/demo.sh clean    stop the demo servers and delete their state
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
ROOT="$(dirname "$HERE")"
. "$HERE/lib.sh"

DEMO_DIR="$INFRA_DIR/demo"
WORK="$DEMO_DIR/work"
export MARIADB_PORT="${DEMO_MARIADB_PORT:-13406}" MARIADB_DIR="$DEMO_DIR/mariadb" MARIADB_BUFFER_POOL=64M
export KAFKA_PORT="${DEMO_KAFKA_PORT:-19192}" KAFKA_DIR="$DEMO_DIR/kafka" KAFKA_PERSIST=0
export CH_TCP_PORT="${DEMO_CH_PORT:-19100}" CH_HTTP_PORT="${DEMO_CH_HTTP_PORT:-18223}" CH_DIR="$DEMO_DIR/clickhouse"
BROKERS="127.0.0.1:$KAFKA_PORT"
TMUX_SOCKET=sluice-demo

if [ "${1:-}" = clean ]; then
  "$HERE/mariadb.sh" clean; "$HERE/kafka.sh" clean; "$HERE/clickhouse.sh" clean
  rm -rf "$DEMO_DIR"
  exit 0
fi

cat <<EOF
sluice demo: MariaDB → sluice mysql → Kafka → sluice clickhouse → ClickHouse

  Needs root and Go. Installs with apt what is missing of: mariadb-server mariadb-client openssl
  clickhouse-server clickhouse-client (Debian 12 packages); builds sluice and a Kafka-protocol
  test broker (kfake) with Go. Servers listen on 127.0.0.1 only: MariaDB :$MARIADB_PORT, Kafka :$KAFKA_PORT,
  ClickHouse :$CH_TCP_PORT; state in $DEMO_DIR (scripts/demo.sh clean removes it).

EOF
[ "$(id -u)" = 0 ] || die "run it as root (sudo make demo): the server scripts install Debian packages and run each server as its own user"
command -v go >/dev/null || die "go is not on PATH: it builds sluice and the broker"

mkdir -p "$WORK"
STARTED=() # the servers this run started, stopped again at the end
PIDS=()    # the processes this run started
cleanup() {
  local rc=$? p s
  trap - EXIT INT TERM HUP
  tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for s in "${STARTED[@]}"; do "$HERE/$s.sh" stop || true; done
  log "stopped everything it started (logs and data in $DEMO_DIR)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# start_server NAME PIDFILE: start it unless it runs already (then it is left running at the end).
start_server() {
  if pid_alive "$2"; then log "$1 already running: leaving it running at the end"; return; fi
  "$HERE/$1.sh" start
  STARTED+=("$1")
}
start_server mariadb "$MARIADB_DIR/run/mariadbd.pid"
start_server kafka "$KAFKA_DIR/kfakebroker.pid"
start_server clickhouse "$CH_DIR/run/clickhouse-server.pid"

log "building sluice and topictail"
(cd "$ROOT" && go build -o "$WORK/sluice" ./cmd/sluice && go build -o "$WORK/topictail" ./integration/topictail)

db() { mariadb --no-defaults -h 127.0.0.1 -P "$MARIADB_PORT" -uroot "$@"; }
ch() { clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" "$@"; }

log "creating the shop (database shop: products, inventory, orders)"
# A fresh start: the shop, the ClickHouse copy, the offsets and the topics (the broker keeps
# them in memory) all begin empty.
ch --query "DROP DATABASE IF EXISTS shop"
rm -f "$WORK"/offsets.json* "$WORK"/*.log "$WORK/topics.jsonl"
db <<'SQL'
DROP DATABASE IF EXISTS shop;
CREATE DATABASE shop;
CREATE TABLE shop.products (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, price DECIMAL(10,2) NOT NULL);
CREATE TABLE shop.inventory (product_id INT PRIMARY KEY, stock INT NOT NULL);
CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64) NOT NULL, product_id INT NOT NULL,
  quantity INT NOT NULL, amount DECIMAL(10,2) NOT NULL, status VARCHAR(16) NOT NULL, created_at DATETIME NOT NULL);
INSERT INTO shop.products VALUES (1, 'kettle', 39.90), (2, 'teapot', 24.50), (3, 'mug', 8.00), (4, 'grinder', 89.00), (5, 'scale', 45.00);
INSERT INTO shop.inventory VALUES (1, 40), (2, 60), (3, 200), (4, 15), (5, 30);
-- So that the snapshot already creates every topic.
INSERT INTO shop.orders (customer, product_id, quantity, amount, status, created_at) VALUES
  ('ann', 1, 1, 39.90, 'shipped', UTC_TIMESTAMP()), ('bob', 3, 4, 32.00, 'paid', UTC_TIMESTAMP());
SQL

log "starting sluice mysql (snapshot, then the binlog) → Kafka topics shop.shop.*"
"$WORK/sluice" mysql --dsn "mysql://repl:replpw@127.0.0.1:$MARIADB_PORT" --server-id 4242 --topic-prefix shop \
  --database-include shop --sink kafka --kafka-brokers "$BROKERS" --offsets-file "$WORK/offsets.json" \
  --log-format text >"$WORK/mysql.log" 2>&1 &
PIDS+=($!)
"$WORK/topictail" --brokers "$BROKERS" --topics 'shop\.shop\..*' >"$WORK/topics.jsonl" 2>"$WORK/topictail.log" &
PIDS+=($!)
wait_until 60 grep -q '"topic":"shop.shop.orders"' "$WORK/topics.jsonl" || { tail -20 "$WORK/mysql.log" >&2; die "no records on the topics (sluice mysql log above, all logs in $WORK)"; }
# Started once the topics exist: it looks for new topics only every --topic-refresh (30 s).
log "starting sluice clickhouse: topics shop.shop.* → ClickHouse database shop"
"$WORK/sluice" clickhouse --kafka-brokers "$BROKERS" --topics 'shop\.shop\..*' --group demo \
  --clickhouse-addr "127.0.0.1:$CH_TCP_PORT" --clickhouse-database shop --flush-interval 500ms \
  --log-format text >"$WORK/clickhouse.log" 2>&1 &
PIDS+=($!)

# The shop: every second a few orders come in (stock goes down), orders get paid and shipped,
# now and then one is cancelled and a cancelled one deleted, and low stock is refilled.
workload() {
  local customers=(ann bob cleo dev eli fay gus hal ivy jon) i p q c
  # Ends with the script (a kill of the background job reaches only its first process), and the
  # client with it.
  while kill -0 $$ 2>/dev/null; do
    for ((i = RANDOM % 3; i >= 0; i--)); do
      p=$((RANDOM % 5 + 1)); q=$((RANDOM % 3 + 1)); c="${customers[RANDOM % 10]}"
      echo "BEGIN;
        INSERT INTO shop.orders (customer, product_id, quantity, amount, status, created_at)
          SELECT '$c', id, $q, price * $q, 'pending', UTC_TIMESTAMP() FROM shop.products WHERE id = $p;
        UPDATE shop.inventory SET stock = stock - $q WHERE product_id = $p;
        COMMIT;"
    done
    echo "UPDATE shop.orders SET status = IF(status = 'pending', 'paid', 'shipped') WHERE status IN ('pending', 'paid') ORDER BY RAND() LIMIT 2;"
    [ $((RANDOM % 4)) = 0 ] && echo "UPDATE shop.orders SET status = 'cancelled' WHERE status = 'pending' ORDER BY RAND() LIMIT 1;"
    [ $((RANDOM % 6)) = 0 ] && echo "DELETE FROM shop.orders WHERE status = 'cancelled' ORDER BY id LIMIT 1;"
    echo "UPDATE shop.inventory SET stock = stock + 50 WHERE stock < 10;"
    sleep 1
  done | db --batch
}
workload >"$WORK/workload.log" 2>&1 &
PIDS+=($!)

# The two views, as scripts of their own (tmux runs each in a pane). topics: one line per record
# (table, op, key, row after); query: the live numbers from ClickHouse.
cat >"$WORK/format-records.sh" <<'EOF2'
#!/usr/bin/env bash
# One line per record: table, op (tombstone for a delete's follow-up), key, row after (without
# created_at, and amount as Debezium writes a DECIMAL: its unscaled value's bytes, base64).
if command -v jq >/dev/null; then
  exec jq -c --unbuffered '[(.topic | sub("^shop\\.shop\\."; "")), (.value.payload.op // "tombstone"), .key.payload, (.value.payload.after | if . then del(.created_at) else . end)]'
fi
exec cat
EOF2
cat >"$WORK/query.sh" <<EOF2
#!/usr/bin/env bash
ch() { clickhouse-client --host 127.0.0.1 --port $CH_TCP_PORT "\$@"; }
echo "ClickHouse, \$(date -u +%H:%M:%S) UTC: orders of the last 10 minutes by status"
ch --query "SELECT status, count() AS orders, sum(quantity) AS items, sum(amount) AS revenue FROM shop.orders
  WHERE created_at >= now() - INTERVAL 10 MINUTE GROUP BY status ORDER BY revenue DESC FORMAT PrettyCompactMonoBlock" 2>&1
echo "stock now"
ch --query "SELECT p.name AS product, i.stock AS stock FROM shop.inventory AS i ANY LEFT JOIN shop.products AS p ON p.id = i.product_id
  ORDER BY product FORMAT PrettyCompactMonoBlock" 2>&1
EOF2
chmod +x "$WORK/format-records.sh" "$WORK/query.sh"

log "records are flowing; logs: $WORK/{mysql,clickhouse,workload}.log"

if command -v tmux >/dev/null && [ -t 1 ] && [ "${DEMO_NO_TMUX:-}" != 1 ]; then
  # A tmux server of its own: the user's sessions are not touched. Ctrl-C in either pane ends it.
  stop_all="tmux -L $TMUX_SOCKET kill-server"
  tmux -L "$TMUX_SOCKET" -f /dev/null new-session -d -s demo -x "$(tput cols)" -y "$(tput lines)" \
    "trap '$stop_all' INT; echo 'records on the topics shop.shop.* (Ctrl-C stops the demo)'; tail -n +1 -f '$WORK/topics.jsonl' | '$WORK/format-records.sh'; $stop_all"
  tmux -L "$TMUX_SOCKET" split-window -h -t demo \
    "trap '$stop_all' INT; while :; do out=\$('$WORK/query.sh'); clear; echo \"\$out\"; sleep 2; done"
  tmux -L "$TMUX_SOCKET" set -t demo status-left '[sluice demo] ' >/dev/null
  if [ -n "${DEMO_SECONDS:-}" ]; then (sleep "$DEMO_SECONDS"; $stop_all) & PIDS+=($!); fi
  TMUX= tmux -L "$TMUX_SOCKET" attach -t demo || true
else
  # One after the other: the newest records since the last look, then the query.
  seen=0 end=$(( $(date +%s) + ${DEMO_SECONDS:-999999999} ))
  while [ "$(date +%s)" -lt "$end" ]; do
    n=$(wc -l <"$WORK/topics.jsonl")
    echo "== records on the topics shop.shop.* ($((n - seen)) new, the last 12 shown; Ctrl-C stops the demo)"
    sed -n "$((seen + 1)),${n}p" "$WORK/topics.jsonl" | tail -n 12 | "$WORK/format-records.sh"
    seen=$n
    echo "== $("$WORK/query.sh")"
    echo
    sleep 3
  done
fi
