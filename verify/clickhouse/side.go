// Package clickhouse is the ClickHouse side of sluice verify: it reads the tables that
// sink/clickhouse fills (ReplacingMergeTree versioned by _version, deletes as _is_deleted = 1)
// as their current state, `FINAL` and not deleted, and computes the same canonical row hashes,
// range sums and keys as the source sides, in SQL (verify.Side). It only runs SELECTs.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	chsink "github.com/sluicecdc/sluice/sink/clickhouse"
	"github.com/sluicecdc/sluice/verify"
)

// Side reads the tables of one ClickHouse database.
type Side struct {
	conn     driver.Conn
	Database string
	Version  string
}

var _ verify.Side = (*Side)(nil)

// Open connects with the sink's connection settings (cfg.Database is the database read).
func Open(ctx context.Context, cfg chsink.Config) (*Side, error) {
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	opts.Settings = ch.Settings{
		// On 18.16 a WHERE on a column other than the key may be moved to PREWHERE, which
		// filters the row versions before FINAL picks the newest: an old version of a
		// deleted row would reappear. Our filters on _is_deleted sit outside FINAL and must
		// stay there.
		"optimize_move_to_prewhere":            0,
		"enable_optimize_predicate_expression": 0,
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: open %v: %w", opts.Addr, err)
	}
	s := &Side{conn: conn, Database: cfg.Database}
	if s.Database == "" {
		s.Database = "default"
	}
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&s.Version); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse: connect %v: %w", opts.Addr, err)
	}
	return s, nil
}

// Unreadable says why a column of type typ cannot be read back on this server, or "".
// ClickHouse 18.16 prints a Decimal128 (precision > 18) wrongly: toString writes past its
// buffer for values of more than about 30 digits, so the text differs from run to run, and
// the memory it overwrites crashed the server (a segfault in a later query or at shutdown).
func (s *Side) Unreadable(typ string) string {
	var p, sc int
	if !strings.HasPrefix(s.Version, "18.") {
		return ""
	}
	if _, err := fmt.Sscanf(base(typ), "Decimal(%d, %d)", &p, &sc); err != nil || p <= 18 {
		return ""
	}
	return "ClickHouse " + s.Version + " cannot print a Decimal of precision over 18 (its toString overruns memory and can crash the server)"
}

// Close closes the connection.
func (s *Side) Close() error { return s.conn.Close() }

// Columns returns the columns of a table (name → type), nil when it does not exist.
func (s *Side) Columns(ctx context.Context, table string) (map[string]string, error) {
	rows, err := s.conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", s.Database, table)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: columns of %s.%s: %w", s.Database, table, err)
	}
	defer rows.Close()
	var out map[string]string
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]string{}
		}
		out[n] = t
	}
	return out, rows.Err()
}

// DataTable returns the table that holds the rows of the sink's table name and its columns:
// name+chsink.DataSuffix behind the view the sink names name, or name itself (a table of
// an older sluice or one made by hand). The columns are nil when neither exists.
func (s *Side) DataTable(ctx context.Context, name string) (string, map[string]string, error) {
	for _, n := range []string{name + chsink.DataSuffix, name} {
		cols, err := s.Columns(ctx, n)
		if err != nil || cols != nil {
			return n, cols, err
		}
	}
	return name, nil, nil
}

// Parked counts the records the sink parked for table in _sluice_parked (0 when the sink never
// created that table): they are missing from the table until replayed.
func (s *Side) Parked(ctx context.Context, table string) (int64, error) {
	var exists uint8
	if err := s.conn.QueryRow(ctx, "EXISTS TABLE "+quoteIdent(s.Database)+".`_sluice_parked`").Scan(&exists); err != nil || exists == 0 {
		return 0, err
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+quoteIdent(s.Database)+".`_sluice_parked` WHERE table = ?", table).Scan(&n); err != nil {
		return 0, fmt.Errorf("clickhouse: parked records of %s: %w", table, err)
	}
	return int64(n), nil
}

func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

func base(t string) string {
	for _, w := range []string{"Nullable(", "LowCardinality("} {
		if strings.HasPrefix(t, w) && strings.HasSuffix(t, ")") {
			return base(t[len(w) : len(t)-1])
		}
	}
	return t
}

// canon is the canonical text of one column, 'N' for NULL (see verify.Form).
func canon(c verify.Column) string {
	q := quoteIdent(c.Name)
	var e string
	switch c.Form {
	case verify.FormInt, verify.FormDecimal:
		e = "toString(" + q + ")"
	case verify.FormDate:
		e = "toString(" + q + ")"
		if base(c.Type) == "Date" { // 18.16 prints day 0 as 0000-00-00
			e = "if(toUInt16(" + q + ") = 0, '1970-01-01', " + e + ")"
		}
	case verify.FormDecimalTrim:
		e = q
	case verify.FormText:
		e = "concat(toString(length(" + q + ")), ':', " + q + ")"
	case verify.FormHex:
		e = "lower(hex(" + q + "))"
	case verify.FormMicros:
		if strings.HasPrefix(base(c.Type), "DateTime64(") {
			e = "toString(toUnixTimestamp64Micro(" + q + "))"
		} else {
			e = "toString(" + q + ")"
		}
	default:
		e = "NULL"
	}
	return "ifNull(" + e + ", 'N')"
}

