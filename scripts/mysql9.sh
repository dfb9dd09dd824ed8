#!/usr/bin/env bash
# mysql9.sh: a private Oracle MySQL 9.7 (Debian sid build) on loopback, binlog ROW/FULL + GTID.
# The sid packages need glibc >= 2.38 (bookworm has 2.36), so their .debs and library
# dependencies are unpacked into $SLUICE_INFRA_DIR/mysql9-root (about 350 MB; nothing is installed
# on the host) and mysqld runs through that tree's own dynamic loader.
#   MYSQL9_PORT (13307)  MYSQL9_DIR ($SLUICE_INFRA_DIR/mysql9)  MYSQL9_REPL_USER/PASSWORD (repl/replpw)
#   MYSQL9_BUFFER_POOL (256M)  MYSQL9_SERVER_ID (1)
# Admin: root@localhost with no password (TCP from 127.0.0.1 resolves to localhost). Users (all
# with REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD):
#   repl/replpw          caching_sha2_password (mysql_native_password no longer exists in 9.x)
#   repl_sha256/replpw   sha256_password (deprecated but still shipped in 9.x)
# TLS: mysqld generates its own CA and server certificate in the data dir at first start
# (auto_generate_certs); `env` prints MYSQL9_TLS_CA. The certificate names no host, so clients can
# use required or verify-ca, not verify-full.
# Extra: `mysql9.sh exec mysql|mysqlbinlog|mysqladmin ARGS...` runs a client tool from the tree.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"

PORT="${MYSQL9_PORT:-13307}"
DIR="${MYSQL9_DIR:-$INFRA_DIR/mysql9}"
REPL_USER="${MYSQL9_REPL_USER:-repl}"
REPL_PASSWORD="${MYSQL9_REPL_PASSWORD:-replpw}"
POOL="${MYSQL9_BUFFER_POOL:-256M}"
SERVER_ID="${MYSQL9_SERVER_ID:-1}"
ROOT="$INFRA_DIR/mysql9-root"
DATA="$DIR/data" RUN="$DIR/run"
PIDFILE="$RUN/mysqld.pid" SOCK="$RUN/mysqld.sock"
LIBS="$ROOT/usr/lib/x86_64-linux-gnu"

# run PROG ARGS...: a binary from the unpacked tree, through the tree's own loader and libraries.
run() { local p="$1"; shift; "$LIBS/ld-linux-x86-64.so.2" --library-path "$LIBS" "$p" "$@"; }
cli() { run "$ROOT/usr/bin/mysql" --no-defaults -S "$SOCK" -uroot "$@"; }

install() {
  need_root
  extract_newer "$ROOT" '^(lib|zlib1g|gcc-[0-9]+-base|mysql-server-core|mysql-client-core)' \
    '^(libperl|libgdbm|libdb5)' mysql-server-core mysql-client-core
  run "$ROOT/usr/sbin/mysqld" --version >/dev/null || die "the unpacked mysqld does not run"
}

# users: (re)create the test users; idempotent, also run when the server was already up.
users() {
  cli <<SQL
CREATE USER IF NOT EXISTS '$REPL_USER'@'%' IDENTIFIED BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO '$REPL_USER'@'%';
CREATE USER IF NOT EXISTS 'repl_sha256'@'%' IDENTIFIED WITH sha256_password BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO 'repl_sha256'@'%';
SQL
}

mysqld_args() {
  echo --no-defaults --basedir="$ROOT/usr" --lc-messages-dir="$ROOT/usr/share/mysql" \
    --character-sets-dir="$ROOT/usr/share/mysql/charsets" --plugin-dir="$ROOT/usr/lib/mysql/plugin" \
    --datadir="$DATA" --user=mysql --secure-file-priv="$RUN/files"
}

start() {
  install
  if pid_alive "$PIDFILE"; then users; log "already running (pid $(cat "$PIDFILE"), port $PORT)"; return 0; fi
  port_in_use "$PORT" && die "port $PORT is already in use by another process; set MYSQL9_PORT"
  ensure_user mysql
  mkdir -p "$RUN/files"; chown mysql:mysql "$DIR" "$RUN" "$RUN/files"
  local t0; t0="$(now_s)"
  if [ ! -d "$DATA/mysql" ]; then
    rm -rf "$DATA"; mkdir -p "$DATA"; chown mysql:mysql "$DATA"
    # shellcheck disable=SC2046
    run "$ROOT/usr/sbin/mysqld" $(mysqld_args) --initialize-insecure --log-error="$RUN/initialize.log" \
      || { tail -20 "$RUN/initialize.log" >&2; die "mysqld --initialize-insecure failed"; }
    log "initialised $DATA in $(elapsed "$t0") s"
    t0="$(now_s)"
  fi
  # shellcheck disable=SC2046
  setsid "$LIBS/ld-linux-x86-64.so.2" --library-path "$LIBS" "$ROOT/usr/sbin/mysqld" $(mysqld_args) \
    --port="$PORT" --bind-address=127.0.0.1 --socket="$SOCK" --pid-file="$PIDFILE" --log-error="$RUN/error.log" \
    --mysqlx=OFF --server-id="$SERVER_ID" --log-bin=binlog --binlog-format=ROW --binlog-row-image=FULL \
    --gtid-mode=ON --enforce-gtid-consistency=ON --innodb-buffer-pool-size="$POOL" --max-connections=500 \
    </dev/null >/dev/null 2>&1 &
  wait_until 90 cli -e 'SELECT 1' || { tail -20 "$RUN/error.log" >&2; die "mysqld did not come up (log: $RUN/error.log)"; }
  users
  log "MySQL $(cli -N -e 'SELECT VERSION()') up on 127.0.0.1:$PORT in $(elapsed "$t0") s (pid $(cat "$PIDFILE"))"
}

stop() { stop_pid "$PIDFILE" 60; log "stopped"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) pid_alive "$PIDFILE" && cli -N -e "SELECT CONCAT('running ', VERSION(), ' port ', @@port, ' binlog ', @@binlog_format, ' gtid_mode ', @@gtid_mode)" ;;
  clean) stop; rm -rf "$DIR"; log "removed $DIR (the unpacked packages in $ROOT are kept; rm -rf it to re-download)" ;;
  exec) shift; [ $# -ge 1 ] || die "usage: $SCRIPT_NAME exec PROGRAM [ARGS...]"; p="$1"; shift
        [ -x "$ROOT/usr/bin/$p" ] || die "no $p in $ROOT/usr/bin (run '$SCRIPT_NAME start' first)"; run "$ROOT/usr/bin/$p" "$@" ;;
  env) cat <<ENV
MYSQL9_HOST=127.0.0.1
MYSQL9_PORT=$PORT
MYSQL9_ADMIN_USER=root
MYSQL9_ADMIN_PASSWORD=
MYSQL9_REPL_USER=$REPL_USER
MYSQL9_REPL_PASSWORD=$REPL_PASSWORD
MYSQL9_SOCKET=$SOCK
MYSQL9_TLS_CA=$DATA/ca.pem
ENV
  ;;
  *) usage_common; echo "  exec    run a client tool from the unpacked tree: exec mysql -e 'SELECT 1'"; exit 2 ;;
esac
