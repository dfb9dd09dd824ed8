// Package postgres is the PostgreSQL side of sluice verify: it lists and describes tables and
// computes, in SQL, the canonical row hashes, range sums and keys of verify.Side. The session
// is read-only (default_transaction_read_only), so nothing it runs can write.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/internal/tlsconf"
	"github.com/sluicecdc/sluice/verify"
)

// Side reads one PostgreSQL database. It is not safe for concurrent use: verify.Compare calls
// each side from one goroutine at a time.
type Side struct {
	conn *pgx.Conn
}

var _ verify.Side = (*Side)(nil)

// Open connects to the database of dsn (a URL or key=value string) with a read-only session;
// password, if not empty, overrides the DSN's; tc, if set, is the TLS (the --tls-* flags the
// capture takes; unset: the DSN's sslmode).
func Open(ctx context.Context, dsn, password string, tc tlsconf.Config) (*Side, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: DSN: %w", err)
	}
	if err := postgres.ApplyTLS(dsn, tc, &cfg.Config); err != nil {
		return nil, err
	}
	if password != "" {
		cfg.Password = password
	}
	// Read-only, and the text forms the canonical SQL relies on.
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["DateStyle"] = "ISO, YMD"
	cfg.RuntimeParams["TimeZone"] = "UTC"
	cfg.RuntimeParams["application_name"] = "sluice verify"
	// The planner cannot know that a range sum groups a table into at most a few thousand
	// buckets (it estimates a group per key), so it sorts every row, on disk, before
	// aggregating: 2-4× slower than hashing them into the buckets, which it does in parallel
	// workers once sorting is off and handing partial groups over is free. Our groups are
	// bounded (verify.Config.MaxBuckets), so the hash tables stay small whatever it plans.
	cfg.RuntimeParams["enable_sort"] = "off"
	cfg.RuntimeParams["parallel_tuple_cost"] = "0"
	cfg.RuntimeParams["work_mem"] = "128MB"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect %s@%s:%d/%s: %w", cfg.User, cfg.Host, cfg.Port, cfg.Database, err)
	}
	return &Side{conn: conn}, nil
}

// Close closes the connection.
func (s *Side) Close(ctx context.Context) error { return s.conn.Close(ctx) }

// Database is the name of the connected database ({db} of the sink's table-name template).
func (s *Side) Database() string { return s.conn.Config().Database }

// Tables lists the ordinary and partitioned tables outside the system schemas (partitions
// are read through their parent), as schema and name.
func (s *Side) Tables(ctx context.Context) ([][2]string, error) {
	rows, err := s.conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
		AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list tables: %w", err)
	}
	var out [][2]string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, [2]string{a, b})
	}
	return out, rows.Err()
}

