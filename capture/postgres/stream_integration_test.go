//go:build integration

package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestSnapshotMeetsStream writes rows while the snapshot is being read: every row appears once,
// either in the snapshot or in the stream.
func TestSnapshotMeetsStream(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE a (id int PRIMARY KEY, v text)", "CREATE TABLE b (id bigint PRIMARY KEY, v text)", "CREATE TABLE c (v text)",
			"INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 5000) g",
			"INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 30000) g",
			"INSERT INTO c VALUES ('c1'), ('c2')", "ANALYZE")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotWorkers = 3
		cfg.SnapshotChunkRows = 1000
		s := db.open(cfg)
		// The snapshot is fixed; these changes must come from the stream only.
		db.exec("INSERT INTO a SELECT g, 'new' FROM generate_series(5001, 5100) g",
			"UPDATE a SET v = 'changed' WHERE id = 1", "DELETE FROM b WHERE id = 30000",
			"INSERT INTO c VALUES ('c3')")
		evs := collect(t, s, 5000+30000+2+100+1+1+1)
		seen := map[string]int{}
		var snapRows, streamRows int
		var kinds []string
		snapDone := false
		for i, e := range evs {
			switch e.Kind {
			case capture.SnapshotDone:
				snapDone = true
				kinds = append(kinds, "done")
				continue
			case capture.Begin, capture.Commit, capture.Keepalive:
				// A Keepalive (an idle position: a server keepalive between transactions, the
				// slot heartbeat) has no table.
				continue
			}
			key := e.Table.ID.Table + ":"
			row := e.After
			if row == nil {
				row = e.Before
			}
			if e.Table.ID.Table == "c" {
				key += string(row[0].Bytes)
			} else {
				key += fmt.Sprint(row[0].Int)
			}
			if e.Op == capture.OpRead {
				if snapDone {
					t.Fatalf("snapshot row after SnapshotDone at %d", i)
				}
				snapRows++
				seen[key]++
				if key == "a:1" && string(row[1].Bytes) != "a1" {
					t.Errorf("snapshot saw the later update of a:1: %s", row[1].Bytes)
				}
				if e.Source.Snapshot != capture.SnapshotTrue {
					kinds = append(kinds, e.Source.Snapshot.String()+"@"+e.Table.ID.Table)
				}
			} else {
				streamRows++
				if !snapDone {
					t.Fatalf("stream row before SnapshotDone at %d", i)
				}
				if e.Op == capture.OpCreate {
					seen[key]++
				}
			}
		}
		if snapRows != 35002 || streamRows != 103 {
			t.Errorf("snapshot rows %d (want 35002), stream rows %d (want 103)", snapRows, streamRows)
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("%s seen %d times", k, n)
			}
		}
		if len(seen) != 35002+101 {
			t.Errorf("%d distinct rows, want %d", len(seen), 35002+101)
		}
		want := "first@a last_in_data_collection@a first_in_data_collection@b last_in_data_collection@b first_in_data_collection@c last@c done"
		if got := strings.Join(kinds, " "); got != want {
			t.Errorf("markers:\n got %s\nwant %s", got, want)
		}
	})
}

