#!/usr/bin/env bash
# postgres.sh: a private PostgreSQL on loopback with wal_level=logical, for CDC tests.
#   PG_VERSION (15)  15 = Debian bookworm package (apt); 17 = Debian trixie build, unpacked from its
#                    .debs into $SLUICE_INFRA_DIR/pg17-root and relinked to its own glibc with patchelf
#                    (the host's bookworm glibc 2.36 is too old for it). Nothing else is installed.
#   PG_PORT (15432)  PG_DIR ($SLUICE_INFRA_DIR/postgres$PG_VERSION)
#   PG_PASSWORD (postgres)  PG_REPL_USER/PG_REPL_PASSWORD (repl/replpw)
#   PG_POSTGIS (0)   1 = also install PostGIS for PostgreSQL 15 (Debian package)
#   PG_SLOTS (64)    max_replication_slots and max_wal_senders
# sweep: drops what test runs that were killed left behind (their cleanups never ran): inactive
# slots and databases named sl_…_PID whose process PID is gone. An inactive slot pins WAL for
# good, and a few dozen of them take every slot: each later slot creation fails.
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
SLOTS="${PG_SLOTS:-64}"

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
    local have; have="$(psql_local -At -d postgres -c 'SHOW max_replication_slots')"
    if [ "$have" -ge "$SLOTS" ]; then log "already running (PostgreSQL $VER, port $PORT)"; return 0; fi
    # Started by an older script with fewer slots: restart with this script's settings.
    log "running with max_replication_slots=$have < $SLOTS: restarting"
    pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
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
wal_sender_timeout = 60s
timezone = 'UTC'
jit = off
CONF
    log "initialised $DATA in $(elapsed "$t0") s"
    t0="$(now_s)"
  fi
  # Slots and senders on the command line, so that data dirs made by older scripts get them too:
  # make check's packages run side by side, each with slots of its own.
  pg "$BIN/pg_ctl" -D "$DATA" -l "$RUN/postgres.log" -w -t 60 \
    -o "-c max_replication_slots=$SLOTS -c max_wal_senders=$SLOTS" start >/dev/null || { tail -20 "$RUN/postgres.log" >&2; die "pg_ctl start failed (log: $RUN/postgres.log)"; }
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

sweep() {
  [ -f "$DATA/postmaster.pid" ] || return 0
  local name pid slots=0 dbs=0
  while read -r name; do
    pid="${name##*_}"
    [ -n "$pid" ] && [ "$pid" != "$name" ] && ! kill -0 "$pid" 2>/dev/null || continue
    psql_local -d postgres -c "SELECT pg_drop_replication_slot('$name') FROM pg_replication_slots WHERE slot_name = '$name' AND NOT active" </dev/null >/dev/null 2>&1 && slots=$((slots + 1))
  done < <(psql_local -At -d postgres -c "SELECT slot_name FROM pg_replication_slots WHERE NOT active AND slot_name ~ '^sl_.*_[0-9]+$'")
  while read -r name; do
    pid="${name##*_}"
    ! kill -0 "$pid" 2>/dev/null || continue
    psql_local -d postgres -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" </dev/null >/dev/null 2>&1 && dbs=$((dbs + 1))
  done < <(psql_local -At -d postgres -c "SELECT datname FROM pg_database WHERE datname ~ '^sl_.*_[0-9]+$'")
  log "swept $slots slots and $dbs databases left by killed test runs"
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
  sweep) sweep ;;
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
