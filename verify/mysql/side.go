// Package mysql is the MySQL/MariaDB side of sluice verify: it lists and describes tables and
// computes, in SQL, the canonical row hashes, range sums and keys of verify.Side. It only runs
// SELECTs. The session time zone is UTC (as the capture's), which TIMESTAMP columns need.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/internal/tlsconf"
	"github.com/sluicecdc/sluice/verify"
)

// Side reads the databases of one MySQL or MariaDB server.
type Side struct {
	db *sql.DB
}

var _ verify.Side = (*Side)(nil)

// Open connects with the capture's DSN forms (mysql://user:pass@host:port or a
// go-sql-driver DSN); password, if not empty, overrides the DSN's; tc, if set, is the TLS
// (the --tls-* flags the capture takes; unset: the DSN's tls=, else plain text).
func Open(ctx context.Context, dsn, password string, tc tlsconf.Config) (*Side, error) {
	cfg, err := mysql.ParseDSNTLS(dsn, password, tc)
	if err != nil {
		return nil, err
	}
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("mysql: connect %s: %w", cfg.Addr, err)
	}
	return &Side{db: db}, nil
}

// Close closes the connections.
func (s *Side) Close() error { return s.db.Close() }

// Tables lists the base tables outside the system databases, as database and name.
func (s *Side) Tables(ctx context.Context) ([][2]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("mysql: list tables: %w", err)
	}
	defer rows.Close()
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

