//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// pgServers returns the PostgreSQL DSNs under test (skipping the missing ones).
func pgServers(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i, d := range testkit.Servers(t, "SLUICE_TEST_PG_DSN", "SLUICE_TEST_PG17_DSN") {
		if d != "" {
			out[[]string{"pg15", "pg17"}[i]] = d
		}
	}
	return out
}

// buildSluice builds the binary once per test run.
func buildSluice(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sluice")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/sluice")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

type pgRecord struct {
	Topic string `json:"topic"`
	Value *struct {
		Op     string         `json:"op"`
		After  map[string]any `json:"after"`
		Source struct {
			TxID int64  `json:"txId"`
			LSN  uint64 `json:"lsn"`
		} `json:"source"`
	} `json:"value"`
}

func readRecords(t *testing.T, path string) []pgRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pgRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r pgRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			break // a line cut by SIGKILL
		}
		if r.Value != nil && r.Value.Op != "" {
			out = append(out, r)
		}
	}
	return out
}

// TestPostgresKill9 runs the sluice binary (stdout sink, file offsets), kills it with SIGKILL in
// the middle of a large transaction, restarts it, and checks: the restart resumes exactly after
// the stored offset (nothing before it inside the transaction is emitted again, nothing after
// it is lost) and the slot was never confirmed past the stored offset.
func TestPostgresKill9(t *testing.T) {
	servers := pgServers(t)
	bin := buildSluice(t)
	for name, dsn := range servers {
		t.Run(name, func(t *testing.T) { kill9(t, bin, dsn) })
	}
}

