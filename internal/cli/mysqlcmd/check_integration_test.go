//go:build integration

package mysqlcmd

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/testkit"
)

func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cli.Stdout = &out
	t.Cleanup(func() { cli.Stdout = os.Stdout })
	code := cli.RunMain(context.Background(), []cli.Command{Command(cli.StdoutSink, cli.KafkaSink)},
		append([]string{"mysql", "check"}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

func row(table, name string) string {
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, name+"  ") {
			return l
		}
	}
	return ""
}

// TestCheck: on each shared server, with a user and database of its own, `check` reports a
// missing grant, a statement-based binlog (a session setting: the server's own stays ROW) and
// a stored position whose binlog is gone, each with its fix; exit 1, then 0 once fixed.
func TestCheck(t *testing.T) {
	for _, env := range []string{"SLUICE_TEST_MYSQL_DSN", "SLUICE_TEST_MARIADB_DSN"} {
		t.Run(env, func(t *testing.T) { testCheck(t, env) })
	}
}

func testCheck(t *testing.T, env string) {
	dsn := testkit.Server(t, env)
	mc, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id := fmt.Sprintf("chk_%d_%04x", time.Now().Unix()%100000, rand.IntN(1<<16))
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE DATABASE " + id)
	exec("CREATE TABLE " + id + ".t (id int PRIMARY KEY)")
	exec("CREATE USER '" + id + "'@'%' IDENTIFIED BY 'Chk-pw-4e1'")
	exec("GRANT SELECT ON " + id + ".* TO '" + id + "'@'%'") // on the captured database only, as Debezium accepts
	t.Cleanup(func() {
		db.Exec("DROP DATABASE " + id)
		db.Exec("DROP USER '" + id + "'@'%'")
	})
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("Chk-pw-4e1\n"), 0o600)
	offsetsFile := filepath.Join(dir, "offsets.json")
	// A stored position in a binlog file the server never had (as if purged long ago).
	p := &mysql.Position{File: "gone-bin.000001", Pos: 4}
	if err := offsets.NewFile(offsetsFile, "sluice", "p").Save(context.Background(), p.AppendOffset(nil)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(offsetsFile+".history", nil, 0o600)
	url := "mysql://" + id + "@" + mc.Addr
	args := []string{"--password-file", pw, "--server-id", fmt.Sprint(100000 + rand.IntN(1<<30)), "--topic-prefix", "p",
		"--database-include", id}

	code, table := runCheck(t, append([]string{"--dsn", url}, args...)...)
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, table)
	}
	for name, want := range map[string]string{
		"connect":         "ok",
		"grants":          "GRANT REPLICATION SLAVE",
		"captured tables": "1 tables",
		"offsets store":   "memory",
	} {
		if r := row(table, name); !strings.Contains(r, want) {
			t.Errorf("%s: %q lacks %q\n%s", name, r, want, table)
		}
	}
	if strings.Contains(table, "Chk-pw-4e1") {
		t.Error("the table shows the password")
	}
	// Statement-based logging, as a session setting of root's (the server's own stays ROW;
	// the restricted user may not set it), and a stored position whose binlog is gone.
	rootURL := "mysql://" + mc.User + "@" + mc.Addr + "/?binlog_format=STATEMENT"
	code, table = runCheck(t, "--dsn", rootURL, "--server-id", fmt.Sprint(100000+rand.IntN(1<<30)), "--topic-prefix", "p",
		"--database-include", id, "--offsets-file", offsetsFile)
	for name, want := range map[string]string{
		"binlog_format":   "SET GLOBAL binlog_format='ROW'",
		"stored position": "binlog gone-bin.000001 of the stored position was purged",
		"schema history":  "exists",
	} {
		if r := row(table, name); code != 1 || !strings.Contains(r, want) {
			t.Errorf("%s: exit %d, %q lacks %q\n%s", name, code, r, want, table)
		}
	}

	// Fixed: the grants, the server's binlog format, no stale position.
	exec("GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '" + id + "'@'%'")
	if code, table := runCheck(t, append([]string{"--dsn", url}, args...)...); code != 0 {
		t.Errorf("after the fixes: exit %d\n%s", code, table)
	}
}
