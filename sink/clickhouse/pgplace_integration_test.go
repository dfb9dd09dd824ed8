//go:build integration

package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// pgChangesUntilCommit reads src up to the next Commit and returns the records of its
// changes (bytes copied: the encoder reuses its buffer), each change's offset and LSN.
func pgChangesUntilCommit(ctx context.Context, t *testing.T, src *postgres.Source, enc *envelope.Encoder) (recs []envelope.Record, offsets [][]byte, lsns []uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ev, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if ev.Kind == capture.Commit && len(recs) > 0 {
			return recs, offsets, lsns
		}
		if ev.Kind != capture.Change || ev.Op != capture.OpCreate {
			continue
		}
		out, err := enc.Encode(nil, &ev)
		if err != nil || len(out) != 1 {
			t.Fatalf("encode: %d records, %v", len(out), err)
		}
		r := envelope.Record{Topic: out[0].Topic, Value: append([]byte(nil), out[0].Value...)}
		for _, h := range out[0].Headers {
			r.Headers = append(r.Headers, envelope.Header{Key: h.Key, Value: append([]byte(nil), h.Value...)})
		}
		recs = append(recs, r)
		offsets = append(offsets, ev.Position.AppendOffset(nil))
		lsns = append(lsns, ev.Source.LSN)
	}
}

// TestPostgresKeylessResumeBetweenTwins: a COPY into a table without a primary key writes one
// WAL record, so its rows share one LSN; sluice stops after the second of three identical
// rows, and the source resumes inside the transaction (skipping the events delivered, by
// lsn_events_processed) with a new sink. Every row must reach ClickHouse. Before the rows had
// a place (the __sluice.lsn_event header), the third twin was counted from zero by the new
// sink, got the first one's _row_id and collapsed with it: 2 rows 'z' instead of 3.
func TestPostgresKeylessResumeBetweenTwins(t *testing.T) {
	for i, env := range []string{"SLUICE_TEST_PG_DSN", "SLUICE_TEST_PG17_DSN"} {
		t.Run(env, func(t *testing.T) {
			addr := chAddr(t)
			cconn := chConn(t, addr)
			db := freshDB(t, cconn)
			name := fmt.Sprintf("sl_ch_pgplace%d", i)
			dsn, pg := pgDBOn(t, testkit.Server(t, env), name)
			pgExec(t, pg, "CREATE TABLE ev (kind text, n int)")
			ctx := context.Background()
			cfg := postgres.Config{DSN: dsn, Slot: name, Publication: name}
			enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "pgplace", SchemasEnable: true, TombstonesOnDelete: true})
			if err != nil {
				t.Fatal(err)
			}
			src, err := postgres.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			rows := [][]any{{"x", 1}, {"z", 3}, {"z", 3}, {"z", 3}, {"y", 2}}
			if _, err := pg.CopyFrom(ctx, pgx.Identifier{"ev"}, []string{"kind", "n"}, pgx.CopyFromRows(rows)); err != nil {
				t.Fatal(err)
			}
			recs, offsets, lsns := pgChangesUntilCommit(ctx, t, src, enc)
			src.Close()
			if len(recs) != 5 || lsns[0] != lsns[4] {
				t.Fatalf("COPY gave %d changes at LSNs %v, want 5 at one LSN (one multi-insert record)", len(recs), lsns)
			}
			send := func(recs []envelope.Record) {
				s, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchRows: 100, FlushInterval: time.Hour}, nil)
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
				if st := s.Stats(); st.Parked != 0 {
					t.Fatalf("%d records parked", st.Parked)
				}
			}
			send(recs[:3]) // x, z, z delivered; the offset stored is the second z's
			cfg.Offset = offsets[2]
			src, err = postgres.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			again, _, _ := pgChangesUntilCommit(ctx, t, src, enc)
			src.Close()
			if len(again) != 2 {
				t.Fatalf("resume inside the COPY re-sent %d changes, want 2 (the third z, y)", len(again))
			}
			send(again)
			optimize(t, cconn, db, "ev")
			got := query(t, cconn, "SELECT concat(kind, ' ', toString(n)) FROM "+db+".ev ORDER BY kind, n")
			if g, want := strings.Join(got, "|"), "x 1|y 2|z 3|z 3|z 3"; g != want {
				t.Fatalf("rows %q, want %q", g, want)
			}
		})
	}
}

// TestKafkaKeylessResumeBetweenTwins: the same resume through Kafka. An upstream sluice
// writes three rows of a COPY of identical rows (one LSN, __sluice.lsn_event 1..3), stops
// after the second twin's offset and, restarted (a new producer session), re-sends from the
// third twin. The consumer must keep all three: before the header was read, the new session
// started the count over and the third twin collapsed with the first.
func TestKafkaKeylessResumeBetweenTwins(t *testing.T) {
	got := keylessEvents(t, "kp", func(tb ttable) [][]envelope.Record {
		keyless := func(kind string, n int, lsn int64, ordinal int) envelope.Record {
			r := tb.record("c", nil, row{"kind", kind, "n", n}, lsn, true)
			r.Key = nil // Debezium sends no key for a table without a primary key
			r.Headers = []envelope.Header{{Key: envelope.HeaderLSNEvent, Value: fmt.Appendf(nil, "%d", ordinal)}}
			return r
		}
		return [][]envelope.Record{
			{keyless("z", 3, 950, 1), keyless("z", 3, 950, 2)},
			{keyless("z", 3, 950, 3), keyless("y", 2, 950, 4)}, // restarted after the second twin
			{keyless("z", 3, 950, 2), keyless("z", 3, 950, 3)}, // and a replay from before it: collapses
		}
	})
	if want := "y 2|z 3|z 3|z 3"; got != want {
		t.Fatalf("rows (the view) %q, want %q", got, want)
	}
}
