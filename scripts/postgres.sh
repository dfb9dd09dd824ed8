#!/usr/bin/env bash
# postgres.sh: a private PostgreSQL on loopback with wal_level=logical, for CDC tests.
#   PG_VERSION (15)  15 = Debian bookworm package (apt); 17 = Debian trixie build, unpacked from its
#                    .debs into $SLUICE_INFRA_DIR/pg17-root and relinked to its own glibc with patchelf
#                    (the host's bookworm glibc 2.36 is too old for it). Nothing else is installed.
#   PG_PORT (15432)  PG_DIR ($SLUICE_INFRA_DIR/postgres$PG_VERSION)
#   PG_PASSWORD (postgres)  PG_REPL_USER/PG_REPL_PASSWORD (repl/replpw)
#   PG_POSTGIS (0)   1 = also install PostGIS for PostgreSQL 15 (Debian package)
# Auth: password (scram-sha-256) over TCP, trust on the private unix socket. The replication
# user has LOGIN REPLICATION and pg_read_all_data; publications are made by the superuser.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"

VER="${PG_VERSION:-15}"
PORT="${PG_PORT:-15432}"
DIR="${PG_DIR:-$INFRA_DIR/postgres$VER}"
PASSWORD="${PG_PASSWORD:-postgres}"
REPL_USER="${PG_REPL_USER:-repl}"
REPL_PASSWORD="${PG_REPL_PASSWORD:-replpw}"
DATA="$DIR/data" RUN="$DIR/run"

case "$VER" in
  15) BIN=/usr/lib/postgresql/15/bin ;;
  17) ROOT="$INFRA_DIR/pg17-root"; BIN="$ROOT/usr/lib/postgresql/17/bin" ;;
  *) die "PG_VERSION must be 15 (bookworm) or 17 (trixie)" ;;
esac

install() {
  need_root
  if [ "$VER" = 15 ]; then
    # PG_POSTGIS=1 adds PostGIS (about 150 MB of libraries) for the geometry type tests.
    if [ "${PG_POSTGIS:-0}" = 1 ]; then apt_install postgresql-15 postgresql-15-postgis-3; else apt_install postgresql-15; fi
    return
  fi
  [ -e "$ROOT/.complete" ] && return 0
  apt_install patchelf
  extract_newer "$ROOT" '^(lib|zlib1g|gcc-[0-9]+-base|postgresql-17|postgresql-client-17)' \
    '^(libllvm|libz3-|libperl|libjson-perl|libtext-|libsystemd|libpam|libsemanage|libaudit|libdebconfclient|libdebian-installer|libnewt|libslang|libtextwrap|libproc2|libc-bin|libc-l10n|libdb5|libgdbm)' \
    postgresql-17 postgresql-client-17
  rm -f "$ROOT/.complete"
  local ldso="$ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" f
  [ -x "$ldso" ] || die "no dynamic loader in $ROOT"
  for f in "$BIN"/*; do
    head -c4 "$f" | grep -q ELF || continue
    patchelf --set-interpreter "$ldso" --force-rpath --set-rpath "$ROOT/usr/lib/x86_64-linux-gnu" "$f" || die "patchelf $f failed"
  done
  "$BIN/postgres" --version >/dev/null || die "the unpacked postgres does not run"
  touch "$ROOT/.complete"
}

pg() { runuser -u postgres -- "$@"; }
psql_local() { pg "$BIN/psql" -h "$RUN" -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

start() {
  install
  ensure_user postgres
  if [ -f "$DATA/postmaster.pid" ] && pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "already running (PostgreSQL $VER, port $PORT)"; return 0
  fi
  port_in_use "$PORT" && die "port $PORT is already in use by another process; set PG_PORT"
  mkdir -p "$RUN"; chown postgres:postgres "$DIR" "$RUN"
  local t0; t0="$(now_s)"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"; mkdir -p "$DATA"; chown postgres:postgres "$DATA"
    printf '%s\n' "$PASSWORD" > "$RUN/pwfile"; chown postgres "$RUN/pwfile"; chmod 600 "$RUN/pwfile"
    pg "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$RUN/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --no-locale -N >"$RUN/initdb.log" 2>&1 || { cat "$RUN/initdb.log" >&2; die "initdb failed"; }
    rm -f "$RUN/pwfile"
    cat >> "$DATA/postgresql.conf" <<CONF
# CDC test settings
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN'
wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
wal_sender_timeout = 60s
timezone = 'UTC'
jit = off
CONF
    log "initialised $DATA in $(elapsed "$t0") s"
    t0="$(now_s)"
  fi
  pg "$BIN/pg_ctl" -D "$DATA" -l "$RUN/postgres.log" -w -t 60 start >/dev/null || { tail -20 "$RUN/postgres.log" >&2; die "pg_ctl start failed (log: $RUN/postgres.log)"; }
  psql_local -d postgres <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$REPL_USER') THEN
    CREATE ROLE "$REPL_USER" LOGIN REPLICATION PASSWORD '$REPL_PASSWORD';
    GRANT pg_read_all_data TO "$REPL_USER";
  END IF;
END \$\$;
SQL
  log "PostgreSQL $(psql_local -At -d postgres -c 'SHOW server_version') up on 127.0.0.1:$PORT in $(elapsed "$t0") s"
}

stop() {
  if [ -f "$DATA/postmaster.pid" ] && [ -x "$BIN/pg_ctl" ]; then
    pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) [ -f "$DATA/postmaster.pid" ] && pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null && psql_local -At -d postgres -c "SELECT 'running ' || version() || ', wal_level=' || current_setting('wal_level')" ;;
  clean) stop; rm -rf "$DIR"; log "removed $DIR" ;;
  env) cat <<ENV
PG_HOST=127.0.0.1
PG_PORT=$PORT
PG_USER=postgres
PG_PASSWORD=$PASSWORD
PG_REPL_USER=$REPL_USER
PG_REPL_PASSWORD=$REPL_PASSWORD
PG_DSN=postgres://postgres:$PASSWORD@127.0.0.1:$PORT/postgres?sslmode=disable
PG_BIN=$BIN
ENV
  ;;
  *) usage_common; exit 2 ;;
esac
