package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// sqlDB is the little the workload, the drain and the checker need from a database. PostgreSQL
// goes through one pgconn connection (pgconn is what the
// module's own code uses; pgx's database/sql driver would add a module requirement), MySQL/MariaDB through database/sql.
type sqlDB interface {
	Exec(ctx context.Context, q string) error
	// Query calls each for every row with the row's Scan.
	Query(ctx context.Context, q string, each func(scan func(dest ...any) error) error) error
	// Txn runs stmts in one transaction. committing reports that the error came from COMMIT,
	// whose outcome is then unknown.
	Txn(ctx context.Context, stmts []string) (committing bool, err error)
	Close()
}

func queryOne(ctx context.Context, db sqlDB, q string, dest ...any) error {
	n := 0
	err := db.Query(ctx, q, func(scan func(...any) error) error { n++; return scan(dest...) })
	if err == nil && n != 1 {
		err = fmt.Errorf("%s: %d rows", q, n)
	}
	return err
}

// pgDB is one PostgreSQL connection (pgconn, text results), reopened after any error.
type pgDB struct {
	dsn  string
	mu   sync.Mutex
	conn *pgconn.PgConn
}

func (p *pgDB) get(ctx context.Context) (*pgconn.PgConn, error) {
	if p.conn != nil && !p.conn.IsClosed() {
		return p.conn, nil
	}
	c, err := pgconn.Connect(ctx, p.dsn)
	if err != nil {
		return nil, err
	}
	p.conn = c
	return c, nil
}

func (p *pgDB) reset(err error) error {
	if err != nil && p.conn != nil {
		p.conn.Close(context.Background())
		p.conn = nil
	}
	return err
}

func (p *pgDB) exec(ctx context.Context, q string) ([]*pgconn.Result, error) {
	c, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.Exec(ctx, q).ReadAll()
	return res, p.reset(err)
}

func (p *pgDB) Exec(ctx context.Context, q string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.exec(ctx, q)
	return err
}

func (p *pgDB) Query(ctx context.Context, q string, each func(scan func(...any) error) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	res, err := p.exec(ctx, q)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		return nil
	}
	for _, r := range res[len(res)-1].Rows {
		scan := func(dest ...any) error {
			if len(dest) != len(r) {
				return fmt.Errorf("%d columns, %d destinations", len(r), len(dest))
			}
			for i, d := range dest {
				switch d := d.(type) {
				case *string:
					*d = string(r[i])
				case *int64:
					v, err := strconv.ParseInt(string(r[i]), 10, 64)
					if err != nil {
						return err
					}
					*d = v
				case *int:
					v, err := strconv.Atoi(string(r[i]))
					if err != nil {
						return err
					}
					*d = v
				default:
					return fmt.Errorf("cannot scan into %T", d)
				}
			}
			return nil
		}
		if err := each(scan); err != nil {
			return err
		}
	}
	return nil
}

func (p *pgDB) Txn(ctx context.Context, stmts []string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.get(ctx)
	if err != nil {
		return false, err
	}
	// Every statement on the connection that ran BEGIN: exec would reconnect after a closed
	// one, and run the rest in autocommit, committing part of a transaction the workload then
	// counts as failed.
	on := func(q string) ([]*pgconn.Result, error) {
		if p.conn != c || c.IsClosed() {
			p.reset(errors.New("closed"))
			return nil, errors.New("the connection of this transaction closed")
		}
		return p.exec(ctx, q)
	}
	if _, err := on("BEGIN"); err != nil {
		return false, err
	}
	for _, s := range stmts {
		if _, err := on(s); err != nil {
			if p.conn == c {
				p.exec(ctx, "ROLLBACK")
			}
			return false, fmt.Errorf("%.80s: %w", s, err)
		}
	}
	res, err := on("COMMIT")
	if err != nil {
		return true, err
	}
	if len(res) == 1 && res[0].CommandTag.String() != "COMMIT" {
		return false, fmt.Errorf("COMMIT answered %s", res[0].CommandTag)
	}
	return false, nil
}

func (p *pgDB) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reset(fmt.Errorf("closed"))
}

// myDB is MySQL/MariaDB through database/sql.
type myDB struct{ db *sql.DB }

func (m myDB) Exec(ctx context.Context, q string) error {
	_, err := m.db.ExecContext(ctx, q)
	return err
}

func (m myDB) Query(ctx context.Context, q string, each func(scan func(...any) error) error) error {
	rows, err := m.db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (m myDB) Txn(ctx context.Context, stmts []string) (bool, error) {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			tx.Rollback()
			return false, fmt.Errorf("%.80s: %w", s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return true, err
	}
	return false, nil
}

func (m myDB) Close() { m.db.Close() }
