#!/usr/bin/env bash
# Apache Kafka broker for integration tests: one KRaft node (broker+controller)
# on loopback, built from the org.apache.kafka:kafka_2.13 jars on Maven Central
# (the binary tarball is not reachable from CI).
#
#   bash .ci/kafka.sh [start]   download if needed, format, start, wait until it answers
#   bash .ci/kafka.sh stop      stop the broker this script started (data kept)
#   bash .ci/kafka.sh status    exit 0 if the broker answers metadata requests
#   bash .ci/kafka.sh reset     stop and delete its data (next start is a fresh cluster)
#
# Environment:
#   KAFKA_PORT             PLAINTEXT listener, 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener, 127.0.0.1 (default 9093)
#   KAFKA_VERSION          kafka_2.13 version (default 4.1.2; 4.0.0 rejects
#                          kafka-go's JoinGroup v1, so keep >= 4.0.1)
#   KAFKA_HEAP             JVM heap options (default "-Xms256m -Xmx1g")
#   KAFKA_START_TIMEOUT    seconds to wait for the broker (default 120)
#   WASPADA_SCRATCH, WASPADA_CACHE   see .ci/lib.sh
#
# Idempotent: start on a running, answering broker does nothing; stop on a
# stopped one does nothing.
set -euo pipefail
ci_name=kafka
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_VERSION=${KAFKA_VERSION:-4.1.2}
KAFKA_HEAP=${KAFKA_HEAP:-"-Xms256m -Xmx1g"}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-120}

dir=$WASPADA_SCRATCH/kafka
libs=$WASPADA_CACHE/kafka-$KAFKA_VERSION/libs
props=$dir/server.properties
pidfile=$dir/kafka.pid
logfile=$dir/broker.log
datadir=$dir/data
bootstrap=127.0.0.1:$KAFKA_PORT

answers() {
    # A closed port fails at once here; kcat alone would retry for its -m.
    (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null || return 1
    # -L asks for cluster metadata; -m bounds librdkafka's own wait.
    timeout 15 kcat -b "$bootstrap" -L -m 5 >/dev/null 2>&1
}

fetch_libs() {
    [ -f "$libs/.complete" ] && return 0
    command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null 2>&1 || apt_install maven
    say "fetching kafka_2.13 $KAFKA_VERSION and runtime dependencies from Maven Central"
    local t0=$SECONDS
    rm -rf "$libs"
    mkdir -p "$libs"
    # A repository of our own under the cache keeps the download in one place
    # a developer can delete, and does not depend on ~/.m2's state.
    # Output to a file: maven 3.8 -q still prints stray colour codes.
    mvn -B -q -Dstyle.color=never -f "$here/kafka/pom.xml" \
        -Dmaven.repo.local="$WASPADA_CACHE/m2" \
        -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" \
        >"$WASPADA_CACHE/kafka-$KAFKA_VERSION/mvn.log" 2>&1 \
        || { tail -n 40 "$WASPADA_CACHE/kafka-$KAFKA_VERSION/mvn.log" >&2; die "maven could not fetch kafka_2.13 $KAFKA_VERSION"; }
    say "fetched $(ls "$libs" | wc -l) jars in $((SECONDS - t0))s"
    ls "$libs"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-$KAFKA_VERSION.jar missing after download"
    touch "$libs/.complete"
}

write_config() {
    mkdir -p "$dir" "$datadir"
    # Rewritten on every start so that a changed port or version takes effect;
    # the data dir (and so the cluster id) is kept until `reset`.
    cat > "$props" <<PROPS
# Written by .ci/kafka.sh; edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$datadir
metadata.log.dir=$datadir

# Tests create topics by producing to them.
auto.create.topics.enable=true
num.partitions=3
default.replication.factor=1
min.insync.replicas=1

# Single node: every internal topic has one replica. Fewer offsets partitions
# than the default 50 make the first consumer group come up faster.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# No 3 s wait before the first rebalance: tests with consumer groups start at once.
group.initial.rebalance.delay.ms=0

# Small machine: keep the cleaner's buffer and thread counts modest.
log.cleaner.dedupe.buffer.size=33554432
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
PROPS
    cat > "$dir/log4j2.properties" <<'L4J'
# Written by .ci/kafka.sh. Everything goes to stdout, which kafka.sh sends to broker.log.
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.clients.name = org.apache.kafka
logger.clients.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
L4J
}

java_cmd() {
    # Prints nothing, sets jcmd: an array, so the broker can be exec'd
    # through setsid (which cannot run a shell function).
    # shellcheck disable=SC2206 # KAFKA_HEAP is a list of options
    jcmd=(java ${jvm_opts:-$KAFKA_HEAP -XX:+UseG1GC} -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$dir/log4j2.properties"
        -cp "$libs/*" "$@")
}

format_storage() {
    [ -f "$datadir/meta.properties" ] && return 0
    local id
    # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding
    # (what `kafka-storage.sh random-uuid` prints); one that starts with '-'
    # would read as an option, so draw again.
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        case $id in -*) ;; *) break ;; esac
    done
    say "formatting storage (cluster id $id)"
    # Static controller.quorum.voters: format needs neither --standalone nor
    # --initial-controllers (those are for the dynamic-quorum form).
    # A one-shot tool: C1 only and a small serial heap start it ~25% faster.
    jvm_opts="-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC" java_cmd kafka.tools.StorageTool format -t "$id" -c "$props"
    "${jcmd[@]}" >"$dir/format.log" 2>&1 \
        || { tail -n 30 "$dir/format.log" >&2; die "storage format failed"; }
}

