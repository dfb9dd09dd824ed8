//go:build integration

package mysqlcmd

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestMySQLKafkaSignalChannelActsOnce: an execute-snapshot signal sent to the Kafka signal
// topic while the database is idle is acted on at once (not at the next heartbeat), reads
// table w incrementally while rows are updated, and the events' final state equals the table.
// A signal sent while sluice is down is acted on at its next start, and the one acted on before
// is not acted on again (where to read the topic is stored in the offset, signal_kafka_offset).
func TestMySQLKafkaSignalChannelActsOnce(t *testing.T) {
	for _, tc := range []struct{ name, env string }{{"mysql", "SLUICE_TEST_MYSQL_DSN"}, {"mariadb", "SLUICE_TEST_MARIADB_DSN"}} {
		t.Run(tc.name, func(t *testing.T) { mysqlKafkaSignalActsOnce(t, tc.name, testkit.Server(t, tc.env)) })
	}
}

func mysqlKafkaSignalActsOnce(t *testing.T, flavor, dsn string) {
	const n = 3000
	db, err := sql.Open("mysql", dsn+"?multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dbName := fmt.Sprintf("sl_kafkasig_%s_%d", flavor, os.Getpid())
	var vals []string
	for i := 1; i <= n; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 0)", i))
	}
	for _, q := range []string{
		"DROP DATABASE IF EXISTS " + dbName, "CREATE DATABASE " + dbName,
		"CREATE TABLE " + dbName + ".w (id INT PRIMARY KEY, v INT NOT NULL)",
		"CREATE TABLE " + dbName + ".fence (id INT PRIMARY KEY)",
		"CREATE TABLE " + dbName + ".sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))",
		"INSERT INTO " + dbName + ".w VALUES " + strings.Join(vals, ","),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q[:min(len(q), 60)], err)
		}
	}
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + dbName) })

	sig := testkit.NewKafkaSignals(t, "sig")
	send := sig.Send
	out := &testkit.RecordLines{}
	addr := strings.TrimSuffix(strings.TrimPrefix(dsn, "root@tcp("), ")/")
	offsetsFile := filepath.Join(t.TempDir(), "o.json")
	args := []string{"--dsn", "mysql://root@" + addr, "--server-id", fmt.Sprint(8000 + os.Getpid()%1000 + len(flavor)), "--topic-prefix", "app",
		"--sink", "stdout", "--offsets-file", offsetsFile, "--schemas-enable=false", "--database-include", dbName,
		"--snapshot-mode", "no_data", "--snapshot-chunk-rows", "200", "--offsets-flush-interval", "100ms", "--log-level", "warn",
		"--signal-data-collection", dbName + ".sig",
		"--signal-enabled-channels", "source,kafka", "--signal-kafka-topic", "sig", "--signal-kafka-brokers", sig.Broker}
	fence := 0
	start := func() (stop func()) {
		t.Helper()
		// A process of its own (TestMySQLSignalRunHelper), records on its stdout: the
		// command sets process-wide loggers that other tests' lingering Kafka clients read.
		var stderr bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^TestMySQLSignalRunHelper$")
		cmd.Env = append(os.Environ(), signalHelperArgs+"="+strings.Join(args, "\n"))
		cmd.Stdout, cmd.Stderr = out, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		runErr := make(chan error, 1)
		go func() {
			err := cmd.Wait()
			if err != nil {
				err = fmt.Errorf("%v\n%s", err, stderr.Bytes())
			}
			runErr <- err
		}()
		// A fence row seen in the output: the source streams, and the channel (attached
		// before the pipeline runs) reads. One every 200 ms: a row inserted before the
		// source read its start position is not streamed.
		from := fence + 1
		streams := func() bool {
			for id := range out.State("fence") {
				if id >= int64(from) {
					return true
				}
			}
			return false
		}
		for deadline := time.Now().Add(30 * time.Second); !streams(); time.Sleep(200 * time.Millisecond) {
			select {
			case err := <-runErr:
				t.Fatalf("run: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("no fence row streamed after 30 s")
			}
			fence++
			if _, err := db.Exec(fmt.Sprintf("INSERT INTO %s.fence VALUES (%d)", dbName, fence)); err != nil {
				t.Fatal(err)
			}
		}
		return func() {
			cmd.Process.Signal(os.Interrupt)
			if err := <-runErr; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	}
	wait := func(what string, within time.Duration, ok func(map[int64]*testkit.RowState) bool) map[int64]*testkit.RowState {
		t.Helper()
		return out.Wait(t, "w", what, within, ok)
	}
	reads := testkit.Reads

	stop := start()
	time.Sleep(time.Second) // the database idle: the source waits in its binlog read
	// Another connector's signal on the same topic is not this one's.
	send("other", `{"type": "execute-snapshot", "data": {"data-collections": ["`+dbName+`.w"]}}`)
	send("app", `{"id": "zero", "type": "execute-snapshot", "data": {"data-collections": ["`+dbName+`\\.w"], "type": "incremental", "additional-conditions": [{"data-collection": "`+dbName+`.w", "filter": "id <= 50"}]}}`)
	// Heartbeats are 15 s apart: the rows read well before say the signal woke the source.
	wait("the Kafka signal's snapshot on an idle database", 8*time.Second, func(st map[int64]*testkit.RowState) bool { return reads(st) == 50 })

	upd := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // updates before, while and after the chunks are read
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-upd:
				return
			default:
			}
			db.Exec(fmt.Sprintf("UPDATE %s.w SET v = v + 1 WHERE id = ?", dbName), 1+(i*7919)%n)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	send("app", `{"id": "one", "type": "execute-snapshot", "data": {"data-collections": ["`+dbName+`\\.w"], "type": "incremental"}}`)
	wait("the first chunk of the second signal's snapshot", 30*time.Second, func(st map[int64]*testkit.RowState) bool { return reads(st) > 50 })
	time.Sleep(1500 * time.Millisecond)
	close(upd)
	wg.Wait()
	want := map[int64]float64{}
	rows, err := db.Query("SELECT id, v FROM " + dbName + ".w")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, v int64
		rows.Scan(&id, &v)
		want[id] = float64(v)
	}
	rows.Close()
	wait("every row in its last state", 60*time.Second, func(st map[int64]*testkit.RowState) bool {
		for id, v := range want {
			if st[id] == nil || st[id].V != v || st[id].Deleted {
				return false
			}
		}
		return true
	})
	// The snapshot ended: no more reads (a chunk row the stream changed in its window is
	// dropped, so fewer than n may come).
	last := -1
	st := wait("the end of the snapshot", 30*time.Second, func(st map[int64]*testkit.RowState) bool {
		r := reads(st)
		done := r == last
		last = r
		if !done {
			time.Sleep(time.Second)
		}
		return done
	})
	first := reads(st)
	t.Logf("signal one: %d rows read of %d under updates (chunk rows the stream changed in their window dropped)", first-50, n)
	if first-50 > n || first-50 < n/2 {
		t.Errorf("%d reads for %d rows after one signal", first-50, n)
	}
	time.Sleep(300 * time.Millisecond) // the offsets flush (100 ms)
	stop()

	// Sent while sluice is down: acted on at the next start, and "one" not again.
	send("app", `{"id": "two", "type": "execute-snapshot", "data": {"data-collections": ["`+dbName+`.w"], "additional-conditions": [{"data-collection": "`+dbName+`.w", "filter": "id <= 100"}]}}`)
	stop = start()
	defer stop()
	wait("the signal sent while down", 30*time.Second, func(st map[int64]*testkit.RowState) bool { return reads(st) >= first+100 })
	time.Sleep(2 * time.Second) // a repeated "one" would read 3000 more
	if got := reads(out.State("w")); got != first+100 {
		t.Errorf("%d reads after the restart, want 100: the signal acted on before the restart was acted on again", got-first)
	}
	if b, err := os.ReadFile(offsetsFile); err != nil || !bytes.Contains(b, []byte(`signal_kafka_offset`)) {
		t.Errorf("stored offset %s (%v): no signal_kafka_offset", b, err)
	}
}

const signalHelperArgs = "SLUICE_TEST_MYSQL_SIGNAL_ARGS"

// TestMySQLSignalRunHelper runs the mysql command for TestMySQLKafkaSignalChannelActsOnce
// until interrupted; without its environment it does nothing.
func TestMySQLSignalRunHelper(t *testing.T) {
	a := os.Getenv(signalHelperArgs)
	if a == "" {
		t.Skip("runs only as a child of another test")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, "sluice mysql", strings.Split(a, "\n"), sinks); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
}
