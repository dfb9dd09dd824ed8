package checkcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/internal/cli"
)

// TestDispatch: `sluice check` runs the named command's check, or the one the --config file's
// connector.class names, with the arguments as given.
func TestDispatch(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	pgFile := write("pg.properties", "debezium.source.connector.class=io.debezium.connector.postgresql.PostgresConnector\n")
	mariaJSON := write("maria.json", `{"name": "x", "config": {"connector.class": "io.debezium.connector.mariadb.MariaDbConnector"}}`)
	oracle := write("oracle.properties", "connector.class=io.debezium.connector.oracle.OracleConnector\n")
	var ran string
	mk := func(name string) cli.Command {
		return cli.Command{Name: name, Run: func(context.Context, string, []string) error { return nil },
			Check: func(_ context.Context, prog string, args []string) error {
				ran = prog + " " + strings.Join(args, " ")
				return nil
			}}
	}
	cmds := []cli.Command{mk("postgres"), mk("mysql"), Command(mk("postgres"), mk("mysql"))}
	for _, c := range []struct {
		args []string
		code int
		ran  string
	}{
		{[]string{"check", "postgres", "--dsn", "x"}, 0, "sluice check postgres --dsn x"},
		{[]string{"check", "--config", pgFile}, 0, "sluice check postgres --config " + pgFile},
		{[]string{"check", "--config=" + mariaJSON}, 0, "sluice check mysql --config=" + mariaJSON},
		{[]string{"check", "--config", oracle}, 2, ""},
		{[]string{"check", "--dsn", "x"}, 2, ""},
		{[]string{"check", "oracle"}, 2, ""},
		{[]string{"postgres", "check", "--dsn", "x"}, 0, "sluice postgres check --dsn x"},
	} {
		ran = ""
		var out, errb bytes.Buffer
		if code := cli.RunMain(context.Background(), cmds, c.args, &out, &errb); code != c.code || ran != c.ran {
			t.Errorf("%v: exit %d, ran %q; want %d, %q (stderr %s)", c.args, code, ran, c.code, c.ran, errb.String())
		}
	}
}
