#!/usr/bin/env bash
# demo.sh: PostgreSQL → sluice → stdout in one command (make demo).
# Installs and starts a throwaway PostgreSQL 15 on 127.0.0.1:$DEMO_PG_PORT (default 15440, state in
# $SLUICE_INFRA_DIR/demo-postgres), loads a small inventory schema, runs `sluice postgres` with the
# stdout sink, makes a few changes and prints their Debezium records. Needs root (apt) and Go.
#   scripts/demo.sh          run the demo (leaves the server running; again is fine)
#   scripts/demo.sh clean    stop the demo server and delete its state
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
ROOT="$(dirname "$HERE")"
. "$HERE/lib.sh"

PORT="${DEMO_PG_PORT:-15440}"
export PG_VERSION=15 PG_PORT="$PORT" PG_DIR="$INFRA_DIR/demo-postgres"
WORK="$INFRA_DIR/demo"

if [ "${1:-}" = clean ]; then
  "$HERE/postgres.sh" clean
  rm -rf "$WORK"
  exit 0
fi

"$HERE/postgres.sh" start
PSQL="/usr/lib/postgresql/15/bin/psql"
export PGPASSWORD=postgres
sql() { "$PSQL" -h 127.0.0.1 -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

log "building sluice"
mkdir -p "$WORK"
(cd "$ROOT" && go build -o "$WORK/sluice" ./cmd/sluice)

log "loading the inventory schema (database inventory)"
sql -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'demo' AND NOT active" >/dev/null
sql -d postgres -c "DROP DATABASE IF EXISTS inventory WITH (FORCE)" -c "CREATE DATABASE inventory"
sql -d inventory <<'SQL'
CREATE TABLE customers (id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text UNIQUE NOT NULL);
CREATE TABLE products (id serial PRIMARY KEY, name text NOT NULL, description text, weight numeric(8,3), tags text[]);
CREATE TABLE orders (id serial PRIMARY KEY, order_date date NOT NULL DEFAULT current_date, purchaser int NOT NULL REFERENCES customers,
  quantity int NOT NULL, product_id int NOT NULL REFERENCES products, placed_at timestamptz NOT NULL DEFAULT now());
INSERT INTO customers (first_name, last_name, email) VALUES
  ('Sally', 'Thomas', 'sally.thomas@acme.com'), ('George', 'Bailey', 'gbailey@foobar.com'), ('Anne', 'Kretchmar', 'annek@noanswer.org');
INSERT INTO products (name, description, weight, tags) VALUES
  ('scooter', 'Small 2-wheel scooter', 3.14, '{toys}'), ('car battery', '12V car battery', 8.1, '{auto,parts}');
INSERT INTO orders (order_date, purchaser, quantity, product_id) VALUES ('2016-01-16', 1, 1, 1), ('2016-01-17', 2, 2, 2);
SQL

OUT="$WORK/events.jsonl"
rm -f "$OUT" "$WORK/offsets.json"
log "starting sluice postgres (stdout sink → $OUT)"
"$WORK/sluice" postgres --dsn "postgres://postgres@127.0.0.1:$PORT/inventory?sslmode=disable" --slot demo \
  --topic-prefix dbserver1 --schemas-enable=false --offsets-file "$WORK/offsets.json" \
  --log-format text >"$OUT" 2>"$WORK/sluice.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
# The snapshot is done once 7 rows are out.
wait_until 30 bash -c "[ \$(wc -l < '$OUT') -ge 7 ]" || { cat "$WORK/sluice.log" >&2; die "no snapshot records"; }

log "making changes"
sql -d inventory <<'SQL'
INSERT INTO customers (first_name, last_name, email) VALUES ('Edward', 'Walker', 'ed@walker.com');
UPDATE products SET weight = 3.5 WHERE name = 'scooter';
BEGIN;
INSERT INTO orders (purchaser, quantity, product_id) VALUES (4, 3, 2);
DELETE FROM orders WHERE id = 1;
COMMIT;
SQL
wait_until 30 bash -c "[ \$(wc -l < '$OUT') -ge 12 ]" || { cat "$WORK/sluice.log" >&2; die "changes did not arrive"; }
kill -TERM "$PID"; wait "$PID" || true
trap - EXIT

echo
echo "== sluice log"
cat "$WORK/sluice.log"
echo
echo "== records (topic, op, key, before → after), full JSON in $OUT"
if command -v jq >/dev/null; then
  jq -c '[.topic, (.value.op // "tombstone"), .key, .value.before, .value.after]' "$OUT"
else
  cat "$OUT"
fi
echo
echo "== stored offset"; cat "$WORK/offsets.json"; echo
