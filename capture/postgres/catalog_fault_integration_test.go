//go:build integration

package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture"
)

// TestCatalogConnectionLost: the catalog connection (table metadata for each Relation message)
// dies with the server's "terminating connection due to administrator command" (57P01, what
// pg_ctl stop -m fast sends) while the stream lives on. The error reaches Next as retryable,
// so the capture command reopens the source as for any outage; before, it was returned as is
// and the process exited 1 (found by make torture: "read source: FATAL: terminating
// connection due to administrator command (SQLSTATE 57P01)", seed 11).
func TestCatalogConnectionLost(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db.exec("CREATE TABLE c (id int PRIMARY KEY)", "CREATE PUBLICATION sluice FOR ALL TABLES")
		s := db.open(db.config())
		db.exec("INSERT INTO c VALUES (1)")
		collect(t, s, 1)
		pid := s.cat.conn.PgConn().PID()
		if _, err := db.conn.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
			t.Fatal(err)
		}
		// A new column: the next change comes with a Relation message, whose table metadata
		// is read on the dead catalog connection.
		db.exec("ALTER TABLE c ADD COLUMN v int", "INSERT INTO c VALUES (2, 2)")
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				if !capture.Retryable(err) {
					t.Fatalf("Next: %v: not retryable", err)
				}
				t.Logf("Next: %v (retryable)", err)
				return
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			if ev.Kind == capture.Change && len(ev.After) == 2 {
				t.Fatalf("the change after the ALTER arrived although the catalog connection was terminated")
			}
		}
	})
}

// TestPublicationCreatedConcurrently: two connectors of one database start together and both
// find the publication missing; the second CREATE PUBLICATION fails with a unique violation
// once the first commits. The publication exists then, which is all Open needs. Before, Open
// failed for good with "(create it as a superuser or the tables' owner)" (found by make
// torture: the Kafka and the ClickHouse pipeline of one path starting at once, seed 33).
func TestPublicationCreatedConcurrently(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db.exec("CREATE TABLE p (id int PRIMARY KEY)")
		other, err := pgx.Connect(ctx, db.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close(ctx)
		tx, err := other.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "CREATE PUBLICATION sluice FOR ALL TABLES"); err != nil {
			t.Fatal(err)
		}
		// Open sees no publication (not committed yet) and its CREATE waits on the other's
		// unique index entry until the commit.
		go func() {
			time.Sleep(500 * time.Millisecond)
			tx.Commit(ctx)
		}()
		s, err := Open(ctx, db.config())
		if err != nil {
			t.Fatalf("Open while another connector created the publication: %v", err)
		}
		s.Close()
	})
}
