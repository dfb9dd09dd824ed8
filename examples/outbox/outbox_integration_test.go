//go:build integration

package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/examples/outbox/shop"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestOutboxExample runs the example end to end on the shared servers: the orders service
// writes orders and their events in one transaction each, sluice (the real binary, configured
// by the example's properties file) routes the outbox inserts to <prefix>.outbox.event.order,
// and the consumer reserves stock and notifies customers, once per event.
func TestOutboxExample(t *testing.T) {
	brokers := testkit.Server(t, "SLUICE_TEST_KAFKA_BROKERS")
	bin := filepath.Join(t.TempDir(), "sluice")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/sluice")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	t.Run("postgres", func(t *testing.T) {
		dsn := testkit.Server(t, "SLUICE_TEST_PG_DSN")
		db := fmt.Sprintf("sl_outbox_pg_%d", os.Getpid())
		adm, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close()
		drop := func() {
			adm.Exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", db)
			adm.Exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)")
		}
		drop()
		if _, err := adm.Exec("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		defer func() { time.Sleep(200 * time.Millisecond); drop() }()
		u, _ := url.Parse(dsn)
		u.Path = "/" + db
		conn, err := sql.Open("pgx", u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		runSQL(t, conn, "postgres.sql")
		runExample(t, bin, "postgres", conn, brokers, db, "sluice-postgres.properties",
			"--dsn", u.String(), "--slot", db, "--publication", db)
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testkit.Server(t, "SLUICE_TEST_MYSQL_DSN")
		db := fmt.Sprintf("sl_outbox_my_%d", os.Getpid())
		adm, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close()
		adm.Exec("DROP DATABASE IF EXISTS " + db)
		if _, err := adm.Exec("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		defer adm.Exec("DROP DATABASE IF EXISTS " + db)
		conn, err := sql.Open("mysql", dsn+db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		runSQL(t, conn, "mysql.sql")
		runExample(t, bin, "mysql", conn, brokers, db, "sluice-mysql.properties",
			"--dsn", dsn, "--table-include", db+`\.outbox`, "--server-id", fmt.Sprint(54000+os.Getpid()%10000))
	})
}

// runSQL runs the statements of an example file.
func runSQL(t *testing.T, db *sql.DB, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

func runExample(t *testing.T, bin, dialect string, db *sql.DB, brokers, prefix, props string, args ...string) {
	dir := t.TempDir()
	topic := prefix + ".outbox.event.order"
	args = append([]string{dialect, "--config", props, "--kafka-brokers", brokers, "--topic-prefix", prefix,
		"--offsets-file", filepath.Join(dir, "offsets.json"), "--log-format", "text",
		// A topic of this run's own on the shared broker; the file routes to outbox.event.order.
		"--transform", "outbox.route.topic.replacement=" + prefix + ".outbox.event.${routedByValue}"}, args...)
	cmd := exec.Command(bin, args...)
	logPath := filepath.Join(dir, "sluice.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopping := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		t.Logf("sluice stopped in %s", time.Since(stopping).Round(time.Millisecond))
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("sluice log:\n%s", b)
		}
	}()
	// Orders committed before the source fixed its start position (the PostgreSQL slot, the
	// MySQL binlog position read under the snapshot's lock) would be missed with
	// snapshot.mode=no_data: wait until sluice logs that it streams. That can take minutes on
	// the shared servers (a slot waits for running transactions, the MySQL schema snapshot for
	// its global read lock).
	deadline := time.Now().Add(3 * time.Minute)
	streaming := regexp.MustCompile(`msg=(streaming|"streaming binlog") `)
	for {
		b, _ := os.ReadFile(logPath)
		if streaming.Match(b) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sluice did not start streaming in 3m")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("sluice streaming after %s", time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	orders := []shop.Order{
		{ID: 1, Customer: "ann@example.com", Items: []shop.Item{{SKU: "book", Qty: 2}, {SKU: "mug", Qty: 1}}},
		{ID: 2, Customer: "bob@example.com", Items: []shop.Item{{SKU: "mug", Qty: 3}}},
		{ID: 3, Customer: "cid@example.com", Items: []shop.Item{{SKU: "mug", Qty: 5}}}, // 1 left: rejected
	}
	for _, o := range orders {
		if _, err := shop.PlaceOrder(ctx, db, dialect, o); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu    sync.Mutex
		notes []string
		got   = make(chan struct{}, 16)
	)
	flow := &shop.Flow{
		Inventory: shop.NewInventory(map[string]int{"book": 10, "mug": 5}),
		Notify: func(customer, text string) {
			mu.Lock()
			notes = append(notes, customer+": "+text)
			mu.Unlock()
			got <- struct{}{}
		},
	}
	cctx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- shop.Consume(cctx, strings.Split(brokers, ","), topic, prefix+"-consumer", flow) }()
	for n := 0; n < len(orders); n++ {
		select {
		case <-got:
		case err := <-errc:
			t.Fatalf("consumer: %v", err)
		case <-ctx.Done():
			t.Fatalf("%d of %d notifications after 90s: %q", n, len(orders), notes)
		}
	}
	t.Logf("%d notifications after %s", len(orders), time.Since(start).Round(time.Millisecond))
	// Nothing more may come: the outbox deletes are not events.
	select {
	case <-got:
	case <-time.After(2 * time.Second):
	}
	stop()
	<-errc
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"ann@example.com: order 1 confirmed: 1 x mug, 2 x book",
		"bob@example.com: order 2 confirmed: 3 x mug",
		"cid@example.com: order 3 rejected: mug: 5 wanted, 1 in stock",
	}
	if !slices.Equal(notes, want) {
		t.Errorf("notifications:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
	if s := flow.Inventory.Stock("book"); s != 8 {
		t.Errorf("book stock %d, want 8", s)
	}
}