// TestReplicaIdentity checks before images under DEFAULT and FULL, and unchanged TOAST.
func TestReplicaIdentity(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE d (id int PRIMARY KEY, n int NOT NULL, big text)",
			"CREATE TABLE f (id int PRIMARY KEY, n int NOT NULL, big text)", "ALTER TABLE f REPLICA IDENTITY FULL")
		s := db.open(db.config())
		// A TOASTed value: 100 kB of incompressible text.
		big := "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3200) g)"
		db.exec("INSERT INTO d VALUES (1, 1, "+big+")", "INSERT INTO f VALUES (1, 1, "+big+")",
			"UPDATE d SET n = 2 WHERE id = 1", "UPDATE f SET n = 2 WHERE id = 1",
			"UPDATE d SET id = 10 WHERE id = 1",
			"DELETE FROM d WHERE id = 10", "DELETE FROM f WHERE id = 1")
		evs := changesOnly(collect(t, s, 7))
		bigLen := 3200 * 32
		// DEFAULT update: no before; big unchanged → Unavailable.
		u := evs[2]
		if u.Op != capture.OpUpdate || u.Before != nil || u.After[1].Int != 2 || u.After[2].Kind != capture.Unavailable {
			t.Errorf("DEFAULT update: before %v after n=%s big=%s", u.Before, show(u.After[1]), show(u.After[2]))
		}
		// FULL update: whole before; big carried.
		u = evs[3]
		if u.Before == nil || u.Before[1].Int != 1 || len(u.Before[2].Bytes) != bigLen || len(u.After[2].Bytes) != bigLen {
			t.Errorf("FULL update: before %v", u.Before)
		}
		// DEFAULT key change: before has the old key only.
		u = evs[4]
		if u.Before == nil || u.Before[0].Int != 1 || !u.Before[1].IsNull() || !u.Before[2].IsNull() || u.After[0].Int != 10 {
			t.Errorf("DEFAULT key update: before %v", u.Before)
		}
		// DEFAULT delete: key only.
		d := evs[5]
		if d.Op != capture.OpDelete || d.Before[0].Int != 10 || !d.Before[1].IsNull() || d.After != nil {
			t.Errorf("DEFAULT delete: before %v", d.Before)
		}
		d = evs[6]
		if d.Before[0].Int != 1 || d.Before[1].Int != 2 || len(d.Before[2].Bytes) != bigLen {
			t.Errorf("FULL delete: before n=%s", show(d.Before[1]))
		}
	})
}

// TestSchemaChange adds and drops columns mid-stream; each event carries the version in force.
func TestSchemaChange(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE s (id int PRIMARY KEY, a text, b int)")
		s := db.open(db.config())
		db.exec("INSERT INTO s VALUES (1, 'x', 1)",
			"ALTER TABLE s ADD COLUMN c numeric(5,1) DEFAULT 2.5 NOT NULL",
			"INSERT INTO s VALUES (2, 'y', 2, 3.5)",
			"ALTER TABLE s DROP COLUMN b",
			"INSERT INTO s VALUES (3, 'z', 4.5)",
			"ALTER TABLE s ALTER COLUMN a TYPE varchar(20)",
			"UPDATE s SET a = 'w' WHERE id = 3")
		evs := changesOnly(collect(t, s, 4))
		names := func(e capture.Event) string {
			var n []string
			for _, c := range e.Table.Columns {
				n = append(n, c.Name+":"+c.Type)
			}
			return fmt.Sprintf("v%d %s", e.Table.Version, strings.Join(n, ","))
		}
		want := []string{"v1 id:int4,a:text,b:int4", "v2 id:int4,a:text,b:int4,c:numeric", "v3 id:int4,a:text,c:numeric", "v4 id:int4,a:varchar,c:numeric"}
		for i, e := range evs {
			if got := names(e); got != want[i] {
				t.Errorf("event %d: %s, want %s", i, got, want[i])
			}
		}
		if c := evs[1].Table.Columns[3]; !c.HasDefault || c.Default != "2.5" || c.Nullable {
			t.Errorf("added column: %+v", c)
		}
		if v := evs[2].After[2]; show(v) != show(capture.DecimalValue(45, 1)) {
			t.Errorf("after drop: c = %s", show(v))
		}
	})
}

// TestTruncateAndMessage checks op t (when not skipped) and logical decoding messages (op m).
func TestTruncateAndMessage(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE t1 (id int PRIMARY KEY)", "CREATE TABLE t2 (id int PRIMARY KEY)")
		cfg := db.config()
		cfg.SkippedOperations = "none"
		s := db.open(cfg)
		db.exec("INSERT INTO t1 VALUES (1)", "TRUNCATE t1, t2",
			"SELECT pg_logical_emit_message(true, 'pfx', 'hello')",
			"SELECT pg_logical_emit_message(false, 'nt', '\\x00ff'::bytea)")
		evs := changesOnly(collect(t, s, 5))
		got := ""
		for _, e := range evs {
			got += string(e.Op)
			if e.Op == capture.OpTruncate {
				got += e.Table.ID.Table
			}
			if e.Op == capture.OpMessage {
				got += fmt.Sprintf("(%s,%v,%q)", e.Message.Prefix, e.Message.Transactional, e.Message.Content)
			}
			got += " "
		}
		if want := `c tt1 tt2 m(pfx,true,"hello") m(nt,false,"\x00\xff") `; got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
	})
}

