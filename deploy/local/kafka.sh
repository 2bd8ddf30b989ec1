#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, combined broker+controller)
# for Gendan development and tests. No Docker: jars come from Maven Central.
#
# Usage: deploy/local/kafka.sh {start|stop|restart|status|logs [-f]}
#
# Env:
#   KAFKA_PORT             client port                       (default 9092, else a free one)
#   KAFKA_CONTROLLER_PORT  KRaft controller port             (default KAFKA_PORT + 1)
#   KAFKA_SASL             1: clients authenticate with SASL/SCRAM-SHA-512 and ACLs
#                          apply (deny by default); 0: PLAINTEXT   (default 1, for a new broker)
#   KAFKA_HEAP_OPTS        JVM heap options                  (default "-Xms256m -Xmx768m")
#   KAFKA_START_TIMEOUT    seconds to wait for readiness     (default 60)
#
# State lives in <repo>/.local/kafka/ (libs/, data/, server.properties,
# kafka.pid, kafka.log, admin.password, client.env). Delete that folder to start from scratch.
# client.env holds what a client needs (KAFKA_BOOTSTRAP_SERVERS, and with SASL the admin's
# KAFKA_USERNAME / KAFKA_PASSWORD / KAFKA_SASL_MECHANISM); up.sh prints it.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/_common.sh"
LOG_TAG="kafka"

KAFKA_HOST="127.0.0.1"
KAFKA_PORT_ASKED="${KAFKA_PORT:-}"                    # a port asked for is never swapped for another
KAFKA_PORT="${KAFKA_PORT:-9092}"
require_port "$KAFKA_PORT" KAFKA_PORT
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((10#$KAFKA_PORT + 1))}"
KAFKA_SASL="${KAFKA_SASL:-1}"
KAFKA_MECHANISM="SCRAM-SHA-512"
KAFKA_ADMIN="admin"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT=30

KAFKA_CONF_DIR="${LOCAL_SCRIPTS_DIR}/kafka"          # committed pom.xml + log4j2.yaml
KAFKA_POM="${KAFKA_CONF_DIR}/pom.xml"
KAFKA_LOG4J="${KAFKA_CONF_DIR}/log4j2.yaml"
KAFKA_HOME="${LOCAL_STATE_DIR}/kafka"                # generated, git-ignored
KAFKA_LIBS="${KAFKA_HOME}/libs"
KAFKA_DATA="${KAFKA_HOME}/data"
KAFKA_PROPS="${KAFKA_HOME}/server.properties"
KAFKA_PIDFILE="${KAFKA_HOME}/kafka.pid"
KAFKA_LOG="${KAFKA_HOME}/kafka.log"
KAFKA_LOCK="${KAFKA_HOME}/.lock"
KAFKA_ADMIN_PASSWORD_FILE="${KAFKA_HOME}/admin.password"   # exists iff the storage was formatted with SASL
KAFKA_CLIENT_ENV="${KAFKA_HOME}/client.env"
STARTED_MARKER="Kafka Server started"

require_port "$KAFKA_PORT" KAFKA_PORT
require_port "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER_PORT
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] \
    || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ (both are ${KAFKA_PORT})"

# ---------------------------------------------------------------- helpers ---

require_java() {
    command -v java >/dev/null 2>&1 \
        || die "java not found on PATH. Kafka 4.x needs Java 17+ (Debian: apt-get install -y openjdk-17-jre-headless)."
    local version major
    version="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
    major="${version%%.*}"
    [[ "$major" == "1" ]] && major="$(cut -d. -f2 <<<"$version")"
    if [[ "$major" =~ ^[0-9]+$ ]] && (( major < 17 )); then
        die "java ${version} found, but Kafka 4.x needs Java 17 or newer."
    fi
}

require_mvn() {
    command -v mvn >/dev/null 2>&1 \
        || die "mvn (Apache Maven) not found on PATH; it is needed once to download the Kafka jars (Debian: apt-get install -y maven)."
}

# The pid of our broker, or nothing. A pid only counts if the process is a
# Kafka broker started with our server.properties (guards against pid reuse).
kafka_pid() {
    [[ -f "$KAFKA_PIDFILE" ]] || return 0
    local pid cmdline
    pid="$(tr -dc '0-9' <"$KAFKA_PIDFILE")"
    pid_alive "$pid" || return 0
    cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null || true)"
    if [[ "$cmdline" == *"kafka.Kafka ${KAFKA_PROPS}"* ]]; then
        echo "$pid"
    fi
}

# Client port of the broker started with server.properties FILE (default ours).
running_port() {
    sed -n 's|^listeners=[A-Z_]*://[^,]*:\([0-9]*\),.*|\1|p' "${1:-$KAFKA_PROPS}" 2>/dev/null | head -n1
}

