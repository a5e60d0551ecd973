# Shared helpers for the .ci/*.sh service scripts. Sourced, not run.
#
# Layout (both overridable, both safe to delete while services are stopped):
#   WASPADA_SCRATCH  state of running services: configs, data, logs, pid files.
#                    Default /tmp/waspada-scratch.
#   WASPADA_CACHE    downloads kept between runs: Kafka jars, the chdb venv.
#                    Default $HOME/.cache/waspada.
#
# Every script logs to stderr, so that stdout stays free for the one value a
# caller may want to capture (chdb.sh prints the venv python there).

WASPADA_SCRATCH=${WASPADA_SCRATCH:-/tmp/waspada-scratch}
WASPADA_CACHE=${WASPADA_CACHE:-$HOME/.cache/waspada}
export WASPADA_SCRATCH WASPADA_CACHE

ci_name=${ci_name:-ci}

say() { printf '[%s] %s\n' "$ci_name" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# as_root runs a command as root: directly in CI (root), through sudo for a
# developer who has it.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# apt_install PKG... installs the Debian packages that are not installed yet.
# apt-get update runs once per script run, and only when something is missing,
# so a warm machine pays nothing.
ci_apt_updated=
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
    # One apt at a time: .ci/test starts services in parallel, and each may
    # install what it lacks. The lock serialises them (dpkg's own lock would
    # make the second fail rather than wait).
    (
        flock -w 900 8 || die "apt lock $ci_apt_lock busy for 900s"
        if [ -z "$ci_apt_updated" ]; then
            say "apt-get update"
            as_root apt-get update -qq >&2 || die "apt-get update failed"
        fi
        say "apt-get install ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
            || die "apt-get install ${missing[*]} failed"
    ) 8>"$ci_apt_lock" || die "could not install ${missing[*]}"
    ci_apt_updated=1
}
ci_apt_lock=${TMPDIR:-/tmp}/waspada-apt.lock

# pid_of PIDFILE MATCH prints the pid recorded in PIDFILE if that process is
# alive and its command line contains MATCH (guards against a recycled pid
# belonging to something else). Returns 1 otherwise.
pid_of() {
    local pidfile=$1 match=$2 pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    case $pid in ''|*[!0-9]*) return 1 ;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$match" || return 1
    echo "$pid"
}

# stop_pid PIDFILE MATCH SECONDS sends SIGTERM to the recorded process, waits
# up to SECONDS for it to exit, then SIGKILLs it. Only ever the one pid we
# started; never a pattern.
stop_pid() {
    local pidfile=$1 match=$2 secs=$3 pid i
    if ! pid=$(pid_of "$pidfile" "$match"); then
        rm -f "$pidfile"
        say "not running"
        return 0
    fi
    say "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid still alive after ${secs}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
    say "stopped"
}

# with_lock FILE runs the rest of the script under an exclusive flock, so two
# concurrent `start`s (two terminals, two test runs) do not both launch a
# server on the same port and data dir.
with_lock() {
    mkdir -p "$(dirname "$1")"
    exec 9>"$1"
    flock -w 300 9 || die "could not lock $1 within 300s"
}