// TestSourceBlock checks the PostgreSQL source fields and transaction ids.
func TestSourceBlock(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE x (id int PRIMARY KEY)")
		s := db.open(db.config())
		db.exec("BEGIN", "INSERT INTO x VALUES (1)", "INSERT INTO x VALUES (2)", "COMMIT")
		// Keepalives (idle positions: a server keepalive before the transaction) are not part
		// of it.
		var evs []capture.Event
		for _, e := range collect(t, s, 2) {
			if e.Kind != capture.Keepalive {
				evs = append(evs, e)
			}
		}
		var xid int64
		if err := db.conn.QueryRow(context.Background(), "SELECT xmin::text::bigint FROM x WHERE id = 1").Scan(&xid); err != nil {
			t.Fatal(err)
		}
		for len(evs) < 4 || evs[len(evs)-1].Kind != capture.Commit {
			if e := nextEvent(t, s); e.Kind != capture.Keepalive {
				evs = append(evs, e)
			}
		}
		kinds := ""
		for _, e := range evs {
			kinds += fmt.Sprint(e.Kind)
			if e.Source.TxID != xid || !e.Source.HasTxID {
				t.Errorf("event kind %d txId %d, want %d", e.Kind, e.Source.TxID, xid)
			}
			if !strings.HasPrefix(e.TxID, fmt.Sprint(xid)+":") {
				t.Errorf("TxID %q", e.TxID)
			}
		}
		if kinds != "1002" {
			t.Errorf("kinds %s, want Begin Change Change Commit", kinds)
		}
		c := evs[1]
		if c.Source.Connector != "postgresql" || c.Source.DB != db.name || c.Source.Schema != "public" || c.Source.Table != "x" ||
			!c.Source.HasLSN || c.Source.LSN == 0 || c.Source.TsMicros < time.Now().Add(-time.Minute).UnixMicro() {
			t.Errorf("source %+v", c.Source)
		}
		if evs[2].Source.LSN <= evs[1].Source.LSN || evs[3].Source.LSN <= evs[2].Source.LSN {
			t.Errorf("LSNs not increasing: %d %d %d", evs[1].Source.LSN, evs[2].Source.LSN, evs[3].Source.LSN)
		}
	})
}

func nextEvent(t *testing.T, s *Source) capture.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ev, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Position != nil {
		s.Ack(ctx, ev.Position)
	}
	return ev
}

// TestHeartbeat: idle captured tables still confirm the slot, and the action query runs.
func TestHeartbeat(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE x (id int PRIMARY KEY)", "CREATE TABLE hb (id int PRIMARY KEY, ts timestamptz)")
		cfg := db.config()
		cfg.TableInclude = []string{"public.x"}
		cfg.HeartbeatInterval = 100 * time.Millisecond
		cfg.HeartbeatActionQuery = "INSERT INTO hb VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET ts = now()"
		s := db.open(cfg)
		var start string
		db.conn.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()::text").Scan(&start)
		var beats int
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for beats < 20 {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == capture.Change {
				t.Fatalf("change of an excluded table: %+v", ev.Table.ID)
			}
			if ev.Kind == capture.Keepalive {
				beats++
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
		}
		var ok bool
		for i := 0; i < 50 && !ok; i++ {
			time.Sleep(100 * time.Millisecond)
			db.conn.QueryRow(context.Background(), "SELECT confirmed_flush_lsn > $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2", start, db.name).Scan(&ok)
		}
		if !ok {
			t.Errorf("slot not confirmed past %s while idle", start)
		}
	})
}

