#!/usr/bin/env python3
"""Run SQL on a current ClickHouse engine, in process, through chdb.

Why: the schema and analyst queries must run on Debian's ClickHouse 18.16
(tested over the wire) and on a current release. No current server package is
reachable here, but PyPI's chdb embeds a current ClickHouse engine, so this
script is the "current release" half of that check.

Usage:
    chdb_check.py [--json] [--keep] [FILE|-]

Input (FILE, or stdin when FILE is absent or "-"), a JSON object:
    {"statements": ["CREATE TABLE ...", ...],
     "queries":    ["SELECT ...", {"sql": "SELECT 1", "expect": "1"}, ...]}

Each statement and query is ONE SQL statement (a trailing ';' is fine).
Statements run first, in order, then each query, all in one chdb session
whose data lives in a fresh temporary directory under
$WASPADA_SCRATCH/chdb (default /tmp/waspada-scratch/chdb), inside a fresh
database made current with USE, so unqualified names never collide with
another run. Everything runs even after a failure, so one run lists every
problem (later items may then fail as a consequence).

A query item may be an object with "expect": the query's CSV output, with
surrounding whitespace stripped, must equal it exactly; otherwise the item
fails. Without "expect" a query passes when it runs.

Output: one line per item, in order:
    ok   statement 1: CREATE TABLE scores (...first 80 chars of the SQL...)
    FAIL query 2: SELECT ... :: Code: 47. DB::Exception: ...
(with --json instead: a JSON array of {"kind", "index", "sql", "ok", "error"}).
The engine version goes to stderr.
Exit status: 0 all passed, 1 something failed, 2 bad input or chdb missing.

chdb API notes (chdb 4.4.0, engine 26.9; see .ci/chdb.sh for the venv):
  - chdb.session.Session(path) opens a stateful session backed by the
    directory `path` (None = a temp dir removed on close; ":memory:" too).
    State (databases, tables, the USE'd database) persists across
    Session.query calls, which is what lets a CREATE be followed by a SELECT.
  - Session.query(sql, fmt="CSV", udf_path="", params=None) returns a result
    whose str() is the output in `fmt`; bytes() for binary formats.
  - Errors raise chdb.ChdbError (a RuntimeError subclass) whose message is
    the server's "Code: N. DB::Exception: ..." text.
  - Session.close() (alias cleanup) releases the engine; chdb allows one
    live engine per process, so this script opens exactly one session.
"""

import json
import os
import shutil
import sys
import tempfile
import uuid


def one_line(text, limit=None):
    """Collapse whitespace so that each result is exactly one output line."""
    s = " ".join(str(text).split())
    if limit is not None and len(s) > limit:
        s = s[:limit]
    return s


def load_input(argv):
    path = argv[0] if argv else "-"
    try:
        if path == "-":
            doc = json.load(sys.stdin)
        else:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"chdb_check: cannot read input {path}: {e}")
    problems = []
    if not isinstance(doc, dict):
        raise SystemExit("chdb_check: input must be a JSON object with 'statements' and/or 'queries'")
    unknown = sorted(set(doc) - {"statements", "queries"})
    if unknown:
        problems.append(f"unknown keys {unknown}")
    items = []
    for kind in ("statements", "queries"):
        lst = doc.get(kind, [])
        if not isinstance(lst, list):
            problems.append(f"'{kind}' must be a list")
            continue
        for i, it in enumerate(lst, 1):
            expect = None
            if isinstance(it, dict) and kind == "queries":
                sql, expect = it.get("sql"), it.get("expect")
                if expect is not None and not isinstance(expect, str):
                    problems.append(f"{kind}[{i}].expect must be a string")
            else:
                sql = it
            if not isinstance(sql, str) or not sql.strip():
                problems.append(f"{kind}[{i}] must be a non-empty SQL string")
                continue
            items.append((kind[:-1] if kind == "statements" else "query", i, sql, expect))
    if problems:
        raise SystemExit("chdb_check: bad input: " + "; ".join(problems))
    if not items:
        raise SystemExit("chdb_check: bad input: no statements or queries")
    return items


def main(argv):
    as_json = "--json" in argv
    keep = "--keep" in argv
    args = [a for a in argv if a not in ("--json", "--keep")]
    if any(a.startswith("--") for a in args) or len(args) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        items = load_input(args)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    try:
        import chdb
        from chdb import session as chs
    except ImportError as e:
        print(f"chdb_check: chdb not importable ({e}); run .ci/chdb.sh and use the python it prints", file=sys.stderr)
        return 2

    base = os.path.join(os.environ.get("WASPADA_SCRATCH", "/tmp/waspada-scratch"), "chdb")
    os.makedirs(base, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="check-", dir=base)
    sess = None
    results = []
    try:
        sess = chs.Session(workdir)
        version = str(sess.query("SELECT version()")).strip().strip('"')
        print(f"chdb {getattr(chdb, '__version__', '?')}, ClickHouse engine {version}, data {workdir}", file=sys.stderr)
        # A fresh database made current, so unqualified CREATE TABLE lands
        # there. Statements that name a database explicitly still work.
        db = "chdb_check_" + uuid.uuid4().hex[:12]
        sess.query(f"CREATE DATABASE {db}")
        sess.query(f"USE {db}")

        for kind, idx, sql, expect in items:
            stmt = sql.strip()
            if stmt.endswith(";"):
                stmt = stmt[:-1].rstrip()
            err = None
            try:
                out = sess.query(stmt, "CSV")
                if expect is not None:
                    got = str(out).strip()
                    if got != expect.strip():
                        err = f"result mismatch: got {json.dumps(got)}, want {json.dumps(expect.strip())}"
            except Exception as e:  # chdb.ChdbError and anything the binding raises
                err = f"{type(e).__name__}: {e}"
            results.append({"kind": kind, "index": idx, "sql": one_line(sql, 80), "ok": err is None, "error": None if err is None else one_line(err)})
    finally:
        if sess is not None:
            try:
                sess.close()
            except Exception:
                pass
        if keep:
            print(f"chdb_check: kept data in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    if as_json:
        json.dump(results, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for r in results:
            if r["ok"]:
                print(f"ok   {r['kind']} {r['index']}: {r['sql']}")
            else:
                print(f"FAIL {r['kind']} {r['index']}: {r['sql']} :: {r['error']}")
    failed = sum(not r["ok"] for r in results)
    print(f"chdb_check: {len(results) - failed} ok, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