// Describe reads a table's columns (domains as their base type) and key: the primary key, else
// the index of REPLICA IDENTITY USING INDEX, as the capture keys its records.
func (s *Side) Describe(ctx context.Context, schema, name string) (verify.SourceTable, error) {
	t := verify.SourceTable{Schema: schema, Name: name}
	rel := pgx.Identifier{schema, name}.Sanitize()
	rows, err := s.conn.Query(ctx, `SELECT a.attname,
		CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END,
		CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
		CASE WHEN t.typtype = 'd' THEN bt.typtype ELSE t.typtype END::text,
		CASE WHEN t.typtype = 'd' THEN bt.typcategory ELSE t.typcategory END::text
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, rel)
	if err != nil {
		return t, fmt.Errorf("postgres: describe %s: %w", rel, err)
	}
	for rows.Next() {
		var (
			col, typ, kind, cat string
			mod                 int32
		)
		if err := rows.Scan(&col, &typ, &mod, &kind, &cat); err != nil {
			return t, err
		}
		t.Columns = append(t.Columns, classify(col, typ, mod, kind, cat))
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("postgres: describe %s: %w", rel, err)
	}
	krows, err := s.conn.Query(ctx, `SELECT a.attname FROM pg_index i
		CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = $1::regclass AND `+postgres.KeyIndexSQL+` ORDER BY k.ord`, rel)
	if err != nil {
		return t, fmt.Errorf("postgres: primary key of %s: %w", rel, err)
	}
	for krows.Next() {
		var k string
		if err := krows.Scan(&k); err != nil {
			return t, err
		}
		t.Key = append(t.Key, k)
	}
	return t, krows.Err()
}

// classify maps a column's base type to its class (the Debezium mapping of docs/postgres.md
// decides what the sink holds).
func classify(name, typ string, mod int32, kind, cat string) verify.SourceColumn {
	c := verify.SourceColumn{Name: name, Type: typ}
	switch {
	case cat == "A":
		c.Reason = "arrays have no canonical text both servers compute"
	case kind == "e":
		c.Class = verify.ClassText
	case kind == "r" || kind == "m":
		c.Class = verify.ClassText // ranges: the text PostgreSQL prints
	}
	if c.Class != verify.ClassOther || c.Reason != "" {
		return c
	}
	switch typ {
	case "bool":
		c.Class = verify.ClassBool
	case "int2", "int4", "int8", "oid":
		c.Class = verify.ClassInteger
	case "numeric":
		c.Class = verify.ClassDecimal
		if mod >= 4 {
			m := mod - 4
			c.Precision = int(m>>16) & 0xffff
			sc := int(m & 0x7ff)
			if sc&0x400 != 0 { // PostgreSQL 15+: a negative scale, 11 bits two's complement
				sc -= 0x800
			}
			c.Scale = sc
		}
	case "money":
		c.Class, c.Precision, c.Scale = verify.ClassDecimal, 38, 2
	case "text", "varchar", "bpchar", "name", "citext", "uuid", "json", "jsonb", "xml",
		"inet", "cidr", "macaddr", "macaddr8", "ltree":
		c.Class = verify.ClassText
	case "bytea":
		c.Class = verify.ClassBytes
	case "date":
		c.Class = verify.ClassDate
	case "timestamp", "timestamptz":
		c.Class = verify.ClassTimestamp
	case "time":
		c.Class = verify.ClassTime
	case "float4", "float8":
		c.Reason = "floating point: the servers print floats differently, so no SQL checksum matches; not compared"
	}
	return c
}

// canon is the canonical text of one column (never NULL: 'N' stands for NULL; no other form
// can be 'N', text is length-prefixed).
func canon(c verify.Column) string {
	q := pgx.Identifier{c.Name}.Sanitize()
	var e string
	switch c.Form {
	case verify.FormInt:
		if c.Class == verify.ClassBool {
			e = q + "::int::text"
		} else {
			e = q + "::text"
		}
	case verify.FormDecimal:
		e = q + "::numeric::text"
	case verify.FormDecimalTrim:
		e = "trim_scale(" + q + "::numeric)::text"
	case verify.FormText:
		x := q + "::text"
		// concat prints with the type's output function, as pgoutput sends the value: the
		// cast drops bpchar's padding and adds an inet host's netmask (::1 as ::1/128)
		if c.Type == "bpchar" || c.Type == "inet" {
			x = "(CASE WHEN " + q + " IS NULL THEN NULL ELSE concat(" + q + ") END)"
		}
		e = "octet_length(" + x + ")::text || ':' || " + x
	case verify.FormHex:
		e = "encode(" + q + ", 'hex')"
	case verify.FormDate:
		e = "to_char(" + q + ", 'YYYY-MM-DD')"
	case verify.FormMicros:
		// ±infinity (timestamps only) as the sink stores it: Debezium's MicroTimestamp of it
		x := "extract(epoch from " + q + ")"
		e = "CASE " + x + " WHEN 'Infinity' THEN '9223372036825200000' WHEN '-Infinity' THEN '-9223372036832400000' ELSE (" + x + " * 1000000)::bigint::text END"
	default:
		e = "NULL"
	}
	return "coalesce(" + e + ", 'N')"
}

func joined(cols []verify.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = canon(c)
	}
	return strings.Join(parts, " || ',' || ")
}

// hash64 is the first 8 bytes of SHA-256 of the UTF-8 text e as a bigint (signed; the sums
// are taken modulo 2^64, where it equals ClickHouse's UInt64).
func hash64(e string) string {
	return "('x' || encode(substr(sha256(convert_to(" + e + ", 'UTF8')), 1, 8), 'hex'))::bit(64)"
}

func rowHash(t *verify.Table) string { return hash64(joined(t.Columns)) + "::bigint" }

// part is the partition value: the first key column, or the top 60 bits of the key hash.
func part(t *verify.Table) string {
	if t.Ranged {
		return pgx.Identifier{t.Key[0].Name}.Sanitize()
	}
	return "(" + hash64(joined(t.Key)) + " >> 4)::bigint"
}

func rel(t *verify.Table) string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

// Span implements verify.Side.
func (s *Side) Span(ctx context.Context, t *verify.Table) (verify.Segment, int64, bool, error) {
	var est int64
	if err := s.conn.QueryRow(ctx, "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = $1::regclass", rel(t)).Scan(&est); err != nil {
		return verify.Segment{}, 0, false, fmt.Errorf("postgres: %s: %w", rel(t), err)
	}
	if !t.Ranged {
		var any bool
		if err := s.conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+rel(t)+")").Scan(&any); err != nil {
			return verify.Segment{}, 0, false, fmt.Errorf("postgres: %s: %w", rel(t), err)
		}
		return verify.HashSpan, est, any, nil
	}
	k := part(t)
	var lo, hi *int64
	if err := s.conn.QueryRow(ctx, "SELECT min("+k+")::bigint, max("+k+")::bigint FROM "+rel(t)).Scan(&lo, &hi); err != nil {
		return verify.Segment{}, 0, false, fmt.Errorf("postgres: key span of %s: %w", rel(t), err)
	}
	if lo == nil {
		return verify.Segment{}, est, false, nil
	}
	return verify.Segment{Lo: *lo, Hi: *hi}, est, true, nil
}

// bucket is the SQL of (p - seg.Lo) / width in exact arithmetic.
func bucket(p string, seg verify.Segment, width uint64) string {
	if uint64(seg.Hi)-uint64(seg.Lo) < 1<<62 && width < 1<<62 {
		return fmt.Sprintf("((%s)::bigint - (%d)::bigint) / %d", p, seg.Lo, width)
	}
	return fmt.Sprintf("div((%s)::numeric - %d, %d)", p, seg.Lo, width)
}

func between(p string, seg verify.Segment) string {
	return fmt.Sprintf("%s BETWEEN %d AND %d", p, seg.Lo, seg.Hi)
}

// Sums implements verify.Side.
func (s *Side) Sums(ctx context.Context, t *verify.Table, seg verify.Segment, width uint64) (map[uint64]verify.Sum, error) {
	q := "SELECT b::text, n, sum::text FROM (SELECT " + bucket("p", seg, width) + " AS b, count(*) AS n, sum(h) AS sum FROM (SELECT " +
		part(t) + " AS p, " + rowHash(t) + " AS h FROM " + rel(t) + ") s WHERE " + between("p", seg) + " GROUP BY 1) g"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("postgres: sums of %s: %w", rel(t), err)
	}
	defer rows.Close()
	out, err := verify.ReadSums(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: sums of %s: %w", rel(t), err)
	}
	return out, nil
}

// Rows implements verify.Side.
func (s *Side) Rows(ctx context.Context, t *verify.Table, segs []verify.Segment) (map[string]uint64, error) {
	if len(segs) == 0 {
		return nil, errors.New("postgres: no ranges")
	}
	conds := make([]string, len(segs))
	for i, seg := range segs {
		conds[i] = between("p", seg)
	}
	q := "SELECT k, h FROM (SELECT " + part(t) + " AS p, " + joined(t.Key) + " AS k, " + rowHash(t) + " AS h FROM " +
		rel(t) + ") s WHERE " + strings.Join(conds, " OR ")
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("postgres: rows of %s: %w", rel(t), err)
	}
	out := map[string]uint64{}
	for rows.Next() {
		var (
			k string
			h int64
		)
		if err := rows.Scan(&k, &h); err != nil {
			return nil, err
		}
		out[k] = uint64(h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: rows of %s: %w", rel(t), err)
	}
	return out, nil
}
