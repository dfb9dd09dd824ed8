#!/usr/bin/env bash
# clickhouse.sh: a private ClickHouse server on loopback for the sink tests (scripts/servers.sh calls it). Debian 12 ships only ClickHouse 18.16.1
# (protocol revision 54412), the newest server obtainable here. Known limits of 18.16:
#   - no DateTime64 (use DateTime), LowCardinality needs allow_experimental_low_cardinality_type=1
#     (set in this instance's default profile), no settings sent by ch-go (revision < 54429);
#   - stock ch-go fails on every query ("UNKNOWN_SETTING (115): Unknown setting") because it omits
#     the ClientInfo block below revision 54420; clickhouse-go/v2 works (use explicit column lists).
#   CH_TCP_PORT (19000)  CH_HTTP_PORT (18123)  CH_DIR ($SLUICE_INFRA_DIR/clickhouse)
#   CH_USER (default)  CH_PASSWORD (empty)
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"

TCP_PORT="${CH_TCP_PORT:-19000}"
HTTP_PORT="${CH_HTTP_PORT:-18123}"
DIR="${CH_DIR:-$INFRA_DIR/clickhouse}"
CH_USER="${CH_USER:-default}"
CH_PASSWORD="${CH_PASSWORD:-}"
PIDFILE="$DIR/run/clickhouse-server.pid"

cli() { clickhouse-client --host 127.0.0.1 --port "$TCP_PORT" --user "$CH_USER" ${CH_PASSWORD:+--password "$CH_PASSWORD"} "$@"; }

write_config() {
  mkdir -p "$DIR"/{data,tmp,user_files,format_schemas,log,run}
  cat > "$DIR/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$DIR/log/server.log</log>
        <errorlog>$DIR/log/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$TCP_PORT</tcp_port>
    <http_port>$HTTP_PORT</http_port>
    <max_connections>512</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <mark_cache_size>536870912</mark_cache_size>
    <path>$DIR/data/</path>
    <tmp_path>$DIR/tmp/</tmp_path>
    <user_files_path>$DIR/user_files/</user_files_path>
    <format_schema_path>$DIR/format_schemas/</format_schema_path>
    <users_config>$DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
XML
  cat > "$DIR/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
            <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
        </default>
    </profiles>
    <users>
        <$CH_USER>
            <password>$CH_PASSWORD</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </$CH_USER>
    </users>
    <quotas>
        <default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default>
    </quotas>
</yandex>
XML
  chown -R clickhouse:clickhouse "$DIR"
}

start() {
  need_root
  apt_install clickhouse-server clickhouse-client
  if pid_alive "$PIDFILE"; then log "already running (pid $(cat "$PIDFILE"), tcp $TCP_PORT)"; return 0; fi
  port_in_use "$TCP_PORT" && die "port $TCP_PORT is already in use by another process; set CH_TCP_PORT"
  port_in_use "$HTTP_PORT" && die "port $HTTP_PORT is already in use by another process; set CH_HTTP_PORT"
  ensure_user clickhouse
  write_config
  local t0; t0="$(now_s)"
  (cd "$DIR" && setpriv --reuid=clickhouse --regid=clickhouse --init-groups \
     clickhouse-server --config-file="$DIR/config.xml" --pid-file="$PIDFILE" --daemon) \
     || die "clickhouse-server failed to start (log: $DIR/log/server.err.log)"
  wait_until 60 cli -q 'SELECT 1' || { tail -20 "$DIR/log/server.err.log" >&2; die "clickhouse-server did not answer on $TCP_PORT"; }
  log "ClickHouse $(cli -q 'SELECT version()') up on 127.0.0.1:$TCP_PORT (http $HTTP_PORT) in $(elapsed "$t0") s"
}

stop() { stop_pid "$PIDFILE" 60; log "stopped"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) pid_alive "$PIDFILE" && cli -q "SELECT concat('running ', version(), ' tcp ', toString($TCP_PORT))" ;;
  clean) stop; rm -rf "$DIR"; log "removed $DIR" ;;
  env) cat <<ENV
CH_HOST=127.0.0.1
CH_TCP_PORT=$TCP_PORT
CH_HTTP_PORT=$HTTP_PORT
CH_USER=$CH_USER
CH_PASSWORD=$CH_PASSWORD
CH_ADDR=127.0.0.1:$TCP_PORT
ENV
  ;;
  *) usage_common; exit 2 ;;
esac
