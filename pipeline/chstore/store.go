package chstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config says where ClickHouse is.
type Config struct {
	// Addr is host:port of the native protocol (9000). Empty means "no
	// ClickHouse": the pipeline runs, says so, and keeps scores on Kafka.
	Addr     string `yaml:"addr"`
	Database string `yaml:"database"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DialTimeout bounds connecting; ReadTimeout bounds one query.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	ReadTimeout time.Duration `yaml:"read_timeout"`
}

// DefaultConfig is a local server's defaults, without an address.
func DefaultConfig() Config {
	return Config{Database: "waspada", Username: "default", DialTimeout: 5 * time.Second, ReadTimeout: 60 * time.Second}
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate lists every problem.
func (c Config) Validate() error {
	var errs []error
	if !identRe.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("clickhouse.database: %q is not a plain identifier", c.Database))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, errors.New("clickhouse.dial_timeout: must be positive"))
	}
	if c.ReadTimeout <= 0 {
		errs = append(errs, errors.New("clickhouse.read_timeout: must be positive"))
	}
	return errors.Join(errs...)
}

// Store is a connection to one ClickHouse database. It is safe for
// concurrent use; Close is idempotent.
type Store struct {
	conn driver.Conn
	db   string
}

// Open connects and pings. It does not create anything; see Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{cfg.Addr},
		Auth: clickhouse.Auth{Username: cfg.Username, Password: cfg.Password},
		// 18.16 speaks an old native protocol revision; clickhouse-go
		// negotiates down, and compression stays off so it works there.
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		MaxOpenConns: 4,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", cfg.Addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s: ping: %w", cfg.Addr, err)
	}
	return &Store{conn: conn, db: cfg.Database}, nil
}

// Close releases the connection pool.
func (s *Store) Close() error {
	if s == nil || s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// Database is the database name.
func (s *Store) Database() string { return s.db }

// ServerVersion is the server's version string.
func (s *Store) ServerVersion(ctx context.Context) (string, error) {
	var v string
	err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&v)
	return v, err
}

// Migrate applies the missing schema steps and returns the versions it
// applied.
func (s *Store) Migrate(ctx context.Context) ([]uint32, error) {
	for _, stmt := range Bootstrap(s.db) {
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("bootstrap: %w\n%s", err, stmt)
		}
	}
	applied := map[uint32]bool{}
	rows, err := s.conn.Query(ctx, "SELECT version FROM "+s.db+".schema_migrations")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		applied[v] = true
	}
	rows.Close()
	var done []uint32
	for _, m := range Migrations(s.db) {
		if applied[m.Version] {
			continue
		}
		for _, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return done, fmt.Errorf("migration %d (%s): %w\n%s", m.Version, m.Name, err, stmt)
			}
		}
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".schema_migrations (version, name)")
		if err != nil {
			return done, err
		}
		if err := b.Append(m.Version, m.Name); err != nil {
			return done, err
		}
		if err := b.Send(); err != nil {
			return done, fmt.Errorf("recording migration %d: %w", m.Version, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// Query runs a read-only statement and returns the rows as strings, for
// the CLI and tests. Not for hot paths.
func (s *Store) Query(ctx context.Context, sql string) ([]string, [][]string, error) {
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		for i, ct := range rows.ColumnTypes() {
			vals[i] = newScanTarget(ct.DatabaseTypeName())
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = formatScanned(v)
		}
		out = append(out, row)
	}
	return cols, out, rows.Err()
}

func newScanTarget(t string) any {
	switch {
	case strings.HasPrefix(t, "Array(String"):
		return new([]string)
	case t == "String" || strings.HasPrefix(t, "Enum"):
		return new(string)
	case t == "UInt8":
		return new(uint8)
	case t == "UInt16":
		return new(uint16)
	case t == "UInt32":
		return new(uint32)
	case t == "UInt64":
		return new(uint64)
	case t == "Int32":
		return new(int32)
	case t == "Int64":
		return new(int64)
	case t == "Float64":
		return new(float64)
	case strings.HasPrefix(t, "DateTime"):
		return new(time.Time)
	case strings.HasPrefix(t, "Array(UInt"):
		return new([]uint64)
	default:
		return new(string)
	}
}

func formatScanned(v any) string {
	switch x := v.(type) {
	case *string:
		return *x
	case *time.Time:
		return x.UTC().Format(time.RFC3339)
	case *[]string:
		return "[" + strings.Join(*x, ",") + "]"
	default:
		return fmt.Sprint(derefAny(v))
	}
}

func derefAny(v any) any {
	switch x := v.(type) {
	case *uint8:
		return *x
	case *uint16:
		return *x
	case *uint32:
		return *x
	case *uint64:
		return *x
	case *int32:
		return *x
	case *int64:
		return *x
	case *float64:
		return *x
	case *[]uint64:
		return *x
	}
	return v
}

// Quote makes a string literal for ClickHouse SQL. Used instead of query
// parameters, which 18.16 cannot take over the native protocol.
func Quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}

// Exec runs one statement (DDL or maintenance).
func (s *Store) Exec(ctx context.Context, sql string) error { return s.conn.Exec(ctx, sql) }