# The server.properties of a broker started by this script (from any clone) that serves
# PORT, or nothing: such a broker can be shared, its credentials are next to it.
clone_broker_props() {
    local cmdline props
    for cmdline in $(grep -l -a -F 'kafka.Kafka' /proc/[0-9]*/cmdline 2>/dev/null); do
        props="$(tr '\0' ' ' <"$cmdline" 2>/dev/null | sed -n 's|.* kafka\.Kafka \(/[^ ]*/server\.properties\) *$|\1|p')"
        [[ -n "$props" && -r "$props" ]] || continue
        [[ "$(running_port "$props")" == "$1" ]] && { echo "$props"; return 0; }
    done
    return 0
}

# write_client_env PROPS: what a client of the broker started with PROPS needs, into client.env.
write_client_env() {
    local props="$1" dir port
    dir="$(dirname "$props")"
    port="$(running_port "$props")"
    {
        echo "KAFKA_BOOTSTRAP_SERVERS=${KAFKA_HOST}:${port}"
        if grep -q '^listeners=SASL_PLAINTEXT://' "$props"; then
            [[ -r "${dir}/admin.password" ]] || return 1
            echo "KAFKA_SASL_MECHANISM=${KAFKA_MECHANISM}"
            echo "KAFKA_USERNAME=${KAFKA_ADMIN}"
            echo "KAFKA_PASSWORD=$(cat "${dir}/admin.password")"
        fi
    } >"${KAFKA_CLIENT_ENV}.tmp"
    chmod 600 "${KAFKA_CLIENT_ENV}.tmp"
    mv "${KAFKA_CLIENT_ENV}.tmp" "$KAFKA_CLIENT_ENV"
}

# The first pair of free ports (client, client + 1) from 9192 on, for when the default ones are taken.
free_port_pair() {
    local p
    for ((p = 9192; p < 9992; p += 10)); do
        if ! port_open "$KAFKA_HOST" "$p" && ! port_open "$KAFKA_HOST" "$((p + 1))"; then
            echo "$p"; return 0
        fi
    done
    die "no free pair of ports for Kafka between 9192 and 9992; set KAFKA_PORT."
}

sasl_storage() {  # the storage is (or, new, will be) formatted with the admin's SCRAM credentials
    if [[ -f "${KAFKA_DATA}/meta.properties" ]]; then
        [[ -s "$KAFKA_ADMIN_PASSWORD_FILE" ]]
    else
        [[ "$KAFKA_SASL" == "1" ]]
    fi
}

# Download the broker jars with Maven into .local/kafka/libs, once. The jar
# set is re-resolved when pom.xml changes (its checksum is stored alongside).
resolve_libs() {
    local want have=""
    want="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
    [[ -f "${KAFKA_LIBS}/.pom.sha256" ]] && have="$(cat "${KAFKA_LIBS}/.pom.sha256")"
    if [[ "$want" == "$have" ]] && compgen -G "${KAFKA_LIBS}/kafka_2.13-*.jar" >/dev/null; then
        return 0
    fi
    require_mvn
    info "Resolving Kafka jars with Maven (${KAFKA_POM#"${REPO_ROOT}/"}) -> ${KAFKA_LIBS#"${REPO_ROOT}/"}; the first run downloads ~45 MB ..."
    local tmp="${KAFKA_HOME}/libs.tmp" mvnlog="${KAFKA_HOME}/mvn.log"
    rm -rf "$tmp"
    # Output goes to a file (Debian's Maven 3.8 emits stray ANSI codes even
    # with -q -B); it is shown only when something goes wrong.
    if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvnlog" 2>&1; then
        sed 's/\x1b\[[0-9;]*m//g' "$mvnlog" | tail -n 40 >&2
        rm -rf "$tmp"
        die "Maven could not resolve the Kafka jars (is Maven Central reachable? full output: ${mvnlog})."
    fi
    compgen -G "${tmp}/kafka_2.13-*.jar" >/dev/null \
        || die "Maven finished but no kafka_2.13 jar landed in ${tmp}"
    echo "$want" >"${tmp}/.pom.sha256"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    info "Kafka jars ready ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)."
}

