#!/usr/bin/env bash
# Local PostgreSQL 15 server for Gendan development and tests, run from the
# system binaries (no Docker). One server hosts the four service databases:
# gendan_order, gendan_production, gendan_logistics, gendan_billing.
#
# Usage: deploy/local/postgres.sh {start|stop|restart|status|logs [-f]}
#
# Env:
#   PGPORT_LOCAL   TCP port on 127.0.0.1                     (default 5432, else a free one)
#   PG_BIN         directory with initdb/pg_ctl/psql          (default /usr/lib/postgresql/15/bin)
#
# Auth: trust for user "postgres", and the server only listens on 127.0.0.1.
# State lives in <repo>/.local/postgres/ (data/, run/, postgres.log); as root, when the
# 'postgres' account cannot reach the repository (a mktemp -d folder, root's home), in that
# account's home under gendan/<hash of the repository path>, with .local/postgres a link to it.
# Delete that folder (after `stop`) to start from scratch. .local/postgres.env holds the
# DATABASE_URL of the server in use (ours or a shared one); up.sh prints it.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/_common.sh"
LOG_TAG="postgres"

PG_MAJOR=15
PG_BIN="${PG_BIN:-/usr/lib/postgresql/${PG_MAJOR}/bin}"
PG_HOST="127.0.0.1"
PG_PORT_ASKED="${PGPORT_LOCAL:-}"   # a port asked for is never swapped for another
PG_PORT="${PGPORT_LOCAL:-5432}"
PG_SUPERUSER="postgres"
PG_DATABASES=(gendan_order gendan_production gendan_logistics gendan_billing)

PG_CLIENT_ENV="${LOCAL_STATE_DIR}/postgres.env"

# pg_reachable DIR: the 'postgres' account can enter DIR and every folder above it.
pg_reachable() {
    (cd / && runuser -u postgres -- test -x "$1") 2>/dev/null
}

# Where the cluster lives: .local/postgres, unless root runs us in a repository the server
# account cannot reach; then a folder of that account's own, one per repository path.
pg_home() {
    if [[ "$EUID" -ne 0 ]] || ! id postgres >/dev/null 2>&1 || pg_reachable "$REPO_ROOT"; then
        echo "${LOCAL_STATE_DIR}/postgres"
        return 0
    fi
    local base
    base="$(getent passwd postgres | cut -d: -f6)"
    [[ -n "$base" && -d "$base" ]] && pg_reachable "$base" || base=/var/tmp
    echo "${base%/}/gendan/$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)"
}

PG_HOME="$(pg_home)"
PG_DATA="${PG_HOME}/data"
PG_RUN="${PG_HOME}/run"          # unix socket + lock file directory
PG_LOG="${PG_HOME}/postgres.log"
PG_LOCK="${LOCAL_STATE_DIR}/.postgres.lock"

require_port "$PG_PORT" PGPORT_LOCAL

# Only what a client needs: never let the caller's PG* env redirect our psql.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGSSLMODE || true

# ---------------------------------------------------------------- helpers ---

