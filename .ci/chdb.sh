#!/usr/bin/env bash
# A Python venv with chdb (a current ClickHouse engine, in process) for
# .ci/chdb_check.py, the "schema and queries run on a current ClickHouse"
# check. Prints the venv's python path on stdout (and nothing else there):
#
#   py=$(bash .ci/chdb.sh) && "$py" .ci/chdb_check.py checks.json
#
#   bash .ci/chdb.sh [start]   create/refresh the venv if needed, print its python
#   bash .ci/chdb.sh stop      nothing to stop (in-process engine); accepted for symmetry
#   bash .ci/chdb.sh reset     delete the venv
#
# Environment:
#   CHDB_VERSION       chdb version from PyPI (default 4.4.0: ClickHouse engine 26.9)
#   CHDB_BASE_PYTHON   interpreter the venv is made from (default /usr/bin/python3
#                      when present, else python3 on PATH)
#   WASPADA_CACHE      the venv lives in $WASPADA_CACHE/chdb-venv (~900 MB:
#                      chdb pulls in pandas and pyarrow)
set -euo pipefail
ci_name=chdb
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

CHDB_VERSION=${CHDB_VERSION:-4.4.0}
venv=$WASPADA_CACHE/chdb-venv
py=$venv/bin/python
marker=$venv/.waspada-chdb-$CHDB_VERSION

base_python() {
    if [ -n "${CHDB_BASE_PYTHON:-}" ]; then
        echo "$CHDB_BASE_PYTHON"
    elif [ -x /usr/bin/python3 ]; then
        # Debian's interpreter: present on every Debian machine, independent
        # of whichever pyenv/asdf python a developer has on PATH.
        echo /usr/bin/python3
    else
        command -v python3 || die "no python3"
    fi
}

ensure() {
    mkdir -p "$WASPADA_CACHE"
    with_lock "$WASPADA_CACHE/chdb-venv.lock"
    # The marker is written last, so a half-finished install is redone; the
    # import check catches a venv whose base interpreter went away.
    if [ -f "$marker" ] && "$py" -c 'import chdb.session' >/dev/null 2>&1; then
        say "venv ready: $py (chdb $CHDB_VERSION)"
        echo "$py"
        return 0
    fi
    local bp
    bp=$(base_python)
    rm -rf "$venv"
    if ! "$bp" -m venv "$venv" >/dev/null 2>&1; then
        # Debian's python3 cannot make venvs until python3-venv is installed
        # (ensurepip is split out).
        rm -rf "$venv"
        apt_install python3-venv
        "$bp" -m venv "$venv" >&2 || die "could not create a venv with $bp"
    fi
    say "pip install chdb==$CHDB_VERSION into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --no-input "chdb==$CHDB_VERSION" >&2 \
        || die "pip install chdb==$CHDB_VERSION failed"
    "$py" -c 'import chdb.session' >&2 || die "chdb installed but does not import"
    touch "$marker"
    say "venv ready: $py ($("$py" -c 'import chdb; print("chdb", chdb.__version__, "engine", chdb.engine_version)'))"
    echo "$py"
}

case ${1:-start} in
start) ensure ;;
stop) say "nothing to stop: chdb runs inside the calling process" ;;
reset) with_lock "$WASPADA_CACHE/chdb-venv.lock"; rm -rf "$venv"; say "venv removed" ;;
*) echo "usage: $0 [start|stop|reset]" >&2; exit 2 ;;
esac
