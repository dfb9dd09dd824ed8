//go:build integration

package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// TestOffsetAheadOfServerWAL: a stored offset past the end of the server's WAL was not written
// against this server (an offsets file copied from another one, a server restored from a
// backup or failed over to a replica that lacks the end of the WAL). Before, streaming started
// at the offset: the server skipped every change until its WAL reached that position, and
// nothing said so. Now Open stops and names the ways out; when_needed takes a new snapshot.
func TestOffsetAheadOfServerWAL(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		db.exec("CREATE TABLE a (id int PRIMARY KEY)", "CREATE PUBLICATION sluice FOR ALL TABLES")
		s := db.open(db.config())
		db.exec("INSERT INTO a VALUES (1)")
		p, err := ParseOffset(untilCommit(t, s))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		db.slotReleased()
		const ahead = 1 << 34 // 16 GiB of WAL no test server has written since
		p.LSN, p.CommitLSN, p.ProcLSN = p.LSN+ahead, p.CommitLSN+ahead, p.ProcLSN+ahead
		db.exec("INSERT INTO a VALUES (2)")

		cfg := db.config()
		cfg.Offset = p.AppendOffset(nil)
		for _, mode := range []SnapshotMode{SnapshotInitial, SnapshotNoData} {
			cfg.SnapshotMode = mode
			s, err := Open(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatalf("mode %s: Open succeeded with an offset past the server's WAL", mode)
			}
			if !errors.Is(err, ErrOffsetAhead) || capture.Retryable(err) {
				t.Errorf("mode %s: error %v, want ErrOffsetAhead, not retryable", mode, err)
			}
			for _, want := range []string{"--snapshot-mode when_needed", "another server"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("mode %s: error %q does not say %s", mode, err, want)
				}
			}
		}
		cfg.SnapshotMode = SnapshotWhenNeeded
		s = db.open(cfg)
		evs := collect(t, s, 2)
		if evs[0].Op != capture.OpRead || evs[1].After[0].Int != 2 {
			t.Errorf("when_needed: %c %d, want a snapshot with both rows", evs[0].Op, evs[1].After[0].Int)
		}
	})
}
