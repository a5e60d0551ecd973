#!/usr/bin/env bash
# ClickHouse server for integration tests: Debian's clickhouse-server (18.16),
# our own process with our own config, data and logs under the scratch dir.
# The packaged service (/etc/clickhouse-server, /var/lib/clickhouse) is not
# used or touched.
#
#   bash .ci/clickhouse.sh [start]   install if needed, start, wait until it answers
#   bash .ci/clickhouse.sh stop      stop the server this script started (data kept)
#   bash .ci/clickhouse.sh status    exit 0 if the server answers SELECT version()
#   bash .ci/clickhouse.sh reset     stop and delete its data
#
# Environment:
#   CLICKHOUSE_PORT           native protocol, 127.0.0.1 (default 9000)
#   CLICKHOUSE_HTTP_PORT      HTTP interface, 127.0.0.1 (default 8123)
#   CLICKHOUSE_START_TIMEOUT  seconds to wait for the server (default 60)
#   WASPADA_SCRATCH, WASPADA_CACHE   see .ci/lib.sh
#
# User `default`, no password, allowed from 127.0.0.1 and ::1 only.
#
# Root: 18.16 runs as whoever starts it and has no objection to root (newer
# releases refuse to run as root over a data dir owned by another user; here
# the data dir is created by the same user that runs the server, so that
# would not bite either). No `clickhouse` user or sudo -u is needed.
set -euo pipefail
ci_name=clickhouse
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

CLICKHOUSE_PORT=${CLICKHOUSE_PORT:-9000}
CLICKHOUSE_HTTP_PORT=${CLICKHOUSE_HTTP_PORT:-8123}
CLICKHOUSE_START_TIMEOUT=${CLICKHOUSE_START_TIMEOUT:-60}

dir=$WASPADA_SCRATCH/clickhouse
config=$dir/config.xml
pidfile=$dir/clickhouse.pid
logdir=$dir/log

answers() {
    timeout 10 clickhouse-client --host 127.0.0.1 --port "$CLICKHOUSE_PORT" --query 'SELECT version()' >/dev/null 2>&1
}

server_bin() {
    # Debian ships /usr/sbin/clickhouse-server; upstream packages ship the
    # multi-call `clickhouse` binary (`clickhouse server`).
    if command -v clickhouse-server >/dev/null 2>&1; then
        server=(clickhouse-server)
    elif [ -x /usr/sbin/clickhouse-server ]; then
        server=(/usr/sbin/clickhouse-server)
    elif command -v clickhouse >/dev/null 2>&1; then
        server=(clickhouse server)
    else
        die "no clickhouse-server binary after install"
    fi
}

write_config() {
    mkdir -p "$dir"/{data,tmp,user_files,format_schemas} "$logdir"
    # Rewritten on every start so that changed ports take effect. The root
    # element is <yandex> for 18.16; later releases accept it as well.
    cat > "$config" <<XML
<?xml version="1.0"?>
<!-- Written by .ci/clickhouse.sh; edits are overwritten on the next start. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$logdir/server.log</log>
        <errorlog>$logdir/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$CLICKHOUSE_PORT</tcp_port>
    <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <!-- The packaged config asks for 8 GiB and 5 GiB caches; a test server
         on a 2-core machine shared with a broker needs far less. -->
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
</yandex>
XML
    cat > "$dir/users.xml" <<'XML'
<?xml version="1.0"?>
<!-- Written by .ci/clickhouse.sh. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
XML
}

start() {
    with_lock "$dir.lock"
    local pid
    if pid=$(pid_of "$pidfile" "$config"); then
        if answers; then
            say "already running (pid $pid) on 127.0.0.1:$CLICKHOUSE_PORT"
            return 0
        fi
        say "pid $pid is alive but does not answer yet; waiting for it"
    else
        command -v clickhouse-client >/dev/null 2>&1 || apt_install clickhouse-client
        if answers; then
            say "a server not started by this script already answers on 127.0.0.1:$CLICKHOUSE_PORT; using it"
            return 0
        fi
        command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || apt_install clickhouse-server
        server_bin
        write_config
        say "starting ${server[*]} on 127.0.0.1:$CLICKHOUSE_PORT (http $CLICKHOUSE_HTTP_PORT), logs $logdir"
        # setsid: own process group (a Ctrl-C in the caller's terminal does not
        # reach it); 9>&- so it does not keep our lock. Not --daemon: we keep
        # the pid ourselves and the server's stdout/stderr go to a file.
        (cd "$dir" && exec setsid "${server[@]}" --config-file="$config" </dev/null >>"$logdir/stdout.log" 2>&1 9>&-) &
        pid=$!
        echo "$pid" >"$pidfile"
    fi
    local t0=$SECONDS
    while ((SECONDS - t0 < CLICKHOUSE_START_TIMEOUT)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$logdir/server.err.log" "$logdir/stdout.log" >&2 2>/dev/null || true
            rm -f "$pidfile"
            die "server exited during start-up (logs above, full logs in $logdir)"
        fi
        if answers; then
            say "ready on 127.0.0.1:$CLICKHOUSE_PORT after $((SECONDS - t0))s: $(clickhouse-client --host 127.0.0.1 --port "$CLICKHOUSE_PORT" --query 'SELECT version()')"
            return 0
        fi
        sleep 0.5
    done
    tail -n 30 "$logdir/server.err.log" "$logdir/stdout.log" >&2 2>/dev/null || true
    die "server did not answer on 127.0.0.1:$CLICKHOUSE_PORT within ${CLICKHOUSE_START_TIMEOUT}s (full logs in $logdir)"
}

case ${1:-start} in
start) start ;;
stop) with_lock "$dir.lock"; stop_pid "$pidfile" "$config" 30 ;;
status) if command -v clickhouse-client >/dev/null 2>&1 && answers; then say "answers on 127.0.0.1:$CLICKHOUSE_PORT"; else say "not answering on 127.0.0.1:$CLICKHOUSE_PORT"; exit 1; fi ;;
reset)
    with_lock "$dir.lock"
    stop_pid "$pidfile" "$config" 30
    rm -rf "$dir/data" "$dir/tmp" "$logdir"
    say "data removed"
    ;;
*) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac
