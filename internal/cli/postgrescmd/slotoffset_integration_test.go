//go:build integration

package postgrescmd

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// deadSink is a --sink whose Open fails for good: the process "dies" after the source opened
// (slot created, snapshot prepared) and before the pipeline stored any offset.
var deadSink = cli.SinkKind{Name: "dead", New: func(*cli.Capture) cli.Sink { return deadSinkImpl{} }}

type deadSinkImpl struct{}

func (deadSinkImpl) Open(context.Context, pipeline.Durable) (pipeline.Sink, error) {
	return nil, errors.New("killed before the first offset save")
}
func (deadSinkImpl) Buffered() int64 { return 0 }
func (deadSinkImpl) Validate() error { return nil }

// TestRestartAfterKillRightAfterSlotCreation: `sluice postgres` ends right after it created
// its slot, before the pipeline saved an offset; the next start with the same offsets file and
// no extra flag delivers every row. Before, the restart found a slot and no offset and refused
// to go on without --drop-existing-slot.
func TestRestartAfterKillRightAfterSlotCreation(t *testing.T) {
	pg := testkit.StartPG(t, testkit.PGOptions{})
	ctx := context.Background()
	conn := pg.Connect("postgres")
	const n = 2000
	if _, err := conn.Exec(ctx, "CREATE TABLE w (id int PRIMARY KEY, v text); INSERT INTO w SELECT g, 'v' FROM generate_series(1, 2000) g"); err != nil {
		t.Fatal(err)
	}
	offsets := filepath.Join(t.TempDir(), "o.json")
	args := func(sink string) []string {
		return []string{"--dsn", pg.DSN("", "postgres"), "--topic-prefix", "t", "--sink", sink, "--offsets-file", offsets,
			"--schemas-enable=false", "--snapshot-chunk-rows", "300", "--offsets-flush-interval", "100ms"}
	}
	out := &lines{}
	all := append([]cli.SinkKind{deadSink, memSink(out)}, sinks...)
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := run(rctx, "sluice postgres", args("dead"), all)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first run: %v, want the dead sink's error", err)
	}
	var slots int
	conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots").Scan(&slots)
	if slots != 1 {
		t.Fatalf("%d slots after the first run, want the one it created", slots)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO w SELECT g, 'v' FROM generate_series(2001, 2100) g"); err != nil {
		t.Fatal(err)
	}

	rctx, cancel = context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- run(rctx, "sluice postgres", args("mem"), all) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ids := out.ids()
		if len(ids) == n+100 {
			break
		}
		select {
		case err := <-runErr:
			t.Fatalf("restart without flags: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows after 60 s", len(ids), n+100)
		}
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("run: %v", err)
	}
}
