//go:build integration

package mysqlcmd

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestKafkaOffsetsResume: `sluice mysql --offsets-topic` without --schema-history stores the
// history in Kafka too, so a second start resumes from the stored offset. Before, the history
// was kept in memory and the second start stopped at once: "offset … exists but the schema
// history is empty".
func TestKafkaOffsetsResume(t *testing.T) {
	dsn := testkit.Server(t, "SLUICE_TEST_MARIADB_DSN")
	db, err := sql.Open("mysql", dsn+"?multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dbName := fmt.Sprintf("sl_kresume_%d", os.Getpid())
	if _, err := db.Exec("DROP DATABASE IF EXISTS " + dbName + "; CREATE DATABASE " + dbName + "; CREATE TABLE " + dbName + ".t (id INT PRIMARY KEY); INSERT INTO " + dbName + ".t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + dbName) })
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	addr := strings.TrimSuffix(strings.TrimPrefix(dsn, "root@tcp("), ")/")
	args := []string{"--dsn", "mysql://root@" + addr, "--server-id", fmt.Sprint(7000 + os.Getpid()%1000), "--topic-prefix", "kresume",
		"--database-include", dbName, "--sink", "kafka", "--kafka-brokers", brokers, "--offsets-topic", "kresume-offsets", "--offsets-topic-replication", "1",
		"--offsets-flush-interval", "50ms", "--log-level", "error"}
	// Each start is a process of its own (this test binary, running TestRunHelper), as in real
	// use: the command sets process-wide loggers that a second run in one process would race
	// with the first run's lingering sarama goroutines.
	runFor := func(d time.Duration) error {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRunHelper$")
		cmd.Env = append(os.Environ(), helperArgs+"="+strings.Join(args, "\n"), helperFor+"="+d.String())
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	}
	if err := runFor(5 * time.Second); err != nil {
		t.Fatalf("first start: %v", err)
	}
	ctx := context.Background()
	client := kafka.ClientConfig{Brokers: c.ListenAddrs()}
	store, err := offsets.NewKafka(ctx, offsets.KafkaConfig{Client: client, Topic: "kresume-offsets", Name: offsets.DefaultName, TopicPrefix: "kresume"})
	if err != nil {
		t.Fatal(err)
	}
	off, err := store.Load(ctx)
	store.Close()
	if err != nil || off == nil {
		t.Fatalf("no offset stored after the first start: %q, %v", off, err)
	}
	if err := runFor(3 * time.Second); err != nil {
		t.Fatalf("second start (offset %s): %v", off, err)
	}
	h, err := history.NewKafka(ctx, history.KafkaConfig{Client: client, Topic: "kresume.schema-history"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := h.Load(ctx)
	h.Close()
	if err != nil || len(recs) == 0 {
		t.Fatalf("schema history topic kresume.schema-history: %d records, %v", len(recs), err)
	}
}

const (
	helperArgs = "SLUICE_TEST_MYSQLCMD_ARGS"
	helperFor  = "SLUICE_TEST_MYSQLCMD_FOR"
)

// TestRunHelper runs the mysql command for a parent test (see TestKafkaOffsetsResume); without
// its environment it does nothing.
func TestRunHelper(t *testing.T) {
	a := os.Getenv(helperArgs)
	if a == "" {
		t.Skip("runs only as a child of another test")
	}
	d, err := time.ParseDuration(os.Getenv(helperFor))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := run(ctx, "sluice mysql", strings.Split(a, "\n"), sinks); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}
