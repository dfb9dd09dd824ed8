//go:build integration

package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture"
)

// TestResumeAtIdleKeepsSequence: a change re-sent after a restart carries the source block of
// its first copy. Restarted at an idle position (a server keepalive's WAL end, handed out while
// a transaction was still open on the server, its first change below that end), the source
// set the last commit LSN (source.sequence[0]) to the idle position, so the re-sent change got
// another sequence, and the ClickHouse sink, which versions PostgreSQL rows by
// max(lsn, sequence[0]), another version: a keyless row stored twice.
func TestResumeAtIdleKeepsSequence(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE k (id int, v int)", "ALTER TABLE k REPLICA IDENTITY FULL", "CREATE TABLE other (id int)",
			"CREATE PUBLICATION sluice FOR TABLE k")
		cfg := db.config()
		s := db.open(cfg)
		db.exec("INSERT INTO k VALUES (0, 0)")
		untilCommit(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		side, err := pgx.Connect(ctx, db.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer side.Close(ctx)
		tx, err := side.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO k VALUES (1, 1)"); err != nil {
			t.Fatal(err)
		}
		var open string
		if err := tx.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&open); err != nil {
			t.Fatal(err)
		}
		openLSN, _ := pglogrepl.ParseLSN(open)
		db.exec("INSERT INTO other VALUES (1)") // unpublished: moves the WAL end past the open change
		var idle []byte
		for idle == nil {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("waiting for an idle position past %s: %v", open, err)
			}
			if ev.Kind == capture.Keepalive && ev.Source.LSN > uint64(openLSN) {
				idle = ev.Position.AppendOffset(nil)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		first := changesOnly(collect(t, s, 1))[0]
		s.Close()
		cfg.Offset = idle
		again := changesOnly(collect(t, db.open(cfg), 1))[0]
		t.Logf("first copy lsn %s last commit %s; resumed at %s", pglogrepl.LSN(first.Source.LSN), pglogrepl.LSN(first.Source.LastCommitLSN), idle)
		if again.Source.LSN != first.Source.LSN || again.Source.LastCommitLSN != first.Source.LastCommitLSN {
			t.Fatalf("re-sent change: lsn %s last commit %s, first copy: lsn %s last commit %s",
				pglogrepl.LSN(again.Source.LSN), pglogrepl.LSN(again.Source.LastCommitLSN), pglogrepl.LSN(first.Source.LSN), pglogrepl.LSN(first.Source.LastCommitLSN))
		}
	})
}
