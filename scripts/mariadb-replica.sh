#!/usr/bin/env bash
# mariadb-replica.sh: a second MariaDB 10.11 on loopback replicating the one of mariadb.sh by
# GTID (log_slave_updates on, so its binlog carries the primary's GTIDs): the failover target of
# the MySQL connector's GTID tests.
#   scripts/mariadb-replica.sh start|stop|clean|env
#   REPLICA_PORT (13308)  MARIADB_PORT of the primary (13306)
# The replica starts at the primary's current GTID position (older history is not copied).
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
. "$HERE/lib.sh"
RPORT="${REPLICA_PORT:-13308}"
PPORT="${MARIADB_PORT:-13306}"
RDIR="$INFRA_DIR/mariadb-replica"
run() { MARIADB_PORT="$RPORT" MARIADB_DIR="$RDIR" MARIADB_SERVER_ID=2 "$HERE/mariadb.sh" "$@"; }
rcli() { mariadb --no-defaults -h127.0.0.1 -P"$RPORT" -uroot "$@"; }
pcli() { mariadb --no-defaults -h127.0.0.1 -P"$PPORT" -uroot "$@"; }
case "${1:-}" in
  start)
    run start
    if [ "$(rcli -N -e "SELECT COUNT(*) FROM information_schema.SLAVE_STATUS" 2>/dev/null || echo 0)" = 0 ] ||
       ! rcli -e "SHOW SLAVE STATUS\G" | grep -q "Slave_SQL_Running: Yes"; then
      pos="$(pcli -N -e 'SELECT @@gtid_binlog_pos')"
      rcli -e "STOP SLAVE; RESET SLAVE ALL; RESET MASTER; SET GLOBAL gtid_slave_pos='$pos';
        CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$PPORT, MASTER_USER='repl', MASTER_PASSWORD='replpw', MASTER_USE_GTID=slave_pos;
        START SLAVE;"
      log "replicating 127.0.0.1:$PPORT from GTID $pos"
    fi
    wait_until 30 sh -c "mariadb --no-defaults -h127.0.0.1 -P$RPORT -uroot -e 'SHOW SLAVE STATUS\G' | grep -q 'Slave_IO_Running: Yes'" \
      || die "replica IO thread not running: $(rcli -e 'SHOW SLAVE STATUS\G' | grep -i error)"
    ;;
  stop|clean) run "$1" ;;
  env) echo "export SLUICE_TEST_MARIADB_REPLICA_DSN='root@tcp(127.0.0.1:$RPORT)/'" ;;
  *) echo "usage: $SCRIPT_NAME start|stop|clean|env" >&2; exit 2 ;;
esac