// TestPreflight checks the fail-fast messages carry the fix.
func TestPreflight(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		db.exec("CREATE TABLE p (id int PRIMARY KEY)", "CREATE TABLE nokey (v int)")
		for _, q := range []string{
			"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sl_norepl') THEN CREATE ROLE sl_norepl LOGIN PASSWORD 'pw'; END IF; END $$",
			"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sl_nosel') THEN CREATE ROLE sl_nosel LOGIN REPLICATION PASSWORD 'pw'; END IF; END $$",
		} {
			if _, err := db.adm.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		as := func(user string) Config {
			cfg := db.config()
			u, _ := url.Parse(db.dsn)
			u.User = url.UserPassword(user, "pw")
			cfg.DSN = u.String()
			return cfg
		}
		expect := func(cfg Config, want string) {
			t.Helper()
			s, err := Open(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatalf("no error, want %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		expect(as("sl_norepl"), `ALTER ROLE "sl_norepl" WITH REPLICATION`)
		cfg := as("sl_nosel")
		cfg.SnapshotMode = SnapshotInitial
		expect(cfg, `GRANT SELECT ON "public"."nokey", "public"."p" TO "sl_nosel"`)
		if _, err := db.conn.Exec(ctx, "SELECT pg_create_logical_replication_slot($1, 'test_decoding')", db.name); err != nil {
			t.Fatal(err)
		}
		expect(db.config(), "uses plugin test_decoding, not pgoutput")
		if _, err := db.conn.Exec(ctx, "SELECT pg_drop_replication_slot($1)", db.name); err != nil {
			t.Fatal(err)
		}
		cfg = db.config()
		cfg.PublicationMode = PublicationDisabled
		cfg.Publication = "missing"
		expect(cfg, `CREATE PUBLICATION "missing" FOR ALL TABLES`)
	})
}

// TestReplicaIdentityIndex: USING INDEX gives the index columns as before. (With a primary
// key outside the index the table is refused: TestReplicaIdentityIndexWithoutPrimaryKey.)
func TestReplicaIdentityIndex(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE ix (id int, code text NOT NULL, n int)", "CREATE UNIQUE INDEX ix_code ON ix (code)",
			"ALTER TABLE ix REPLICA IDENTITY USING INDEX ix_code")
		s := db.open(db.config())
		db.exec("INSERT INTO ix VALUES (1, 'a', 1)", "UPDATE ix SET code = 'b' WHERE id = 1", "DELETE FROM ix WHERE id = 1")
		evs := changesOnly(collect(t, s, 3))
		if b := evs[1].Before; b == nil || !b[0].IsNull() || string(b[1].Bytes) != "a" || !b[2].IsNull() {
			t.Errorf("update before %v", b)
		}
		if b := evs[2].Before; b == nil || !b[0].IsNull() || string(b[1].Bytes) != "b" {
			t.Errorf("delete before %v", b)
		}
	})
}

// TestPreflightWarnsUncapturedKeyless: a publication FOR ALL TABLES (the default) publishes the
// tables outside the include list too, and PostgreSQL then rejects the application's UPDATE
// and DELETE on those without a key; sluice says so, naming them and the fix.
func TestPreflightWarnsUncapturedKeyless(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE audit_cap (id int PRIMARY KEY)", "CREATE TABLE audit_nokey (v int)")
		var logs testkit.SyncBuffer
		cfg := db.config()
		cfg.Publication = db.name + "_all"
		cfg.TableInclude = []string{`public\.audit_cap`}
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		db.open(cfg)
		out := logs.String()
		for _, want := range []string{"audit_nokey", "--publication-mode filtered", "FOR ALL TABLES"} {
			if !strings.Contains(out, want) {
				t.Errorf("log does not say %q:\n%s", want, out)
			}
		}
	})
}

// TestFilteredPublicationAddsNewTables: in the filtered publication mode, a table that matches
// the include list but was created after the publication is added at the next start, with a
// warning; before, its changes were never published and it was left out without a word.
func TestFilteredPublicationAddsNewTables(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE flt_a (id int PRIMARY KEY)")
		var logs testkit.SyncBuffer
		cfg := db.config()
		cfg.Publication = db.name + "_flt"
		cfg.PublicationMode = PublicationFiltered
		cfg.TableInclude = []string{`public\.flt_.*`}
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		s := db.open(cfg)
		s.Close()
		db.exec("CREATE TABLE flt_b (id int PRIMARY KEY)")
		s = db.open(cfg)
		if out := logs.String(); !strings.Contains(out, "missing from the publication") || !strings.Contains(out, "flt_b") {
			t.Errorf("no warning naming flt_b:\n%s", out)
		}
		db.exec("INSERT INTO flt_b VALUES (7)")
		ev := changesOnly(collect(t, s, 1))[0]
		if ev.Table.ID.Table != "flt_b" {
			t.Fatalf("change of %s, want flt_b", ev.Table.ID)
		}
	})
}
