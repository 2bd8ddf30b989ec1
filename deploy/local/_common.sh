# shellcheck shell=bash
# Shared helpers for the deploy/local/*.sh scripts. Source it, do not run it.

# Repository root = two levels above this file (deploy/local/..).
LOCAL_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${LOCAL_SCRIPTS_DIR}/../.." && pwd)"
# shellcheck disable=SC2034  # used by the sourcing scripts
LOCAL_STATE_DIR="${REPO_ROOT}/.local"

_log_prefix() { printf '[%s %s]' "$(date +%H:%M:%S)" "${LOG_TAG:-local}"; }
info() { printf '%s %s\n' "$(_log_prefix)" "$*"; }
warn() { printf '%s WARNING: %s\n' "$(_log_prefix)" "$*" >&2; }
die()  { printf '%s ERROR: %s\n' "$(_log_prefix)" "$*" >&2; exit 1; }

# port_open HOST PORT -> 0 when something accepts TCP connections there.
port_open() {
    # shellcheck disable=SC2016  # $1/$2 expand in the inner shell
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

# require_port VALUE NAME -> dies unless VALUE is a valid TCP port number.
require_port() {
    if ! [[ "$1" =~ ^[0-9]{1,5}$ ]] || (( 10#$1 < 1 || 10#$1 > 65535 )); then
        die "$2 must be a TCP port number (1-65535), got '$1'"
    fi
}

# pid_alive PID -> 0 when the process exists (and is not a zombie).
pid_alive() {
    local pid="$1" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '/^State:/ {print $2}' "/proc/${pid}/status" 2>/dev/null || true)"
    [[ "$state" != "Z" ]]
}

# take_lock FILE: serialise start/stop of one service across concurrent
# invocations (e.g. two up.sh at once). Holds fd 9 until the script exits;
# long-running children must be started with 9>&- so they do not keep it.
take_lock() {
    if ! { mkdir -p "$(dirname "$1")" && : >>"$1"; } 2>/dev/null; then
        die "cannot create $1 (is $(dirname "$1") writable by $(id -un)?)"
    fi
    exec 9>"$1"
    flock -w 120 9 || die "another invocation is busy (lock $1); gave up after 120s"
}

# `log_tail FILE N`: the last N lines of a server's log on stderr, after a failed start.
log_tail() {
    [[ -f "$1" ]] || return 0
    echo "----- last $2 lines of $1 -----" >&2
    tail -n "$2" "$1" >&2 || true
    echo "-----" >&2
}

# The tail of kafka.sh and postgres.sh: `show_log FILE [-f]` and `dispatch "$@"` over the
# script's cmd_start, cmd_stop, cmd_status and cmd_logs.
show_log() {
    [[ -f "$1" ]] || die "no log yet ($1)"
    if [[ "${2:-}" == "-f" ]]; then
        exec tail -n 100 -F "$1"
    fi
    tail -n 100 "$1"
}

dispatch() {
    case "${1:-}" in
        start)   cmd_start ;;
        stop)    cmd_stop ;;
        restart) cmd_stop; cmd_start ;;
        status)  cmd_status ;;
        logs)    shift; cmd_logs "$@" ;;
        *)       echo "Usage: $0 {start|stop|restart|status|logs [-f]}" >&2; exit 2 ;;
    esac
}
