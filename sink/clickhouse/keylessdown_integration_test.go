//go:build integration

package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestPostgresKeylessInsertedWhileDown: sluice stops in the middle of the initial snapshot of
// a PostgreSQL table without a primary key; while it is down 1,000 rows are inserted (and 100
// of them updated). The resumed snapshot reads the table again and streams the inserts from
// the snapshot's consistent point. Before, the rows written while down were stored twice, as
// the resumed reads and as the streamed changes (w:1900 and v:200 for 900 and 100); now the reads that
// are versions the stream delivered are left out.
func TestPostgresKeylessInsertedWhileDown(t *testing.T) {
	for i, env := range []string{"SLUICE_TEST_PG_DSN", "SLUICE_TEST_PG17_DSN"} {
		t.Run(env, func(t *testing.T) {
			name := fmt.Sprintf("sl_ch_kldown%d", i)
			dsn, pg := pgDBOn(t, testkit.Server(t, env), name)
			pgExec(t, pg, "CREATE TABLE ev (kind text, n int)", "ALTER TABLE ev REPLICA IDENTITY FULL",
				"INSERT INTO ev SELECT 'u', g FROM generate_series(1, 2500) g",
				"INSERT INTO ev SELECT 'z', g FROM generate_series(1, 250) g",
				"INSERT INTO ev SELECT 'z', g FROM generate_series(1, 250) g")
			addr := chAddr(t)
			cconn := chConn(t, addr)
			db := freshDB(t, cconn)
			ctx := context.Background()
			enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "kldown", SchemasEnable: true, TombstonesOnDelete: true})
			if err != nil {
				t.Fatal(err)
			}
			send := func(recs []envelope.Record) {
				s, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchRows: 1000, FlushInterval: time.Hour}, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				for i := range recs {
					if err := s.Send(ctx, &recs[i], uint64(i)); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			open := func(offset []byte) capSource {
				src, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Slot: name, Publication: name, SnapshotChunkRows: 100, Offset: offset})
				if err != nil {
					t.Fatal(err)
				}
				return src
			}
			src := open(nil)
			recs, offset := snapshotRecords(ctx, t, src, enc, "ev", 1700)
			src.Close()
			send(recs)
			pgExec(t, pg, "INSERT INTO ev SELECT 'w', g FROM generate_series(1, 1000) g",
				"UPDATE ev SET kind = 'v' WHERE kind = 'w' AND n <= 100")
			src = open(offset)
			rest, _ := snapshotRecords(ctx, t, src, enc, "ev", -1)
			src.Close()
			send(rest)
			optimize(t, cconn, db, "ev")
			// The log: each row read once, each insert once, each update's new image once.
			got := query(t, cconn, "SELECT concat(kind, ':', toString(count()), ':', toString(uniqExact(n))) FROM "+db+".ev GROUP BY kind ORDER BY kind")
			if g, want := strings.Join(got, "|"), "u:2500:2500|v:100:100|w:1000:1000|z:500:250"; g != want {
				t.Fatalf("ClickHouse rows (kind:rows:distinct n) %q, want %q", g, want)
			}
		})
	}
}
