package verifycmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/cli"
)

// Bad command lines are usage errors (exit status 2), reported before anything connects.
func TestUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no dsn":             {"--clickhouse-addr", "127.0.0.1:1"},
		"unknown kind":       {"--dsn", "somewhere"},
		"bad source":         {"--dsn", "postgres://x@h/db", "--source", "oracle"},
		"bad regex":          {"--dsn", "postgres://x@h/db", "--table-include", "("},
		"topic needs prefix": {"--dsn", "postgres://x@h/db", "--clickhouse-table-name", "{topic}"},
		"negative recheck":   {"--dsn", "postgres://x@h/db", "--recheck-timeout", "-1s"},
		"argument":           {"--dsn", "postgres://x@h/db", "extra"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), "sluice verify", append(args, "--log-level", "error"), &out)
			if !cli.IsUsage(err) {
				t.Fatalf("want a usage error, got %v", err)
			}
			if code := cli.RunOnly(context.Background(), "sluice-verify", Command(), args, &out, &out); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
		})
	}
}

func TestKind(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u@h:5432/db":        "postgres",
		"postgresql://u@h/db":           "postgres",
		"host=h user=u dbname=d":        "postgres",
		"mysql://root@127.0.0.1:3306":   "mysql",
		"mariadb://root@127.0.0.1:3306": "mysql",
		"root@tcp(127.0.0.1:3306)/":     "mysql",
	} {
		c := Config{DSN: dsn}
		if got, err := c.kind(); got != want || err != nil {
			t.Errorf("%s: %s %v, want %s", dsn, got, err, want)
		}
	}
	if got := redact("postgres://u:secret@h/db"); got != "postgres://u:***@h/db" {
		t.Errorf("redact: %s", got)
	}
}

// Debezium property names in --config set the flags; flags win over the file.
func TestConfigFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "verify.properties")
	if err := os.WriteFile(f, []byte("debezium.source.table.include.list=public\\.orders,public\\.items\n"+
		"debezium.source.topic.prefix=dbserver1\nschema.include.list=public\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := parse("sluice verify", []string{"--config", f, "--dsn", "postgres://u@h/db", "--clickhouse-table-name", "{topic}",
		"--recheck-timeout", "10s", "--log-level", "error"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.TableInclude) != `[public.orders public.items]` /* \. is an escape in .properties */ || cfg.TopicPrefix != "dbserver1" ||
		fmt.Sprint(cfg.SchemaInclude) != "[public]" || cfg.Verify.RecheckTimeout != 10*time.Second || cfg.Verify.LeafRows != 2000 {
		t.Fatalf("config %+v", cfg)
	}
}
