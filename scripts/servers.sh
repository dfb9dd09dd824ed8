#!/usr/bin/env bash
# servers.sh: start (or stop) every test server on loopback and print the SLUICE_TEST_* settings
# the integration tests read.
#   scripts/servers.sh start [SERVICE...]   install if needed and start (default: all)
#   scripts/servers.sh stop|clean [SERVICE...]
#   scripts/servers.sh sweep                drop what killed test runs left on PostgreSQL (postgres.sh)
#   scripts/servers.sh env                  print export lines: eval "$(scripts/servers.sh env)"
# Services: postgres15 postgres17 mariadb mariadb-replica mysql9 clickhouse kafka
# (mariadb-replica replicates mariadb by GTID: the failover target of the MySQL connector tests).
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
. "$HERE/lib.sh"

ALL=(postgres15 postgres17 mariadb mariadb-replica mysql9 clickhouse kafka)

svc() { # svc NAME ACTION
  case "$1" in
    # PostGIS on by default: the conformance suite's postgis cases need it (PG_POSTGIS=0: without).
    postgres15) PG_POSTGIS="${PG_POSTGIS:-1}" PG_VERSION=15 PG_PORT="${PG15_PORT:-15432}" "$HERE/postgres.sh" "$2" ;;
    postgres17) PG_VERSION=17 PG_PORT="${PG17_PORT:-15433}" "$HERE/postgres.sh" "$2" ;;
    mariadb) "$HERE/mariadb.sh" "$2" ;;
    mariadb-replica) REPLICA_PORT="${MARIADB_REPLICA_PORT:-13308}" "$HERE/mariadb-replica.sh" "$2" ;;
    mysql9) "$HERE/mysql9.sh" "$2" ;;
    clickhouse) "$HERE/clickhouse.sh" "$2" ;;
    kafka) "$HERE/kafka.sh" "$2" ;;
    *) die "unknown service $1 (want one of: ${ALL[*]})" ;;
  esac
}

action="${1:-}"; shift || true
[ $# -gt 0 ] || set -- "${ALL[@]}"
case "$action" in
  start|stop|clean)
    for s in "$@"; do
      script="$s"; case "$s" in postgres*) script=postgres ;; esac
      [ -x "$HERE/$script.sh" ] || { log "skipping $s: scripts/$script.sh not present"; continue; }
      svc "$s" "$action"
    done ;;
  sweep)
    for s in postgres15 postgres17; do svc "$s" sweep; done ;;
  env)
    # Connection settings of the default ports, whether or not the servers run.
    cat <<ENV
export SLUICE_TEST_PG_DSN='postgres://postgres:postgres@127.0.0.1:${PG15_PORT:-15432}/postgres?sslmode=disable'
export SLUICE_TEST_PG17_DSN='postgres://postgres:postgres@127.0.0.1:${PG17_PORT:-15433}/postgres?sslmode=disable'
export SLUICE_TEST_MARIADB_DSN='root@tcp(127.0.0.1:${MARIADB_PORT:-13306})/'
export SLUICE_TEST_MARIADB_REPLICA_DSN='root@tcp(127.0.0.1:${MARIADB_REPLICA_PORT:-13308})/'
export SLUICE_TEST_MYSQL_DSN='root@tcp(127.0.0.1:${MYSQL9_PORT:-13307})/'
export SLUICE_TEST_CLICKHOUSE_ADDR='127.0.0.1:${CH_TCP_PORT:-19000}'
export SLUICE_TEST_KAFKA_BROKERS='127.0.0.1:${KAFKA_PORT:-19092}'
ENV
    ;;
  *) echo "usage: $SCRIPT_NAME start|stop|clean|sweep|env [SERVICE...]  (services: ${ALL[*]})" >&2; exit 2 ;;
esac
