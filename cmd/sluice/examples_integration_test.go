//go:build integration

package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestMain lets the examples run this test binary as the sluice binary (SLUICE_EXAMPLE_MAIN=1),
// so they exercise the real command line, exit codes and output streams.
func TestMain(m *testing.M) {
	if os.Getenv("SLUICE_EXAMPLE_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// server is a test database the examples point their files at.
type server struct {
	host, port, user, password, dbname string
}

// example is one configuration file of Debezium's documentation under testdata/properties,
// run unchanged but for its addresses, credentials, names and paths (set reports the new
// value of a property, by its name, or "" to keep it).
type example struct {
	file string
	cmd  string // postgres or mysql
	env  string // the server's SLUICE_TEST_* variable
	// kafka: records go to Kafka (the file's Debezium Server Kafka sink); else stdout (a
	// Kafka Connect connector JSON names no sink).
	kafka bool
}

func TestDebeziumExamples(t *testing.T) {
	for _, ex := range []example{
		{file: "debezium-server-postgres-kafka.properties", cmd: "postgres", env: "SLUICE_TEST_PG_DSN", kafka: true},
		{file: "postgres-connector.json", cmd: "postgres", env: "SLUICE_TEST_PG_DSN"},
		{file: "debezium-server-mysql-kafka.properties", cmd: "mysql", env: "SLUICE_TEST_MYSQL_DSN", kafka: true},
		{file: "mysql-connector.json", cmd: "mysql", env: "SLUICE_TEST_MYSQL_DSN"},
		{file: "mariadb-connector.json", cmd: "mysql", env: "SLUICE_TEST_MARIADB_DSN"},
	} {
		t.Run(ex.file, func(t *testing.T) { runExample(t, ex) })
	}
}

func runExample(t *testing.T, ex example) {
	dsn := testkit.Server(t, ex.env)
	brokers := testkit.Server(t, "SLUICE_TEST_KAFKA_BROKERS")
	id := fmt.Sprintf("%d_%04x", time.Now().Unix()%100000, rand.IntN(1<<16))
	dir := t.TempDir()
	// Debezium Server's distribution has a data/ directory beside its config/; the example
	// paths (data/offsets.dat) are relative to it.
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var (
		srv     server
		db      string // the captured schema (PostgreSQL) or database (MySQL)
		table   = "customers"
		insert  func(name string)
		extra   []string // flags that keep the run off other tests' objects on the shared servers
		cleanup func()
	)
	switch ex.cmd {
	case "postgres":
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := u.User.Password()
		srv = server{host: u.Hostname(), port: u.Port(), user: u.User.Username(), password: pw, dbname: strings.TrimPrefix(u.Path, "/")}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		db = "inventory_" + id
		if strings.HasSuffix(ex.file, ".json") {
			// The connector example captures public.inventory: a table of that schema.
			db, table = "public", "inventory_"+id
		}
		exec := func(q string) {
			t.Helper()
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if db != "public" {
			exec("CREATE SCHEMA " + db)
		}
		exec(fmt.Sprintf("CREATE TABLE %s.%s (id serial PRIMARY KEY, name text NOT NULL)", db, table))
		insert = func(name string) { exec(fmt.Sprintf("INSERT INTO %s.%s (name) VALUES ('%s')", db, table, name)) }
		slot, pub := "ex_"+id, "ex_"+id
		extra = []string{"--slot", slot, "--publication", pub, "--publication-mode", "filtered"}
		cleanup = func() {
			c := context.Background()
			conn.Exec(c, "SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1", slot)
			conn.Exec(c, "DROP PUBLICATION IF EXISTS "+pub)
			if db == "public" {
				conn.Exec(c, "DROP TABLE IF EXISTS public."+table)
			} else {
				conn.Exec(c, "DROP SCHEMA IF EXISTS "+db+" CASCADE")
			}
		}
	case "mysql":
		mc, err := gomysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		host, port, _ := net.SplitHostPort(mc.Addr)
		srv = server{host: host, port: port, user: mc.User, password: mc.Passwd}
		sqldb, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sqldb.Close() })
		db = "inventory_" + id
		exec := func(q string) {
			t.Helper()
			if _, err := sqldb.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec("CREATE DATABASE " + db)
		exec(fmt.Sprintf("CREATE TABLE %s.%s (id int AUTO_INCREMENT PRIMARY KEY, name varchar(64) NOT NULL)", db, table))
		insert = func(name string) { exec(fmt.Sprintf("INSERT INTO %s.%s (name) VALUES ('%s')", db, table, name)) }
		cleanup = func() { sqldb.Exec("DROP DATABASE IF EXISTS " + db) }
	}
	t.Cleanup(func() { cleanup() })

	prefix := "ex" + id
	// The password goes in a secrets file the config refers to (${file:…}), as a
	// deployment keeps it; an empty test password stays literal.
	password := srv.password
	if password != "" {
		secrets := filepath.Join(dir, "secrets.properties")
		if err := os.WriteFile(secrets, []byte("password="+password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		password = "${file:" + secrets + ":password}"
	}
	set := func(name, v string) (string, bool) {
		switch {
		case strings.HasSuffix(name, "database.hostname"):
			return srv.host, true
		case strings.HasSuffix(name, "database.port"):
			return srv.port, true
		case strings.HasSuffix(name, "database.user"):
			return srv.user, true
		case strings.HasSuffix(name, "database.password"):
			return password, true
		case strings.HasSuffix(name, "database.dbname"):
			return srv.dbname, true
		case strings.HasSuffix(name, "bootstrap.servers"):
			return brokers, true
		case strings.HasSuffix(name, "topic.prefix"):
			return prefix, true
		case strings.HasSuffix(name, "schema.include.list"), strings.HasSuffix(name, "database.include.list"):
			return db, true
		case strings.HasSuffix(name, "table.include.list"):
			return db + "." + table, true
		case strings.HasSuffix(name, "schema.history.internal.kafka.topic"):
			return prefix + ".schemahistory", true
		case strings.HasSuffix(name, "database.server.id"):
			return fmt.Sprint(100000 + rand.IntN(1<<30)), true
		}
		return "", false
	}
	config := filepath.Join(dir, ex.file)
	adjust(t, filepath.Join("..", "..", "testdata", "properties", ex.file), config, set)

	insert("snapshot-" + id)
	// Records go to Kafka (read from the topic's start on each run) or stdout.
	seen := make(chan string, 1024)
	if ex.kafka {
		go consume(ctx, t, brokers, prefix+"."+db+"."+table, seen)
	}
	// run starts sluice, waits for a record with each marker (inserting the rows after the
	// first, which the snapshot or the resume delivers), stops it with SIGTERM and returns
	// its log.
	run := func(markers ...string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], append([]string{ex.cmd, "--config", config}, extra...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SLUICE_EXAMPLE_MAIN=1")
		var stderr testkit.SyncBuffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if t.Failed() {
				t.Logf("stderr of sluice %s:\n%s", ex.cmd, stderr.String())
			}
		}()
		if ex.kafka {
			go io.Copy(io.Discard, out)
		} else {
			go func() {
				sc := bufio.NewScanner(out)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					seen <- sc.Text()
				}
			}()
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		for i, marker := range markers {
			if i > 0 {
				insert(marker)
			}
		wait:
			for {
				select {
				case rec := <-seen:
					if strings.Contains(rec, marker) {
						break wait
					}
				case err := <-exited:
					t.Fatalf("sluice exited (%v) before %q arrived", err, marker)
				case <-ctx.Done():
					t.Fatalf("no record with %q", marker)
				}
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("sluice ended with %v, want exit 0 after SIGTERM", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("no exit 30s after SIGTERM")
		}
		logs := stderr.String()
		if strings.Contains(logs, "does not know") {
			t.Errorf("the example has properties sluice does not know:\n%s", logs)
		}
		// (A test password that is a word of the logs anyway, such as "postgres", proves
		// nothing.)
		if pw := srv.password; len(pw) >= 6 && !strings.Contains("postgres mysql mariadb sluice", pw) && strings.Contains(logs, pw) {
			t.Error("the database password is in the logs")
		}
		return logs
	}
	logs := run("snapshot-"+id, "streamed-"+id)
	// One event name across connectors, and resume=false on a first run.
	for _, want := range []string{"snapshot completed", "resume"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if strings.Contains(logs, "resume=true") || strings.Contains(logs, `"resume":true`) {
		t.Error("a first run logs resume=true")
	}
	if !ex.kafka {
		return // a connector JSON keeps its offsets in memory: a restart starts over
	}
	// The Debezium Server files store offsets in data/offsets.dat: a second run resumes,
	// says so, and delivers a row inserted meanwhile.
	insert("offline-" + id)
	logs = run("offline-"+id, "resumed-"+id)
	if !strings.Contains(logs, "resume=true") && !strings.Contains(logs, `"resume":true`) {
		t.Errorf("a resumed run does not log resume=true:\n%s", logs)
	}
	if strings.Contains(logs, "snapshot started") {
		t.Error("a resumed run took a new snapshot")
	}
}

// adjust copies the example at from to to with set applied to its values (a properties file
// line by line, a connector JSON by its "config" keys).
func adjust(t *testing.T, from, to string, set func(name, v string) (string, bool)) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(from, ".json") {
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		conf := doc["config"].(map[string]any)
		for k, v := range conf {
			if nv, ok := set(k, fmt.Sprint(v)); ok {
				conf[k] = nv
			}
		}
		if b, err = json.MarshalIndent(doc, "", "  "); err != nil {
			t.Fatal(err)
		}
	} else {
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			k, v, ok := strings.Cut(l, "=")
			if !ok || strings.HasPrefix(l, "#") {
				continue
			}
			if nv, ok := set(k, v); ok {
				lines[i] = k + "=" + nv
			}
		}
		b = []byte(strings.Join(lines, "\n"))
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// consume sends the values of topic's records to seen, waiting for the topic to appear.
func consume(ctx context.Context, t *testing.T, brokers, topic string, seen chan<- string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(200*time.Millisecond))
	if err != nil {
		t.Errorf("consumer: %v", err)
		return
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		for it := fs.RecordIter(); !it.Done(); {
			select {
			case seen <- string(it.Next().Value):
			case <-ctx.Done():
				return
			}
		}
	}
}