// Describe reads a table's columns and primary key.
func (s *Side) Describe(ctx context.Context, db, name string) (verify.SourceTable, error) {
	t := verify.SourceTable{Schema: db, Name: name}
	rows, err := s.db.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COALESCE(NUMERIC_PRECISION, 0), COALESCE(NUMERIC_SCALE, 0)
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, name)
	if err != nil {
		return t, fmt.Errorf("mysql: describe %s.%s: %w", db, name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			col, typ, full string
			prec, scale    int
		)
		if err := rows.Scan(&col, &typ, &full, &prec, &scale); err != nil {
			return t, err
		}
		t.Columns = append(t.Columns, classify(col, strings.ToLower(typ), strings.ToLower(full), prec, scale))
	}
	if err := rows.Err(); err != nil {
		return t, err
	}
	krows, err := s.db.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`, db, name)
	if err != nil {
		return t, fmt.Errorf("mysql: primary key of %s.%s: %w", db, name, err)
	}
	defer krows.Close()
	for krows.Next() {
		var k string
		if err := krows.Scan(&k); err != nil {
			return t, err
		}
		t.Key = append(t.Key, k)
	}
	return t, krows.Err()
}

// classify maps a column type to its class (the Debezium MySQL mapping decides what the sink
// holds).
func classify(name, typ, full string, prec, scale int) verify.SourceColumn {
	c := verify.SourceColumn{Name: name, Type: full}
	switch typ {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year":
		c.Class = verify.ClassInteger
	case "decimal", "numeric":
		c.Class, c.Precision, c.Scale = verify.ClassDecimal, prec, scale
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		c.Class = verify.ClassText
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		c.Class = verify.ClassBytes
	case "date":
		c.Class = verify.ClassDate
	case "datetime", "timestamp":
		c.Class = verify.ClassTimestamp
	case "time":
		c.Class = verify.ClassTime
	case "float", "double", "real":
		c.Reason = "floating point: the servers print floats differently, so no SQL checksum matches; not compared"
	case "json":
		c.Reason = "JSON: MySQL prints a JSON value (CAST AS CHAR) with other spacing than the binlog's JSON text the sink stores; not compared"
	}
	return c
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// canon is the canonical text of one column, 'N' for NULL (see verify.Form).
func canon(c verify.Column) string {
	q := quoteIdent(c.Name)
	var e string
	switch c.Form {
	case verify.FormInt, verify.FormDecimal:
		e = "CAST(" + q + " AS CHAR)"
		if strings.HasPrefix(c.Type, "year") { // YEAR 0 prints as 0000; the record holds 0
			e = "CAST(" + q + " + 0 AS CHAR)"
		}
	case verify.FormDecimalTrim:
		e = "CAST(" + q + " AS CHAR)"
		if strings.Contains(c.Type, ",") && !strings.HasSuffix(c.Type, ",0)") {
			e = "TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM " + e + "))"
		}
	case verify.FormText:
		x := "CONVERT(" + q + " USING utf8mb4)"
		e = "CONCAT(LENGTH(" + x + "), ':', " + x + ")"
	case verify.FormHex:
		e = "LOWER(HEX(" + q + "))"
	case verify.FormDate:
		e = "DATE_FORMAT(" + q + ", '%Y-%m-%d')"
	case verify.FormMicros:
		if c.Class == verify.ClassTime {
			// HOUR() etc. are absolute values; TIME_TO_SEC drops the fraction on MySQL 9
			e = "CAST(IF(" + q + " < 0, -1, 1) * ((HOUR(" + q + ") * 3600 + MINUTE(" + q + ") * 60 + SECOND(" + q + ")) * 1000000 + MICROSECOND(" + q + ")) AS CHAR)"
		} else {
			e = "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', " + q + ") AS CHAR)"
		}
	default:
		e = "NULL"
	}
	return "COALESCE(" + e + ", 'N')"
}

func joined(cols []verify.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = canon(c)
	}
	return "CONVERT(CONCAT_WS(',', " + strings.Join(parts, ", ") + ") USING utf8mb4)"
}

// hash64 is the first 8 bytes of SHA-256 of e as an unsigned integer (MySQL 9 has no MD5).
func hash64(e string) string {
	return "CAST(CONV(SUBSTR(SHA2(" + e + ", 256), 1, 16), 16, 10) AS UNSIGNED)"
}

func part(t *verify.Table) string {
	if t.Ranged {
		return quoteIdent(t.Key[0].Name)
	}
	return "CAST(CONV(SUBSTR(SHA2(" + joined(t.Key) + ", 256), 1, 15), 16, 10) AS UNSIGNED)"
}

func rel(t *verify.Table) string { return quoteIdent(t.Schema) + "." + quoteIdent(t.Name) }

func between(p string, seg verify.Segment) string {
	return fmt.Sprintf("%s BETWEEN %d AND %d", p, seg.Lo, seg.Hi)
}

// Span implements verify.Side.
func (s *Side) Span(ctx context.Context, t *verify.Table) (verify.Segment, int64, bool, error) {
	var est sql.NullInt64
	_ = s.db.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", t.Schema, t.Name).Scan(&est)
	if !t.Ranged {
		var one sql.NullInt64
		err := s.db.QueryRowContext(ctx, "SELECT 1 FROM "+rel(t)+" LIMIT 1").Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return verify.HashSpan, 0, false, nil
		}
		if err != nil {
			return verify.Segment{}, 0, false, fmt.Errorf("mysql: %s: %w", rel(t), err)
		}
		return verify.HashSpan, est.Int64, true, nil
	}
	k := "CAST(" + part(t) + " AS SIGNED)"
	var lo, hi sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MIN("+k+"), MAX("+k+") FROM "+rel(t)).Scan(&lo, &hi); err != nil {
		return verify.Segment{}, 0, false, fmt.Errorf("mysql: key span of %s: %w", rel(t), err)
	}
	if !lo.Valid {
		return verify.Segment{}, est.Int64, false, nil
	}
	return verify.Segment{Lo: lo.Int64, Hi: hi.Int64}, est.Int64, true, nil
}

func bucket(p string, seg verify.Segment, width uint64) string {
	if uint64(seg.Hi)-uint64(seg.Lo) < 1<<62 && width < 1<<62 {
		return fmt.Sprintf("(CAST(%s AS SIGNED) - %d) DIV %d", p, seg.Lo, width)
	}
	return fmt.Sprintf("(CAST(%s AS DECIMAL(20,0)) - %d) DIV %d", p, seg.Lo, width)
}

// Sums implements verify.Side.
func (s *Side) Sums(ctx context.Context, t *verify.Table, seg verify.Segment, width uint64) (map[uint64]verify.Sum, error) {
	q := "SELECT CAST(" + bucket("p", seg, width) + " AS CHAR) AS b, COUNT(*), CAST(SUM(h) AS CHAR) FROM (SELECT " + part(t) + " AS p, " +
		hash64(joined(t.Columns)) + " AS h FROM " + rel(t) + ") s WHERE " + between("p", seg) + " GROUP BY b"
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("mysql: sums of %s: %w", rel(t), err)
	}
	defer rows.Close()
	out, err := verify.ReadSums(rows)
	if err != nil {
		return nil, fmt.Errorf("mysql: sums of %s: %w", rel(t), err)
	}
	return out, nil
}

// Rows implements verify.Side.
func (s *Side) Rows(ctx context.Context, t *verify.Table, segs []verify.Segment) (map[string]uint64, error) {
	if len(segs) == 0 {
		return nil, errors.New("mysql: no ranges")
	}
	conds := make([]string, len(segs))
	for i, seg := range segs {
		conds[i] = between("p", seg)
	}
	q := "SELECT k, CAST(h AS CHAR) FROM (SELECT " + part(t) + " AS p, " + joined(t.Key) + " AS k, " + hash64(joined(t.Columns)) +
		" AS h FROM " + rel(t) + ") s WHERE " + strings.Join(conds, " OR ")
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("mysql: rows of %s: %w", rel(t), err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var k, h string
		if err := rows.Scan(&k, &h); err != nil {
			return nil, err
		}
		v, err := strconv.ParseUint(h, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("mysql: row hash %q: %w", h, err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysql: rows of %s: %w", rel(t), err)
	}
	return out, nil
}