show_log() {
    # The cause is usually an ERROR well above the shutdown chatter at the end.
    if grep -qE ' (ERROR|FATAL) ' "$logfile" 2>/dev/null; then
        say "errors in $logfile:"
        grep -E ' (ERROR|FATAL) ' "$logfile" | tail -n 10 | cut -c1-400 >&2
    fi
    say "last lines of $logfile:"
    tail -n 25 "$logfile" >&2 || true
}

start() {
    with_lock "$dir.lock"
    if pid=$(pid_of "$pidfile" "$props"); then
        if answers; then
            say "already running (pid $pid) on $bootstrap"
            return 0
        fi
        say "pid $pid is alive but does not answer yet; waiting for it"
    else
        if answers; then
            say "a broker not started by this script already answers on $bootstrap; using it"
            return 0
        fi
        command -v kcat >/dev/null 2>&1 || apt_install kcat
        fetch_libs
        write_config
        format_storage
        say "starting kafka $KAFKA_VERSION on $bootstrap (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT), log $logfile"
        : >"$logfile"
        # setsid: its own process group, so a Ctrl-C in the caller's terminal
        # does not take it down halfway; 9>&- so it does not keep our lock.
        java_cmd kafka.Kafka "$props"
        (cd "$dir" && exec setsid "${jcmd[@]}" </dev/null >>"$logfile" 2>&1 9>&-) &
        echo $! >"$pidfile"
        pid=$!
    fi
    local t0=$SECONDS
    while ((SECONDS - t0 < KAFKA_START_TIMEOUT)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log
            rm -f "$pidfile"
            die "broker exited during start-up (log above, full log $logfile)"
        fi
        if answers; then
            say "ready on $bootstrap after $((SECONDS - t0))s"
            return 0
        fi
        sleep 1
    done
    show_log
    die "broker did not answer on $bootstrap within ${KAFKA_START_TIMEOUT}s (log above, full log $logfile)"
}

case ${1:-start} in
start) start ;;
stop) with_lock "$dir.lock"; stop_pid "$pidfile" "$props" 60 ;;
status) if command -v kcat >/dev/null 2>&1 && answers; then say "answers on $bootstrap"; else say "not answering on $bootstrap"; exit 1; fi ;;
reset)
    with_lock "$dir.lock"
    stop_pid "$pidfile" "$props" 60
    rm -rf "$datadir" "$logfile"
    say "data removed"
    ;;
*) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac
