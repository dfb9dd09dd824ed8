//go:build integration

package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestPurgedGap (private MariaDB and MySQL 9 servers: PURGE BINARY LOGS is server-wide): the
// stored position's binlog purged while sluice was stopped is an error with the two ways out,
// never a silent jump; --snapshot-mode when_needed takes a new snapshot, and --skip-purged-binlog
// streams from the current position with a warning naming the stored one. Before,
// --skip-purged-binlog did not exist and the error named only when_needed.
func TestPurgedGap(t *testing.T) {
	for _, flavor := range []string{"mariadb", "mysql"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ps := newPrivateServer(t, flavor)
			db := ps.db()
			mustExec(t, db, "CREATE DATABASE "+dbGap, "CREATE TABLE "+dbGap+".t (id INT PRIMARY KEY)", "INSERT INTO "+dbGap+".t VALUES (1)")
			ts := newTestSource(t, server{flavor, ps.dsn}, dbGap)
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			mustExec(t, db, "INSERT INTO "+dbGap+".t VALUES (2)")
			ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 1 })
			s.Close()
			stored := ts.off

			// the gap: written while sluice is stopped, then purged
			mustExec(t, db, "INSERT INTO "+dbGap+".t VALUES (3)")
			purgeAll(t, db)

			firstChange := func(s *Source) (capture.Event, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				for {
					ev, err := s.Next(ctx)
					if err != nil || ev.Kind == capture.Change {
						return ev, err
					}
				}
			}

			// 1. default: an error naming both ways out, and no change event before it
			s = ts.open(t)
			ev, err := firstChange(s)
			s.Close()
			if err == nil {
				t.Fatalf("a purged position resumed silently: first change %s at %s", rowText(ev.After), ev.Source.File)
			}
			if !errors.Is(err, ErrPurged) || capture.Retryable(err) ||
				!strings.Contains(err.Error(), "--snapshot-mode when_needed") || !strings.Contains(err.Error(), "--skip-purged-binlog") {
				t.Fatalf("purged position: err = %v", err)
			}
			t.Logf("purged: %v", err)
			// the same by file and position (a server without GTIDs)
			p, err := ParsePosition(stored)
			if err != nil {
				t.Fatal(err)
			}
			p.GTIDs = ""
			ts.off = p.AppendOffset(nil)
			s = ts.open(t)
			_, err = firstChange(s)
			s.Close()
			if !errors.Is(err, ErrPurged) || !strings.Contains(err.Error(), "--skip-purged-binlog") {
				t.Fatalf("purged file/pos: err = %v", err)
			}

			// 2. --skip-purged-binlog: the schemas again, then the stream from the current
			// position (row 4, not the lost row 3), with a warning that names the stored position
			var logs bytes.Buffer
			ts.off = stored
			ts.cfg.SkipPurgedBinlog = true
			ts.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s = ts.open(t)
			var recs []rec
			recs = ts.collect(t, s, 30*time.Second, func(r []rec) bool {
				if len(r) > 0 && r[len(r)-1].kind == capture.SnapshotDone {
					mustExec(t, db, "INSERT INTO "+dbGap+".t VALUES (4)")
				}
				return len(changes(r)) > 0
			})
			s.Close()
			if ch := changes(recs); len(ch) != 1 || ch[0].text != "-(4)" || ch[0].op != capture.OpCreate {
				t.Fatalf("--skip-purged-binlog: changes %v", ch)
			}
			if !strings.Contains(logs.String(), "LOST") || !strings.Contains(logs.String(), "stored_position=") {
				t.Fatalf("--skip-purged-binlog: no warning:\n%s", logs.String())
			}

			// 3. when_needed: a new snapshot with every row, the purged one included
			purgeAll(t, db)
			ts.off = stored
			ts.cfg.SkipPurgedBinlog = false
			ts.cfg.SnapshotMode = SnapshotWhenNeeded
			s = ts.open(t)
			defer s.Close()
			ch := changes(ts.collect(t, s, 30*time.Second, untilSnapshotDone))
			if len(ch) != 4 || ch[0].op != capture.OpRead || ch[2].text != "-(3)" {
				t.Fatalf("when_needed: changes %v", ch)
			}
		})
	}
}

// purgeAll rotates the binlog and purges every file but the new one. A file a dump thread still
// reads is kept (the server may not have noticed yet that a closed source's connection is gone),
// so it retries until one file is left.
func purgeAll(t *testing.T, db *sql.DB) {
	t.Helper()
	mustExec(t, db, "FLUSH BINARY LOGS")
	logs := func() []string {
		rows, err := db.Query("SHOW BINARY LOGS")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			var name string
			vals[0] = &name
			for i := 1; i < len(vals); i++ {
				vals[i] = new(any)
			}
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		return names
	}
	for i := 0; ; i++ {
		l := logs()
		if len(l) == 1 {
			return
		}
		if i == 100 {
			t.Fatalf("binlogs left after PURGE: %v", l)
		}
		mustExec(t, db, "PURGE BINARY LOGS TO '"+l[len(l)-1]+"'")
		time.Sleep(100 * time.Millisecond)
	}
}