ensure_binaries() {
    [[ -x "${PG_BIN}/pg_ctl" && -x "${PG_BIN}/initdb" ]] && return 0
    if [[ "$EUID" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        info "PostgreSQL binaries not found in ${PG_BIN}; installing the Debian package 'postgresql' ..."
        DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql \
            || { DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } \
            || die "apt-get install -y postgresql failed"
        [[ -x "${PG_BIN}/pg_ctl" ]] \
            || die "package installed but ${PG_BIN}/pg_ctl is still missing (different major version?). Set PG_BIN to the bin/ directory of PostgreSQL ${PG_MAJOR}."
        warn "the Debian package may have created and started its own cluster on port 5432; stop it (pg_ctlcluster ${PG_MAJOR} main stop) or set PGPORT_LOCAL if the port clashes."
    else
        die "PostgreSQL ${PG_MAJOR} binaries not found in ${PG_BIN}. Install them (as root: apt-get install -y postgresql) or set PG_BIN to the directory containing pg_ctl and initdb."
    fi
}

# as_pg CMD... : run a server-side command as the account that owns the data.
# initdb/postgres refuse to run as root, so root delegates to the 'postgres'
# system user; anybody else runs the commands directly.
as_pg() {
    # 9>&- : do not leak the lock fd into the server process.
    if [[ "$EUID" -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@" 9>&-)
    else
        "$@" 9>&-
    fi
}

# Make the cluster's folder exist, be owned by the server account, and be reachable
# (every parent directory must be traversable by that account).
prepare_dirs() {
    mkdir -p "$PG_HOME"
    if [[ "$EUID" -eq 0 ]]; then
        id postgres >/dev/null 2>&1 \
            || die "system user 'postgres' does not exist (it comes with the Debian postgresql package)."
        pg_reachable "$PG_HOME" || die "user 'postgres' cannot enter ${PG_HOME}; make its parent folders traversable (chmod o+x)."
        if [[ "$PG_HOME" != "${LOCAL_STATE_DIR}/postgres" ]]; then
            mkdir -p "$LOCAL_STATE_DIR"
            rmdir "${LOCAL_STATE_DIR}/postgres" 2>/dev/null || true   # an empty one left by an older start
            [[ -L "${LOCAL_STATE_DIR}/postgres" || ! -e "${LOCAL_STATE_DIR}/postgres" ]] \
                && ln -sfn "$PG_HOME" "${LOCAL_STATE_DIR}/postgres"
            [[ -f "${PG_HOME}/repository" ]] || echo "$REPO_ROOT" >"${PG_HOME}/repository"
        fi
        mkdir -p "$PG_RUN"
        chown -R postgres:postgres "$PG_HOME"
    else
        mkdir -p "$PG_RUN"
    fi
    chmod 700 "$PG_HOME"
}

init_cluster() {
    if [[ -f "${PG_DATA}/PG_VERSION" ]]; then
        local v
        v="$(cat "${PG_DATA}/PG_VERSION")"
        [[ "$v" == "$PG_MAJOR" ]] \
            || die "${PG_DATA} holds a PostgreSQL ${v} cluster but the binaries are ${PG_MAJOR}. Remove .local/postgres to recreate it."
        return 0
    fi
    if [[ -d "$PG_DATA" ]] && [[ -n "$(ls -A "$PG_DATA" 2>/dev/null)" ]]; then
        die "${PG_DATA} exists, is not empty and is not a PostgreSQL cluster. Remove it and retry."
    fi
    # Pin the locale so initdb does not depend on the caller's LANG/LC_* (which
    # may name a locale that is not installed): C.UTF-8 when available, else C.
    local locale=C available
    available="$(locale -a 2>/dev/null || true)"
    if grep -qiE '^c\.utf-?8$' <<<"$available"; then locale=C.UTF-8; fi
    info "Initialising a new cluster in ${PG_DATA#"${REPO_ROOT}/"} (UTF8, locale ${locale}) ..."
    as_pg "${PG_BIN}/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" --auth=trust -E UTF8 \
        --locale="$locale" >"${PG_HOME}/initdb.log" 2>&1 \
        || { cat "${PG_HOME}/initdb.log" >&2; die "initdb failed"; }
}

server_running() {  # our cluster (not just anything on the port) is running
    [[ -f "${PG_DATA}/PG_VERSION" && -f "${PG_DATA}/postmaster.pid" ]] || return 1
    # A killed postmaster can linger as a zombie for a moment; it is not running.
    pid_alive "$(head -n1 "${PG_DATA}/postmaster.pid" 2>/dev/null)" || return 1
    as_pg "${PG_BIN}/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

running_port() {  # port of the running postmaster (line 4 of postmaster.pid)
    sed -n '4p' "${PG_DATA}/postmaster.pid" 2>/dev/null | tr -dc '0-9'
}

server_ready() {
    "${PG_BIN}/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -t 3
}

psql_admin() {
    "${PG_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres "$@"
}

create_databases() {
    local db exists created=()
    for db in "${PG_DATABASES[@]}"; do
        exists="$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '${db}'")"
        if [[ "$exists" != "1" ]]; then
            psql_admin -c "CREATE DATABASE \"${db}\"" >/dev/null
            created+=("$db")
        fi
    done
    if ((${#created[@]})); then
        info "Created databases: ${created[*]}"
    else
        info "Databases present: ${PG_DATABASES[*]}"
    fi
}

print_log_tail() { log_tail "$PG_LOG" 30; }

write_client_env() {  # the admin database's URL on the server in use
    mkdir -p "$LOCAL_STATE_DIR"
    echo "DATABASE_URL=postgresql+asyncpg://${PG_SUPERUSER}@${PG_HOST}:${PG_PORT}/postgres" >"$PG_CLIENT_ENV"
}

# A server on PG_PORT that lets us in as the superuser (another clone's, or a system one).
usable_server() {
    server_ready && as_pg "${PG_BIN}/psql" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres \
        -Atqc 'SELECT 1' >/dev/null 2>&1
}

free_port() {  # the first free port from 5442 on
    local p
    for ((p = 5442; p < 5542; p++)); do
        port_open "$PG_HOST" "$p" || { echo "$p"; return 0; }
    done
    die "no free port for PostgreSQL between 5442 and 5542; set PGPORT_LOCAL."
}

# ---------------------------------------------------------------- commands ---

cmd_start() {
    take_lock "$PG_LOCK"
    ensure_binaries
    prepare_dirs
    init_cluster

    if server_running; then
        local rport
        rport="$(running_port)"
        if [[ -n "$PG_PORT_ASKED" && -n "$rport" && "$rport" != "$PG_PORT" ]]; then
            die "our PostgreSQL is already running on port ${rport}, but PGPORT_LOCAL=${PG_PORT} was requested. Run '$0 stop' first to change ports."
        fi
        PG_PORT="${rport:-$PG_PORT}"
    fi
    if server_running && ! server_ready; then   # e.g. still starting or in crash recovery
        info "PostgreSQL is running but not ready yet; waiting up to 30s ..."
        local deadline=$((SECONDS + 30))
        while server_running && ! server_ready && (( SECONDS < deadline )); do sleep 0.5; done
    fi
    if server_running; then
        server_ready || die "our PostgreSQL is running but not accepting connections on ${PG_HOST}:${PG_PORT} (see $0 logs; try: $0 stop)"
        info "PostgreSQL is already running on ${PG_HOST}:${PG_PORT}."
    else
        if port_open "$PG_HOST" "$PG_PORT"; then
            # Another clone's server (or a system one) we can use as the superuser: share it.
            if usable_server; then
                info "reusing the PostgreSQL already serving ${PG_HOST}:${PG_PORT} (not ours: '$0 stop' leaves it running)."
                create_databases
                write_client_env
                return 0
            fi
            [[ -z "$PG_PORT_ASKED" ]] \
                || die "port ${PG_HOST}:${PG_PORT} is already in use by another process we cannot use as ${PG_SUPERUSER}. Stop it or set another PGPORT_LOCAL."
            PG_PORT="$(free_port)"
            warn "port 5432 is taken by a server we cannot use; this clone's PostgreSQL takes ${PG_PORT}."
        fi
        # After a crash (kill -9) the old postmaster can stay a zombie for a few
        # seconds; postgres refuses to start while its pid still "exists".
        local old_pid
        old_pid="$(head -n1 "${PG_DATA}/postmaster.pid" 2>/dev/null || true)"
        if [[ "$old_pid" =~ ^[0-9]+$ ]] && kill -0 "$old_pid" 2>/dev/null; then
            info "waiting for the previous postmaster (pid ${old_pid}) to be reaped ..."
            local deadline=$((SECONDS + 20))
            while kill -0 "$old_pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.5; done
        fi
        local sockopt="-k '${PG_RUN}'"
        if (( ${#PG_RUN} > 90 )); then   # unix socket paths are limited to ~107 bytes
            warn "socket directory path is too long for a unix socket; disabling unix sockets (TCP only)."
            sockopt="-c unix_socket_directories=''"
        fi
        info "Starting PostgreSQL ${PG_MAJOR} on ${PG_HOST}:${PG_PORT} ..."
        # fsync/synchronous_commit/full_page_writes are OFF: this is a throw-away
        # local dev/test server, speed matters more than crash safety. Never use
        # these settings for data you care about.
        if ! as_pg "${PG_BIN}/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -t 60 \
                -o "${sockopt} -c listen_addresses=${PG_HOST} -p ${PG_PORT} -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
                -w start >/dev/null; then
            print_log_tail
            die "pg_ctl start failed (log: ${PG_LOG})"
        fi
        local _
        for _ in $(seq 1 30); do server_ready && break; sleep 0.5; done
        server_ready || { print_log_tail; die "PostgreSQL started but pg_isready fails on ${PG_HOST}:${PG_PORT}"; }
        info "PostgreSQL is up on ${PG_HOST}:${PG_PORT}."
    fi
    create_databases
    write_client_env
}

cmd_stop() {
    take_lock "$PG_LOCK"
    if ! server_running; then
        info "PostgreSQL is not running."
        return 0
    fi
    [[ -x "${PG_BIN}/pg_ctl" ]] || die "pg_ctl not found in ${PG_BIN}"
    info "Stopping PostgreSQL ..."
    as_pg "${PG_BIN}/pg_ctl" -D "$PG_DATA" -m fast -t 60 -w stop >/dev/null \
        || die "pg_ctl stop failed (log: ${PG_LOG})"
    info "PostgreSQL stopped."
}

cmd_status() {
    if server_running; then
        PG_PORT="$(running_port)"    # report what the server uses, not the env
        PG_PORT="${PG_PORT:-${PGPORT_LOCAL:-5432}}"
        if server_ready; then
            info "running: ${PG_HOST}:${PG_PORT}, user ${PG_SUPERUSER} (trust), data ${PG_DATA#"${REPO_ROOT}/"}"
            return 0
        fi
        info "running but not accepting connections on ${PG_HOST}:${PG_PORT}"
        return 1
    fi
    if port_open "$PG_HOST" "$PG_PORT"; then
        info "not running (but ${PG_HOST}:${PG_PORT} is used by some other process)"
    else
        info "not running"
    fi
    return 3
}

cmd_logs() { show_log "$PG_LOG" "$@"; }

dispatch "$@"
