//go:build integration

package postgrescmd

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// runCheck runs `sluice postgres check` with args and returns its exit code and table.
func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cli.Stdout = &out
	t.Cleanup(func() { cli.Stdout = os.Stdout })
	code := cli.RunMain(context.Background(), []cli.Command{Command(cli.StdoutSink, cli.KafkaSink)},
		append([]string{"postgres", "check"}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

// row is the line of the check table named name.
func row(table, name string) string {
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, name+"  ") {
			return l
		}
	}
	return ""
}

// TestCheckShared: on the shared server, with a role of its own, `check` finds a role without
// REPLICATION, a table it cannot SELECT and a missing publication it may not create, prints
// each with its fix, exits 1, and creates nothing (no slot, no publication).
func TestCheckShared(t *testing.T) {
	dsn := testkit.Server(t, "SLUICE_TEST_PG_DSN")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	id := fmt.Sprintf("chk_%d_%04x", time.Now().Unix()%100000, rand.IntN(1<<16))
	for _, q := range []string{
		"CREATE ROLE " + id + " LOGIN PASSWORD 'Chk-pw-9f2'",
		"CREATE SCHEMA " + id,
		"CREATE TABLE " + id + ".t (id int PRIMARY KEY)",
		"CREATE TABLE " + id + ".nokey (v int)",
		"GRANT USAGE ON SCHEMA " + id + " TO " + id,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		conn.Exec(ctx, "DROP SCHEMA "+id+" CASCADE")
		conn.Exec(ctx, "DROP ROLE "+id)
	})
	u, _ := url.Parse(dsn)
	u.User = url.User(id)
	pwFile := writeTemp(t, "Chk-pw-9f2\n")
	args := []string{"--dsn", u.String(), "--password-file", pwFile, "--topic-prefix", "p", "--slot", id, "--publication", id,
		"--schema-include", id}

	code, table := runCheck(t, args...)
	if code != 1 {
		t.Errorf("exit %d, want 1:\n%s", code, table)
	}
	for name, want := range map[string]string{
		"connect":                "ok",
		"role":                   `ALTER ROLE "` + id + `" WITH REPLICATION`,
		"replication connection": `ALTER ROLE "` + id + `" WITH REPLICATION`,
		"publication":            `CREATE PUBLICATION "` + id + `" FOR ALL TABLES; as a superuser`,
		"SELECT grant":           `GRANT SELECT ON "` + id + `"."nokey", "` + id + `"."t" TO "` + id + `"`,
		"replica identity":       "REPLICA IDENTITY FULL",
		"captured tables":        "2 tables",
	} {
		if r := row(table, name); !strings.Contains(r, want) {
			t.Errorf("%s: %q lacks %q\n%s", name, r, want, table)
		}
	}
	if strings.Contains(table, "Chk-pw-9f2") {
		t.Error("the table shows the password")
	}
	var slots, pubs int
	conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1), (SELECT count(*) FROM pg_publication WHERE pubname = $1)", id).Scan(&slots, &pubs)
	if slots != 0 || pubs != 0 {
		t.Errorf("check created %d slots and %d publications", slots, pubs)
	}

	// With the grants a run needs (and the publication created by the DBA for every table
	// --schema-include captures: one that missed nokey fails the check), it passes.
	for _, q := range []string{"ALTER ROLE " + id + " WITH REPLICATION", "GRANT SELECT ON ALL TABLES IN SCHEMA " + id + " TO " + id,
		"CREATE PUBLICATION " + id + " FOR TABLE " + id + ".t, " + id + ".nokey"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { conn.Exec(ctx, "DROP PUBLICATION IF EXISTS "+id) })
	if code, table := runCheck(t, args...); code != 0 || !strings.Contains(table, "all checks passed") {
		t.Errorf("after the fixes: exit %d\n%s", code, table)
	}

	// A wrong password under the default sslmode=prefer (the shared server has no TLS): the
	// authentication error, not "tls error: server refused TLS connection".
	bad := writeTemp(t, "wrong\n")
	u.RawQuery = ""
	code, table = runCheck(t, "--dsn", u.String(), "--password-file", bad, "--topic-prefix", "p", "--slot", id)
	if r := row(table, "connect"); code != 1 || !strings.Contains(r, "password authentication failed") || strings.Contains(r, "tls") {
		t.Errorf("wrong password: exit %d, %q", code, r)
	}
}

// TestCheckWalLevel: a server with wal_level=replica fails the check with the ALTER SYSTEM
// fix (a private server: the shared ones must keep their settings).
func TestCheckWalLevel(t *testing.T) {
	pg := testkit.StartPG(t, testkit.PGOptions{Conf: "wal_level = replica\n"})
	code, table := runCheck(t, "--dsn", pg.DSN("", "postgres"), "--topic-prefix", "p")
	if r := row(table, "wal_level"); code != 1 || !strings.Contains(r, "FAIL") || !strings.Contains(r, "ALTER SYSTEM SET wal_level = logical") {
		t.Errorf("exit %d, wal_level row %q\n%s", code, r, table)
	}
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
	return f.Name()
}

// TestCheckReplicaIdentityIndexWithoutPrimaryKey: sluice check fails a captured table whose
// REPLICA IDENTITY USING INDEX leaves its primary key out (its deletes carry no key), with the
// ALTER TABLE that fixes it, as the start refuses it.
func TestCheckReplicaIdentityIndexWithoutPrimaryKey(t *testing.T) {
	dsn := testkit.Server(t, "SLUICE_TEST_PG_DSN")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	id := fmt.Sprintf("chkri_%d_%04x", time.Now().Unix()%100000, rand.IntN(1<<16))
	for _, q := range []string{
		"CREATE SCHEMA " + id,
		"CREATE TABLE " + id + ".t (id int PRIMARY KEY, code text NOT NULL)",
		"CREATE UNIQUE INDEX " + id + "_code ON " + id + ".t (code)",
		"ALTER TABLE " + id + ".t REPLICA IDENTITY USING INDEX " + id + "_code",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { conn.Exec(ctx, "DROP SCHEMA "+id+" CASCADE") })
	code, table := runCheck(t, "--dsn", dsn, "--topic-prefix", "p", "--slot", id, "--publication", id, "--schema-include", id)
	if r := row(table, "replica identity"); code != 1 || !strings.Contains(r, `ALTER TABLE "`+id+`"."t" REPLICA IDENTITY DEFAULT`) {
		t.Errorf("exit %d, replica identity row %q\n%s", code, r, table)
	}
}
