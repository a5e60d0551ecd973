package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/waspada/waspada/pipeline/chstore"
)

const migrateHelp = `Usage: waspada migrate [flags]

Applies the ClickHouse schema: versioned, idempotent migrations recorded in
<database>.schema_migrations. 'waspada run' does the same at start-up.

With --print-sql it prints every schema statement and shipped analyst query
as JSON ({"statements": [...], "queries": [...]}) without connecting, for
review or for checking them on another ClickHouse release (.ci/chdb_check.py).

Flags:
`

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pf pipelineFlags
	if err := pf.bind(fs, args); err != nil {
		fmt.Fprintln(stderr, "waspada migrate:", err)
		return 2
	}
	printSQL := fs.Bool("print-sql", false, "print the statements and analyst queries as JSON instead of applying them")
	fs.Usage = func() { fmt.Fprint(stderr, migrateHelp); fs.PrintDefaults(); fmt.Fprint(stderr, envHelp()) }
	if code, done := parse(fs, args); done {
		return code
	}
	if err := pf.finish(); err != nil {
		fmt.Fprintln(stderr, "waspada migrate: invalid configuration:\n"+err.Error())
		return 2
	}
	db := pf.cfg.ClickHouse.Database
	if *printSQL {
		out := struct {
			Statements []string `json:"statements"`
			Queries    []string `json:"queries"`
		}{Statements: chstore.Bootstrap(db)}
		for _, m := range chstore.Migrations(db) {
			out.Statements = append(out.Statements, m.Statements...)
		}
		for _, q := range chstore.Queries(db) {
			out.Queries = append(out.Queries, q.SQL)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return 0
	}
	if pf.cfg.ClickHouse.Addr == "" {
		fmt.Fprintln(stderr, "waspada migrate: no ClickHouse address: set --clickhouse or WASPADA_CLICKHOUSE_ADDR")
		return 2
	}
	st, err := chstore.Open(ctx, pf.cfg.ClickHouse)
	if err != nil {
		fmt.Fprintln(stderr, "waspada migrate:", err)
		return 1
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "waspada migrate:", err)
		return 1
	}
	v, _ := st.ServerVersion(ctx)
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema of %s on ClickHouse %s at %s is up to date\n", db, v, pf.cfg.ClickHouse.Addr)
	} else {
		fmt.Fprintf(stdout, "applied migrations %v to %s on ClickHouse %s at %s\n", applied, db, v, pf.cfg.ClickHouse.Addr)
	}
	return 0
}