write_properties() {
    local listener=PLAINTEXT
    sasl_storage && listener=SASL_PLAINTEXT
    cat >"${KAFKA_PROPS}.tmp" <<PROPS
# Generated by deploy/local/kafka.sh - edits are overwritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
listeners=${listener}://${KAFKA_HOST}:${KAFKA_PORT},CONTROLLER://${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}
advertised.listeners=${listener}://${KAFKA_HOST}:${KAFKA_PORT}
controller.listener.names=CONTROLLER
listener.security.protocol.map=${listener}:${listener},CONTROLLER:PLAINTEXT
inter.broker.listener.name=${listener}
log.dirs=${KAFKA_DATA}
num.partitions=6
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
    if [[ "$listener" == SASL_PLAINTEXT ]]; then
        # Clients authenticate with SCRAM (credentials live in the KRaft metadata; the admin's was
        # added when the storage was formatted, deploy/acls.py adds the others) and may do only
        # what an ACL allows. The controller listener stays PLAINTEXT on loopback: the broker
        # reaches its own controller there as ANONYMOUS, which must therefore be a super user.
        cat >>"${KAFKA_PROPS}.tmp" <<PROPS
sasl.enabled.mechanisms=${KAFKA_MECHANISM}
sasl.mechanism.inter.broker.protocol=${KAFKA_MECHANISM}
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${KAFKA_ADMIN}" password="$(cat "$KAFKA_ADMIN_PASSWORD_FILE")";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:${KAFKA_ADMIN};User:ANONYMOUS
allow.everyone.if.no.acl.found=false
PROPS
    fi
    chmod 600 "${KAFKA_PROPS}.tmp"
    mv "${KAFKA_PROPS}.tmp" "$KAFKA_PROPS"
}

kafka_java() {  # run a Kafka tool class with the resolved classpath
    java -cp "${KAFKA_LIBS}/*" -Dlog4j2.configurationFile="$KAFKA_LOG4J" "$@"
}

format_storage() {
    if [[ -f "${KAFKA_DATA}/meta.properties" ]]; then
        return 0
    fi
    mkdir -p "$KAFKA_DATA"
    local cluster_id
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid | tail -n1 | tr -d '[:space:]')"
    [[ -n "$cluster_id" ]] || die "kafka.tools.StorageTool random-uuid returned nothing"
    local -a scram=()
    if [[ -s "$KAFKA_ADMIN_PASSWORD_FILE" ]]; then
        scram=(--add-scram "${KAFKA_MECHANISM}=[name=${KAFKA_ADMIN},password=$(cat "$KAFKA_ADMIN_PASSWORD_FILE")]")
    fi
    info "Formatting KRaft storage in ${KAFKA_DATA#"${REPO_ROOT}/"} (cluster id ${cluster_id}${scram:+, SASL/SCRAM with ACLs}) ..."
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_PROPS" "${scram[@]}" >/dev/null \
        || die "kafka.tools.StorageTool format failed"
    echo "$cluster_id" >"${KAFKA_HOME}/cluster.id"
}

print_log_tail() { log_tail "$KAFKA_LOG" 40; }

