#!/usr/bin/env bash
# mariadb.sh: a private MariaDB 10.11 (Debian bookworm package) on loopback, with the binlog
# in ROW format, FULL row image, GTIDs and TLS, for CDC tests.
#   MARIADB_PORT (13306)  MARIADB_DIR ($SLUICE_INFRA_DIR/mariadb)  MARIADB_REPL_USER/PASSWORD (repl/replpw)
#   MARIADB_BUFFER_POOL (256M)  MARIADB_SERVER_ID (1)
# Admin: root with no password from 127.0.0.1 or the socket. Users (all with REPLICATION SLAVE,
# BINLOG MONITOR (= REPLICATION CLIENT), SELECT, RELOAD):
#   repl/replpw          mysql_native_password
#   repl_ed/replpw       client_ed25519 (plugin auth_ed25519)
# TLS: a private CA and server certificate (CN and SAN 127.0.0.1/localhost) are made with openssl
# under $DIR/tls on first start; `env` prints MARIADB_TLS_CA for verify-ca/verify-full clients.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"

PORT="${MARIADB_PORT:-13306}"
DIR="${MARIADB_DIR:-$INFRA_DIR/mariadb}"
REPL_USER="${MARIADB_REPL_USER:-repl}"
REPL_PASSWORD="${MARIADB_REPL_PASSWORD:-replpw}"
POOL="${MARIADB_BUFFER_POOL:-256M}"
SERVER_ID="${MARIADB_SERVER_ID:-1}"
DATA="$DIR/data" RUN="$DIR/run" TLS="$DIR/tls"
PIDFILE="$RUN/mariadbd.pid" SOCK="$RUN/mariadbd.sock"

cli() { mariadb --no-defaults --protocol=socket -S "$SOCK" -uroot "$@"; }

# make_tls: a CA and a server certificate signed by it, valid for 127.0.0.1 and localhost.
make_tls() {
  [ -s "$TLS/server-cert.pem" ] && return 0
  mkdir -p "$TLS"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=sluice test CA" \
    -keyout "$TLS/ca-key.pem" -out "$TLS/ca.pem" >/dev/null 2>&1 || die "openssl: CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$TLS/server-key.pem" -out "$TLS/server.csr" >/dev/null 2>&1 || die "openssl: server key"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$TLS/san.ext"
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" -CAcreateserial \
    -days 3650 -extfile "$TLS/san.ext" -out "$TLS/server-cert.pem" >/dev/null 2>&1 || die "openssl: server cert"
  chown -R mysql:mysql "$TLS"; chmod 0644 "$TLS/ca.pem" "$TLS/server-cert.pem"
}

# users: (re)create the test users; idempotent, also run when the server was already up.
users() {
  [ "$(cli -N -e "SELECT COUNT(*) FROM information_schema.plugins WHERE plugin_name='ed25519'")" = 1 ] \
    || cli -e "INSTALL SONAME 'auth_ed25519'"
  cli <<SQL
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS '$REPL_USER'@'%' IDENTIFIED BY '$REPL_PASSWORD';
GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT, RELOAD ON *.* TO '$REPL_USER'@'%';
CREATE USER IF NOT EXISTS 'repl_ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('$REPL_PASSWORD');
GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT, RELOAD ON *.* TO 'repl_ed'@'%';
SQL
}

start() {
  need_root
  apt_install mariadb-server mariadb-client openssl
  if pid_alive "$PIDFILE"; then users; log "already running (pid $(cat "$PIDFILE"), port $PORT)"; return 0; fi
  port_in_use "$PORT" && die "port $PORT is already in use by another process; set MARIADB_PORT"
  ensure_user mysql
  mkdir -p "$RUN"; chown mysql:mysql "$DIR" "$RUN"
  make_tls
  local t0; t0="$(now_s)"
  if [ ! -d "$DATA/mysql" ]; then
    rm -rf "$DATA"; mkdir -p "$DATA"; chown mysql:mysql "$DATA"
    mariadb-install-db --no-defaults --datadir="$DATA" --tmpdir="$RUN" --user=mysql --auth-root-authentication-method=normal \
      --skip-test-db >"$RUN/install-db.log" 2>&1 || { cat "$RUN/install-db.log" >&2; die "mariadb-install-db failed"; }
    log "initialised $DATA in $(elapsed "$t0") s"
  fi
  t0="$(now_s)"
  setsid mariadbd --no-defaults --user=mysql --datadir="$DATA" --tmpdir="$RUN" --port="$PORT" --bind-address=127.0.0.1 \
    --socket="$SOCK" --pid-file="$PIDFILE" --log-error="$RUN/error.log" --skip-name-resolve \
    --server-id="$SERVER_ID" --log-bin="$DATA/binlog" --binlog-format=ROW --binlog-row-image=FULL \
    --binlog-checksum=CRC32 --gtid-strict-mode=ON --log-slave-updates=ON \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --ssl-ca="$TLS/ca.pem" --ssl-cert="$TLS/server-cert.pem" --ssl-key="$TLS/server-key.pem" \
    --innodb-buffer-pool-size="$POOL" --max-connections=500 --max-allowed-packet=64M </dev/null >/dev/null 2>&1 &
  wait_until 60 cli -e 'SELECT 1' || { tail -20 "$RUN/error.log" >&2; die "mariadbd did not come up (log: $RUN/error.log)"; }
  users
  log "MariaDB $(cli -N -e 'SELECT VERSION()') up on 127.0.0.1:$PORT in $(elapsed "$t0") s (pid $(cat "$PIDFILE"))"
}

stop() { stop_pid "$PIDFILE" 60; log "stopped"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) pid_alive "$PIDFILE" && cli -N -e "SELECT CONCAT('running ', VERSION(), ' port ', @@port, ' binlog ', @@binlog_format, ' gtid ', @@gtid_binlog_pos, ' ssl ', @@have_ssl)" ;;
  clean) stop; rm -rf "$DIR"; log "removed $DIR" ;;
  env) cat <<ENV
MARIADB_HOST=127.0.0.1
MARIADB_PORT=$PORT
MARIADB_ADMIN_USER=root
MARIADB_ADMIN_PASSWORD=
MARIADB_REPL_USER=$REPL_USER
MARIADB_REPL_PASSWORD=$REPL_PASSWORD
MARIADB_SOCKET=$SOCK
MARIADB_TLS_CA=$TLS/ca.pem
ENV
  ;;
  *) usage_common; exit 2 ;;
esac
