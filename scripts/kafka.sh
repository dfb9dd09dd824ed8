#!/usr/bin/env bash
# kafka.sh: a Kafka-protocol test broker on loopback. No real Kafka broker is available on
# Debian 12 without Maven Central, so this runs franz-go's kfake (integration/kfakebroker) as a
# process. Works with IBM/sarama: CreateTopics, idempotent acks=all produce with
# lz4/zstd/snappy/gzip, consumers. It is a fake: single broker, no replication.
#   KAFKA_PORT (19092)  KAFKA_DIR ($SLUICE_INFRA_DIR/kafka)  KAFKA_AUTO_CREATE (0)
#   KAFKA_PARTITIONS (1, for auto-created/seeded topics)  KAFKA_SEED_TOPICS (none, comma list)
#   KAFKA_PERSIST (1: log kept in $KAFKA_DIR/data across restarts; 0: in memory, slower)
# Needs Go (and the module cache or proxy) for the first build.
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
. "$HERE/lib.sh"

REPO="$(dirname "$HERE")"
PORT="${KAFKA_PORT:-19092}"
DIR="${KAFKA_DIR:-$INFRA_DIR/kafka}"
PIDFILE="$DIR/kfakebroker.pid"
BIN="$DIR/kfakebroker"

build() {
  command -v go >/dev/null || die "go is not on PATH (needed to build kfakebroker)"
  mkdir -p "$DIR"
  if [ ! -x "$BIN" ] || [ -n "$(find "$REPO/integration/kfakebroker" "$REPO/go.sum" -newer "$BIN" -type f 2>/dev/null | head -1)" ]; then
    local t0; t0="$(now_s)"
    (cd "$REPO" && go build -o "$BIN" ./integration/kfakebroker) || die "go build of kfakebroker failed"
    log "built kfakebroker in $(elapsed "$t0") s"
  fi
}

start() {
  build
  if pid_alive "$PIDFILE"; then log "already running (pid $(cat "$PIDFILE"), 127.0.0.1:$PORT)"; return 0; fi
  port_in_use "$PORT" && die "port $PORT is already in use by another process; set KAFKA_PORT"
  local args=(-port "$PORT" -default-partitions "${KAFKA_PARTITIONS:-1}")
  [ "${KAFKA_PERSIST:-1}" = 1 ] && { mkdir -p "$DIR/data"; args+=(-data-dir "$DIR/data"); }
  [ "${KAFKA_AUTO_CREATE:-0}" = 1 ] && args+=(-auto-create-topics)
  [ -n "${KAFKA_SEED_TOPICS:-}" ] && args+=(-seed-topics "$KAFKA_SEED_TOPICS")
  setsid "$BIN" "${args[@]}" </dev/null >"$DIR/kfakebroker.log" 2>&1 &
  echo $! > "$PIDFILE"
  wait_until 30 grep -q '^ready' "$DIR/kfakebroker.log" || { cat "$DIR/kfakebroker.log" >&2; stop_pid "$PIDFILE" 5; die "kfakebroker did not start"; }
  log "kfake broker up on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
}

stop() { stop_pid "$PIDFILE" 30; log "stopped"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) pid_alive "$PIDFILE" && echo "running kfake on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))" ;;
  clean) stop; rm -rf "$DIR"; log "removed $DIR" ;;
  env) echo "KAFKA_BROKERS=127.0.0.1:$PORT" ;;
  *) usage_common; exit 2 ;;
esac
