//go:build integration

package clickhouse

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// capSource is what the keyless snapshot tests need of a capture source.
type capSource interface {
	Next(ctx context.Context) (capture.Event, error)
	Close() error
}

// snapshotRecords reads src until it has n snapshot reads of table (n < 0: until the snapshot
// is done) and returns the records of every change read, and the offset of the last change.
func snapshotRecords(ctx context.Context, t *testing.T, src capSource, enc *envelope.Encoder, table string, n int) (recs []envelope.Record, offset []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	reads := 0
	for n < 0 || reads < n {
		ev, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if ev.Kind == capture.SnapshotDone {
			break
		}
		if ev.Kind != capture.Change || ev.Table == nil || ev.Table.ID.Table != table {
			continue
		}
		out, err := enc.Encode(nil, &ev)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		for _, o := range out {
			r := envelope.Record{Topic: o.Topic, Key: append([]byte(nil), o.Key...), Value: append([]byte(nil), o.Value...)}
			for _, h := range o.Headers {
				r.Headers = append(r.Headers, envelope.Header{Key: h.Key, Value: append([]byte(nil), h.Value...)})
			}
			recs = append(recs, r)
		}
		if ev.Op == capture.OpRead {
			reads++
		}
		offset = ev.Position.AppendOffset(nil)
	}
	return recs, offset
}

// keylessSnapshotResumed runs a snapshot of table ev (no key; 2,500 distinct rows 'u', then
// 250 rows 'z' twice) that stops after 1,700 rows and resumes from the offset of the last:
// open(nil) starts it, open(offset) resumes it. Each run sends its records to a sink of its
// own, as a restarted `sluice --sink clickhouse` does. The table must hold each row once and
// each twin twice.
func keylessSnapshotResumed(t *testing.T, open func(offset []byte) capSource) {
	addr := chAddr(t)
	cconn := chConn(t, addr)
	db := freshDB(t, cconn)
	ctx := context.Background()
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "klsnap", SchemasEnable: true, TombstonesOnDelete: true})
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
		if st := s.Stats(); st.Parked != 0 {
			t.Fatalf("%d records parked", st.Parked)
		}
	}
	src := open(nil)
	recs, offset := snapshotRecords(ctx, t, src, enc, "ev", 1700)
	src.Close()
	send(recs)
	src = open(offset)
	rest, _ := snapshotRecords(ctx, t, src, enc, "ev", -1)
	src.Close()
	send(rest)
	t.Logf("first run %d rows, resumed run %d rows", len(recs), len(rest))
	optimize(t, cconn, db, "ev")
	got := query(t, cconn, "SELECT concat(kind, ':', toString(count()), ':', toString(uniqExact(n))) FROM "+db+".ev GROUP BY kind ORDER BY kind")
	if g, want := strings.Join(got, "|"), "u:2500:2500|z:500:250"; g != want {
		t.Fatalf("ClickHouse rows (kind:rows:distinct n) %q, want %q", g, want)
	}
}

// TestPostgresKeylessSnapshotResumed: sluice stops in the middle of the initial snapshot of a
// PostgreSQL table without a primary key and resumes, which reads the table again from its
// start (ctid ranges, each at its window's LSN). Before, every row the first run delivered
// was stored twice (u:4200).
func TestPostgresKeylessSnapshotResumed(t *testing.T) {
	for i, env := range []string{"SLUICE_TEST_PG_DSN", "SLUICE_TEST_PG17_DSN"} {
		t.Run(env, func(t *testing.T) {
			name := fmt.Sprintf("sl_ch_klsnap%d", i)
			dsn, pg := pgDBOn(t, testkit.Server(t, env), name)
			pgExec(t, pg, "CREATE TABLE ev (kind text, n int)",
				"INSERT INTO ev SELECT 'u', g FROM generate_series(1, 2500) g",
				"INSERT INTO ev SELECT 'z', g FROM generate_series(1, 250) g",
				"INSERT INTO ev SELECT 'z', g FROM generate_series(1, 250) g")
			keylessSnapshotResumed(t, func(offset []byte) capSource {
				src, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn, Slot: name, Publication: name, SnapshotChunkRows: 100, Offset: offset})
				if err != nil {
					t.Fatal(err)
				}
				return src
			})
		})
	}
}

// TestMySQLKeylessSnapshotResumed: the same on MySQL 9 and MariaDB, whose resumed snapshot
// reads an unfinished keyless table again whole, at the resumed snapshot's positions.
func TestMySQLKeylessSnapshotResumed(t *testing.T) {
	for i, env := range []string{"SLUICE_TEST_MYSQL_DSN", "SLUICE_TEST_MARIADB_DSN"} {
		t.Run(env, func(t *testing.T) {
			dsn := testkit.Server(t, env)
			name := fmt.Sprintf("sl_ch_klsnap_my%d_%d", i, os.Getpid())
			my, err := sql.Open("mysql", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer my.Close()
			exec := func(qs ...string) {
				t.Helper()
				for _, q := range qs {
					if _, err := my.Exec(q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			}
			exec("DROP DATABASE IF EXISTS "+name, "CREATE DATABASE "+name,
				"CREATE TABLE "+name+".ev (kind VARCHAR(8), n INT)",
				"CREATE TABLE "+name+".sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))")
			t.Cleanup(func() {
				if !t.Failed() {
					my.Exec("DROP DATABASE IF EXISTS " + name)
				}
			})
			var vals []string
			for g := 1; g <= 2500; g++ {
				vals = append(vals, fmt.Sprintf("('u', %d)", g))
			}
			for range 2 {
				for g := 1; g <= 250; g++ {
					vals = append(vals, fmt.Sprintf("('z', %d)", g))
				}
			}
			exec("INSERT INTO " + name + ".ev VALUES " + strings.Join(vals, ","))
			hist := filepath.Join(t.TempDir(), "history.jsonl")
			keylessSnapshotResumed(t, func(offset []byte) capSource {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				src, err := mysql.New(ctx, mysql.Config{DSN: dsn, ServerID: uint32(5000 + os.Getpid()%10000 + i), Name: "klsnap",
					DatabaseInclude: []string{name}, SnapshotChunkRows: 100, SignalDataCollection: name + ".sig",
					History: history.NewFile(hist, nil), Offset: offset})
				if err != nil {
					t.Fatal(err)
				}
				return src
			})
		})
	}
}
