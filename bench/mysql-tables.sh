#!/usr/bin/env bash
# mysql-tables.sh: the MySQL/MariaDB snapshot at scale (issue 20). Creates N small tables
# (id INT PRIMARY KEY, v VARCHAR(20), n INT, KEY(n)) in a private database, runs sluice-mysql
# (--snapshot-mode initial, stdout sink to /dev/null) until it streams, then restarts it on the
# same offsets until it streams again, and drops the database. Reports per run: how long writes
# were blocked (the source's own figure, its log's writes_blocked_seconds), seconds to
# streaming (split into the schema read, with DDL held off by the backup lock, and the rows: from
# the log's "snapshot started" to "snapshot completed"), peak RSS (VmHWM), the schema history's
# size and the load average before and after. Goals at 10,000 tables: writes blocked <= 1 s,
# snapshot <= 10 s, restart to streaming <= 5 s, peak RSS <= 64 MB.
#
# Usage: bench/mysql-tables.sh [N ...]        (default: 10000)
# Settings (environment):
#   SCALE_DSN   server, mysql://user:pass@host:port (default: SLUICE_TEST_MARIADB_DSN's server
#               from scripts/servers.sh env, i.e. the shared MariaDB)
#   SCALE_DB    database name (default sluice_scale_<N>); dropped afterwards unless SCALE_KEEP=1
#   SCALE_ROWS  rows per table (default 0)
#   SCALE_LOCKING  --snapshot-locking (default: sluice's default, minimal)
#   SCALE_THREADS  --snapshot-max-threads (default: sluice's default, 2)
#   SCALE_REUSE=1  keep the tables of an existing SCALE_DB instead of creating them
#   SCALE_DIR   work dir (default /tmp/sluice-scale), removed afterwards
set -euo pipefail
HERE="$(dirname "$(readlink -f "$0")")"
REPO="$(dirname "$HERE")"
DIR="${SCALE_DIR:-/tmp/sluice-scale}"
mkdir -p "$DIR"
if [ -z "${SCALE_DSN:-}" ]; then
  eval "$("$REPO/scripts/servers.sh" env)"
  # root@tcp(127.0.0.1:13306)/ → mysql://root@127.0.0.1:13306
  SCALE_DSN="mysql://$(sed -E 's#^([^@]*)@tcp\(([^)]*)\)/.*#\1@\2#' <<<"$SLUICE_TEST_MARIADB_DSN")"
fi
hostport="${SCALE_DSN#*@}"; hostport="${hostport%%/*}"
userpass="${SCALE_DSN#mysql://}"; userpass="${userpass%%@*}"
user="${userpass%%:*}"; pass=""; [[ "$userpass" == *:* ]] && pass="${userpass#*:}"
sql() { mysql --no-defaults -h "${hostport%:*}" -P "${hostport#*:}" -u "$user" ${pass:+-p"$pass"} "$@"; }

log() { echo "$(date +%T) $*" >&2; }

go build -o "$DIR/sluice-mysql" "$REPO/cmd/sluice-mysql"

# run_until_streaming LOG: starts sluice-mysql, waits for "streaming binlog" in its log, prints
# "seconds peak_rss_mb", and stops it.
run_until_streaming() {
  local logf="$1" off="$DIR/offsets" pid t0 t1 rss
  t0=$(date +%s.%N)
  "$DIR/sluice-mysql" --dsn "$SCALE_DSN" --server-id $((7000 + RANDOM % 1000)) --tls-mode disable \
    --offsets-file "$off" --schema-history "file:$off.history" --database-include "$DB" \
    --topic-prefix scale --sink stdout --log-format text --log-level info \
    ${SCALE_LOCKING:+--snapshot-locking "$SCALE_LOCKING"} ${SCALE_THREADS:+--snapshot-max-threads "$SCALE_THREADS"} \
    >/dev/null 2>"$logf" &
  pid=$!
  until grep -q "msg=streaming " "$logf"; do
    if ! kill -0 "$pid" 2>/dev/null; then log "sluice-mysql exited: $(tail -3 "$logf")"; return 1; fi
    sleep 0.05
  done
  t1=$(date +%s.%N)
  rss=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') $rss"
}

for N in "${@:-10000}"; do
  DB="${SCALE_DB:-sluice_scale_$N}"
  rm -f "$DIR/offsets" "$DIR/offsets.history"
  trap '[ "${SCALE_KEEP:-0}" = 1 ] || { sql -e "DROP DATABASE IF EXISTS $DB" 2>/dev/null; rm -rf "$DIR"; }' EXIT
  log "creating $N tables in $DB on $hostport"
  t0=$(date +%s)
  [ "${SCALE_REUSE:-0}" = 1 ] || sql -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
  [ "${SCALE_REUSE:-0}" = 1 ] || {
    for ((i = 1; i <= N; i++)); do
      echo "CREATE TABLE t$i (id INT PRIMARY KEY, v VARCHAR(20), n INT, KEY(n));"
      for ((r = 1; r <= ${SCALE_ROWS:-0}; r++)); do echo "INSERT INTO t$i VALUES ($r, 'v$r', $r);"; done
    done
  } | sql "$DB"
  log "  created in $(( $(date +%s) - t0 )) s"
  load0=$(cut -d' ' -f1 /proc/loadavg)
  read -r snap_s snap_rss < <(run_until_streaming "$DIR/first.log")
  blocked=$(grep -o 'writes_blocked_seconds=[0-9.e-]*' "$DIR/first.log" | tail -1 | cut -d= -f2)
  lock=$(grep -o 'backup lock taken[^"]*"[^"]*"' "$DIR/first.log" | head -1 || true)
  ddl=$(grep -o 'ddl_blocked_seconds=[0-9.e-]*' "$DIR/first.log" | tail -1 | cut -d= -f2 || true)
  logtime() { date -d "$(grep -m1 "msg=\"$1" "$DIR/first.log" | sed -E 's/^time=([^ ]*) .*/\1/')" +%s.%N; }
  rows_s=$(awk -v a="$(logtime 'snapshot started')" -v b="$(logtime 'snapshot completed')" 'BEGIN { printf "%.2f", b - a }')
  hist_mb=$(awk -v s="$(stat -c %s "$DIR/offsets.history")" 'BEGIN { printf "%.1f", s / 1048576 }')
  read -r restart_s restart_rss < <(run_until_streaming "$DIR/restart.log")
  server=$(sql -N -e "SELECT VERSION()")
  echo "| $server | $N tables | load $load0-$(cut -d' ' -f1 /proc/loadavg) | writes blocked ${blocked:-?} s | schema read (DDL blocked) ${ddl:-?} s | rows $rows_s s | snapshot to streaming $snap_s s | peak RSS $snap_rss MB | restart to streaming $restart_s s | restart peak RSS $restart_rss MB | history $hist_mb MB | ${lock:-no backup lock} |"
  [ "${SCALE_KEEP:-0}" = 1 ] || sql -e "DROP DATABASE IF EXISTS $DB"
done