func joined(cols []verify.Column) string {
	parts := make([]string, 0, 2*len(cols))
	for i, c := range cols {
		if i > 0 {
			parts = append(parts, "','")
		}
		parts = append(parts, canon(c))
	}
	if len(parts) == 1 {
		parts = append(parts, "''") // concat needs two arguments on 18.16
	}
	return "concat(" + strings.Join(parts, ", ") + ")"
}

// hash64 is the first 8 bytes of SHA-256 of e, big-endian, as a UInt64.
func hash64(e string) string {
	return "reinterpretAsUInt64(reverse(substring(SHA256(" + e + "), 1, 8)))"
}

func part(t *verify.Table) string {
	if t.Ranged {
		return quoteIdent(t.Key[0].Name)
	}
	return "bitShiftRight(" + hash64(joined(t.Key)) + ", 4)"
}

func (s *Side) rel(t *verify.Table) string { return quoteIdent(t.Schema) + "." + quoteIdent(t.Name) }

func unsigned(t *verify.Table) bool { return strings.HasPrefix(base(t.Key[0].Type), "UInt") }

// between is seg as a filter on the partition value. A range filter on the key column goes
// inside FINAL (every version of a key shares it) so that the primary index is used.
func between(t *verify.Table, p string, seg verify.Segment) string {
	lo := seg.Lo
	if t.Ranged && unsigned(t) {
		if seg.Hi < 0 {
			return "0"
		}
		lo = max(lo, 0)
	}
	return fmt.Sprintf("%s BETWEEN %d AND %d", p, lo, seg.Hi)
}

// current is the table's current rows, the columns given: the newest version of each key
// (FINAL) unless it is a delete. filter (on the raw columns) is applied inside FINAL.
func (s *Side) current(t *verify.Table, cols, filter string) string {
	q := "SELECT " + cols + ", `_is_deleted` AS _d FROM " + s.rel(t) + " FINAL"
	if filter != "" {
		q += " WHERE " + filter
	}
	return "(" + q + ") WHERE _d = 0"
}

// Span implements verify.Side: the bounds of every stored version (a superset of the
// current rows') and the count of stored rows as the estimate.
func (s *Side) Span(ctx context.Context, t *verify.Table) (verify.Segment, int64, bool, error) {
	var n uint64
	if !t.Ranged {
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.rel(t)).Scan(&n); err != nil {
			return verify.Segment{}, 0, false, fmt.Errorf("clickhouse: count %s: %w", s.rel(t), err)
		}
		return verify.HashSpan, int64(n), n > 0, nil
	}
	k := part(t)
	var lo, hi int64
	if err := s.conn.QueryRow(ctx, "SELECT toInt64(min("+k+")), toInt64(max("+k+")), count() FROM "+s.rel(t)).Scan(&lo, &hi, &n); err != nil {
		return verify.Segment{}, 0, false, fmt.Errorf("clickhouse: key span of %s: %w", s.rel(t), err)
	}
	return verify.Segment{Lo: lo, Hi: hi}, int64(n), n > 0, nil
}

// Sums implements verify.Side. sum() of UInt64 wraps modulo 2^64, as the sums must.
func (s *Side) Sums(ctx context.Context, t *verify.Table, seg verify.Segment, width uint64) (map[uint64]verify.Sum, error) {
	var from string
	if t.Ranged {
		from = s.current(t, part(t)+" AS p, "+hash64(joined(t.Columns))+" AS h", between(t, part(t), seg))
	} else {
		from = s.current(t, part(t)+" AS p, "+hash64(joined(t.Columns))+" AS h", "") + " AND " + between(t, "p", seg)
	}
	q := fmt.Sprintf("SELECT intDiv(toUInt64(toInt64(p) - toInt64(%d)), toUInt64(%d)) AS b, count(), sum(h) FROM %s GROUP BY b",
		seg.Lo, width, from)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: sums of %s: %w", s.rel(t), err)
	}
	defer rows.Close()
	out := map[uint64]verify.Sum{}
	for rows.Next() {
		var b, n, h uint64
		if err := rows.Scan(&b, &n, &h); err != nil {
			return nil, err
		}
		out[b] = verify.Sum{Rows: int64(n), Hash: h}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: sums of %s: %w", s.rel(t), err)
	}
	return out, nil
}

// Rows implements verify.Side.
func (s *Side) Rows(ctx context.Context, t *verify.Table, segs []verify.Segment) (map[string]uint64, error) {
	if len(segs) == 0 {
		return nil, errors.New("clickhouse: no ranges")
	}
	cols := joined(t.Key) + " AS k, " + hash64(joined(t.Columns)) + " AS h"
	var from string
	if t.Ranged {
		conds := make([]string, len(segs))
		for i, seg := range segs {
			conds[i] = between(t, part(t), seg)
		}
		from = s.current(t, cols, strings.Join(conds, " OR "))
	} else {
		conds := make([]string, len(segs))
		for i, seg := range segs {
			conds[i] = between(t, "p", seg)
		}
		from = s.current(t, cols+", "+part(t)+" AS p", "") + " AND (" + strings.Join(conds, " OR ") + ")"
	}
	rows, err := s.conn.Query(ctx, "SELECT k, h FROM "+from)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: rows of %s: %w", s.rel(t), err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var (
			k string
			h uint64
		)
		if err := rows.Scan(&k, &h); err != nil {
			return nil, err
		}
		out[k] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: rows of %s: %w", s.rel(t), err)
	}
	return out, nil
}