# A new storage with KAFKA_SASL=1 gets a random admin password; an old one keeps its mode.
choose_security() {
    if [[ -f "${KAFKA_DATA}/meta.properties" ]]; then
        if [[ "$KAFKA_SASL" == "1" && ! -s "$KAFKA_ADMIN_PASSWORD_FILE" ]]; then
            warn "${KAFKA_DATA#"${REPO_ROOT}/"} was formatted without SASL: starting it PLAINTEXT. To switch: $0 stop && rm -rf ${KAFKA_DATA} && $0 start"
        fi
        return 0
    fi
    rm -f "$KAFKA_ADMIN_PASSWORD_FILE"
    if [[ "$KAFKA_SASL" == "1" ]]; then
        (umask 077 && head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$KAFKA_ADMIN_PASSWORD_FILE")
    fi
}

# Another broker started by this script (from another clone) serves our ports: use it, with the
# credentials next to its server.properties. Anything else there: take other ports, unless asked for these.
share_or_move() {
    local props
    props="$(clone_broker_props "$KAFKA_PORT")"
    if [[ -n "$props" ]] && write_client_env "$props"; then
        info "reusing the Kafka already serving ${KAFKA_HOST}:${KAFKA_PORT} (started from ${props%/.local/kafka/server.properties}; '$0 stop' leaves it running)."
        return 0
    fi
    if [[ -n "$KAFKA_PORT_ASKED" ]]; then
        die "port ${KAFKA_HOST}:${KAFKA_PORT} or ${KAFKA_CONTROLLER_PORT} is in use by a process that is not a broker we can use. Free it or set another KAFKA_PORT."
    fi
    KAFKA_PORT="$(free_port_pair)"
    KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
    warn "the default Kafka ports are taken by something we cannot use; this clone's broker takes ${KAFKA_PORT}/${KAFKA_CONTROLLER_PORT}."
    return 1
}

# ---------------------------------------------------------------- commands ---

cmd_start() {
    take_lock "$KAFKA_LOCK"

    local pid
    pid="$(kafka_pid)"
    if [[ -n "$pid" ]]; then
        local rport
        rport="$(running_port)"
        if [[ -n "$KAFKA_PORT_ASKED" && -n "$rport" && "$rport" != "$KAFKA_PORT" ]]; then
            die "our Kafka is already running (pid ${pid}) on port ${rport}, but KAFKA_PORT=${KAFKA_PORT} was requested. Run '$0 stop' first to change ports."
        fi
        KAFKA_PORT="${rport:-$KAFKA_PORT}"
        write_client_env "$KAFKA_PROPS" || die "cannot read ${KAFKA_ADMIN_PASSWORD_FILE}"
        if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
            info "Kafka is already running (pid ${pid}) on ${KAFKA_HOST}:${KAFKA_PORT}."
            return 0
        fi
        info "Kafka process ${pid} exists but port ${KAFKA_PORT} is not open yet; waiting for it ..."
    else
        rm -f "$KAFKA_PIDFILE"
        if port_open "$KAFKA_HOST" "$KAFKA_PORT" || port_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT"; then
            share_or_move && return 0
        fi
        require_java
        [[ -f "$KAFKA_LOG4J" ]] || die "missing ${KAFKA_LOG4J}"
        resolve_libs
        choose_security
        write_properties
        format_storage
        write_client_env "$KAFKA_PROPS"

        # Keep the previous run's log for post-mortems; start a fresh one so the
        # readiness check cannot match an old "started" line.
        [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "${KAFKA_LOG}.prev"
        info "Starting Kafka 4 (KRaft) on ${KAFKA_HOST}:${KAFKA_PORT} (controller ${KAFKA_CONTROLLER_PORT}) ..."
        # setsid + nohup: detach from this terminal/session; the inner shell
        # writes its own pid and then execs java, so the pid file is java's.
        # fd 9 (the lock) is closed for the broker so it does not hold it.
        # shellcheck disable=SC2086,SC2016  # word-split heap opts; $$ is the inner shell's
        setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PIDFILE" \
            java ${KAFKA_HEAP_OPTS} -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
            -cp "${KAFKA_LIBS}/*" kafka.Kafka "$KAFKA_PROPS" \
            </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
        local _
        for _ in 1 2 3 4 5 6 7 8 9 10; do   # wait for the pid file (a few ms)
            pid="$(kafka_pid)"; [[ -n "$pid" ]] && break; sleep 0.2
        done
        [[ -n "$pid" ]] || { print_log_tail; die "Kafka process did not start"; }
    fi

    local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    while (( SECONDS < deadline )); do
        if ! pid_alive "$pid"; then
            print_log_tail
            rm -f "$KAFKA_PIDFILE"
            die "Kafka exited during startup (log: ${KAFKA_LOG})"
        fi
        if port_open "$KAFKA_HOST" "$KAFKA_PORT" && grep -qF "$STARTED_MARKER" "$KAFKA_LOG" 2>/dev/null; then
            info "Kafka is up (pid ${pid}) on ${KAFKA_HOST}:${KAFKA_PORT}."
            return 0
        fi
        sleep 0.5
    done
    print_log_tail
    die "Kafka did not become ready within ${KAFKA_START_TIMEOUT}s (pid ${pid} still running; log: ${KAFKA_LOG}). Try: $0 stop"
}

cmd_stop() {
    take_lock "$KAFKA_LOCK"

    local pid
    pid="$(kafka_pid)"
    if [[ -z "$pid" ]]; then
        rm -f "$KAFKA_PIDFILE"
        info "Kafka is not running."
        return 0
    fi
    info "Stopping Kafka (pid ${pid}) ..."
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
    while pid_alive "$pid" && (( SECONDS < deadline )); do
        sleep 0.5
    done
    if pid_alive "$pid"; then
        warn "Kafka did not stop within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL."
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
        if pid_alive "$pid"; then die "could not kill Kafka pid ${pid}"; fi
    fi
    rm -f "$KAFKA_PIDFILE"
    info "Kafka stopped."
}

cmd_status() {
    local pid
    pid="$(kafka_pid)"
    if [[ -n "$pid" ]]; then    # report what the running broker uses, not the env
        KAFKA_PORT="$(running_port)"
        KAFKA_CONTROLLER_PORT="$(sed -n 's|^controller.quorum.voters=1@.*:\([0-9]*\)$|\1|p' "$KAFKA_PROPS" | head -n1)"
    fi
    if [[ -n "$pid" ]] && port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
        info "running: pid ${pid}, bootstrap ${KAFKA_HOST}:${KAFKA_PORT}, controller ${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}, data ${KAFKA_DATA#"${REPO_ROOT}/"}"
        return 0
    elif [[ -n "$pid" ]]; then
        info "starting or unhealthy: pid ${pid} alive but ${KAFKA_HOST}:${KAFKA_PORT} not accepting connections"
        return 1
    fi
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
        info "not running (but ${KAFKA_HOST}:${KAFKA_PORT} is used by some other process)"
    else
        info "not running"
    fi
    return 3
}

cmd_logs() { show_log "$KAFKA_LOG" "$@"; }

dispatch "$@"