func kill9(t *testing.T, bin, dsn string) {
	ctx := context.Background()
	db := fmt.Sprintf("sl_kill9_%d", os.Getpid())
	dbDSN, conn := testkit.FreshPGDatabase(t, dsn, db)
	if _, err := conn.Exec(ctx, "CREATE TABLE k (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	offsets := filepath.Join(dir, "offsets.json")
	run := func(out string) *exec.Cmd {
		cmd := exec.Command(bin, "postgres", "--dsn", dbDSN, "--slot", db, "--topic-prefix", "srv",
			"--schemas-enable=false", "--offsets-file", offsets, "--offsets-flush-interval", "50ms", "--status-interval", "50ms", "--log-format", "text")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = f
		logf, _ := os.Create(out + ".log")
		cmd.Stderr = logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// Wait by size: counting lines of a growing file is too slow to catch the process mid-way.
	wait := func(path string, size int64) {
		for i := 0; i < 60000; i++ {
			if fi, err := os.Stat(path); err == nil && fi.Size() >= size {
				return
			}
			time.Sleep(time.Millisecond)
		}
		log, _ := os.ReadFile(path + ".log")
		t.Fatalf("%s: timed out waiting for %d bytes\n%s", path, size, log)
	}
	out1, out2 := filepath.Join(dir, "run1.jsonl"), filepath.Join(dir, "run2.jsonl")
	cmd := run(out1)
	for i := 0; i < 600; i++ {
		var active bool
		conn.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", db).Scan(&active)
		if active {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Write only once the snapshot's completion is saved, so that the kill lands in the stream
	// (on a fast machine the first streamed records can otherwise beat the first offset save,
	// and the restart then redoes the unfinished snapshot, as Debezium does).
	for i := 0; i < 600; i++ {
		if b, err := os.ReadFile(offsets); err == nil && bytes.Contains(b, []byte(`"snapshot_completed":true`)) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	const txns, per = 3, 50000
	for i := 0; i < txns; i++ {
		if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO k SELECT g, 'v' FROM generate_series(%d, %d) g", i*per+1, (i+1)*per)); err != nil {
			t.Fatal(err)
		}
	}
	wait(out1, (per+per/2)*300) // records are about 330 bytes
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	stored, err := os.ReadFile(offsets)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Value struct {
			LSN       uint64 `json:"lsn"`
			CommitLSN uint64 `json:"lsn_commit"`
			TxID      int64  `json:"txId"`
			Type      string `json:"messageType"`
			Events    int    `json:"lsn_events_processed"`
		} `json:"value"`
	}
	if err := json.Unmarshal(stored, &doc); err != nil {
		t.Fatalf("offsets %s: %v", stored, err)
	}
	off := doc.Value
	var confirmed string
	conn.QueryRow(ctx, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", db).Scan(&confirmed)
	if c := lsnOf(t, confirmed); c > off.CommitLSN {
		t.Errorf("slot confirmed to %s, beyond the stored commit LSN %d", confirmed, off.CommitLSN)
	}
	rec1 := readRecords(t, out1)
	t.Logf("killed after %d records; stored offset %s; slot confirmed %s", len(rec1), stored, confirmed)
	if off.Type != "INSERT" {
		t.Logf("note: stored offset is a %s, not inside a transaction", off.Type)
	}
	// Position of the stored event in run 1.
	idx := -1
	for i, r := range rec1 {
		if r.Value.Source.LSN == off.LSN && r.Value.Source.TxID == off.TxID {
			idx = i
		}
	}
	switch {
	case idx < 0 && off.Type == "COMMIT":
		// Killed between transactions: the stored offset is a commit, so every record of that
		// transaction and of the earlier ones is delivered (xids of these inserts increase).
		for i, r := range rec1 {
			if r.Value.Source.TxID <= off.TxID {
				idx = i
			}
		}
	case idx < 0 && off.Type == "HEARTBEAT":
		// An idle position (a server keepalive between transactions): everything before it
		// is delivered.
		for i, r := range rec1 {
			if r.Value.Source.LSN <= off.LSN {
				idx = i
			}
		}
	}
	cmd = run(out2)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	// Run 2 must deliver every row after the stored one.
	var rec2 []pgRecord
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); {
		rec2 = readRecords(t, out2)
		seen := map[float64]bool{}
		for _, r := range rec1[:idx+1] {
			seen[r.Value.After["id"].(float64)] = true
		}
		for _, r := range rec2 {
			seen[r.Value.After["id"].(float64)] = true
		}
		if len(seen) == txns*per {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if idx < 0 && off.Type == "INSERT" {
		t.Fatalf("stored event lsn %d tx %d not among run 1's records", off.LSN, off.TxID)
	}
	if len(rec2) == 0 && idx+1 < txns*per {
		t.Fatal("run 2 delivered nothing")
	}
	// Exactly after the stored event: run 2's first record is run 1's next one.
	if idx >= 0 && idx+1 < len(rec1) {
		a, b := rec1[idx+1], rec2[0]
		if a.Value.Source.LSN != b.Value.Source.LSN || a.Value.After["id"] != b.Value.After["id"] {
			t.Errorf("run 2 starts at id %v lsn %d, want id %v lsn %d", b.Value.After["id"], b.Value.Source.LSN, a.Value.After["id"], a.Value.Source.LSN)
		}
	}
	all := map[float64]int{}
	for _, r := range rec1[:idx+1] {
		all[r.Value.After["id"].(float64)]++
	}
	for _, r := range rec2 {
		all[r.Value.After["id"].(float64)]++
	}
	for id, n := range all {
		if n != 1 {
			t.Errorf("id %v delivered %d times", id, n)
		}
	}
	if len(all) != txns*per {
		t.Errorf("%d distinct ids, want %d", len(all), txns*per)
	}
}

func lsnOf(t *testing.T, s string) uint64 {
	var hi, lo uint64
	if _, err := fmt.Sscanf(s, "%X/%X", &hi, &lo); err != nil {
		t.Fatalf("lsn %q: %v", s, err)
	}
	return hi<<32 | lo
}

// TestPostgresSpecExample runs spec §12.3/§12.4 against real servers: the insert, the update
// and the delete of public.accounts, decoded by capture/postgres and encoded by envelope, give
// exactly the key and row JSON of the spec.
func TestPostgresSpecExample(t *testing.T) {
	for name, dsn := range pgServers(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			adm, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer adm.Close(ctx)
			db := fmt.Sprintf("sl_spec_%d", os.Getpid())
			adm.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			if _, err := adm.Exec(ctx, "CREATE DATABASE "+db); err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(dsn)
			u.Path = "/" + db
			src, err := postgres.Open(ctx, postgres.Config{DSN: u.String(), Slot: db, SnapshotMode: postgres.SnapshotNoData})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				src.Close()
				time.Sleep(200 * time.Millisecond)
				adm.Exec(ctx, "SELECT pg_drop_replication_slot($1)", db)
				adm.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			}()
			conn, err := pgx.Connect(ctx, u.String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, q := range []string{
				`CREATE TABLE public.accounts (id uuid PRIMARY KEY, balance numeric(12,2) NOT NULL, rate numeric,
  created_at timestamptz NOT NULL, profile jsonb, tags text[])`,
				`INSERT INTO accounts VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 19.99, 0.5,
  '2024-01-15 12:30:00+02', '{"vip":true}', '{a,b}')`,
				`UPDATE accounts SET balance = 20.00 WHERE id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`,
				`DELETE FROM accounts WHERE id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`,
			} {
				if _, err := conn.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "pgserver1", TombstonesOnDelete: true})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			for len(got) < 4 {
				ev, err := src.Next(cctx)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Kind != capture.Change {
					continue
				}
				recs, err := enc.Encode(nil, &ev)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recs {
					var v struct {
						Before, After json.RawMessage
						Op            string
					}
					if r.Value != nil {
						if err := json.Unmarshal(r.Value, &v); err != nil {
							t.Fatalf("%s: %v", r.Value, err)
						}
					}
					got = append(got, fmt.Sprintf("%s %s %s before=%s after=%s", r.Topic, r.Key, v.Op, v.Before, v.After))
				}
			}
			key := `{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}`
			row := func(balance string) string {
				return `{"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","balance":"` + balance + `","rate":{"scale":1,"value":"BQ=="},"created_at":"2024-01-15T10:30:00.000000Z","profile":"{\"vip\": true}","tags":["a","b"]}`
			}
			want := []string{
				"pgserver1.public.accounts " + key + " c before=null after=" + row("B88="),
				"pgserver1.public.accounts " + key + " u before=null after=" + row("B9A="),
				"pgserver1.public.accounts " + key + ` d before={"id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","balance":"AA==","rate":null,"created_at":"1970-01-01T00:00:00Z","profile":null,"tags":null} after=null`,
				"pgserver1.public.accounts " + key + "  before= after=", // the tombstone: Kafka-null value
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("record %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
		})
	}
}
