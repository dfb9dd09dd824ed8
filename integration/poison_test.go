//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

// idSink keeps the "after.id" of every data record and makes each record durable at once. It
// calls onID after each.
type idSink struct {
	durable pipeline.Durable
	onID    func(id int)

	mu  sync.Mutex
	ids []int
}

func (s *idSink) Send(_ context.Context, rec *envelope.Record, token uint64) error {
	var v struct {
		After *struct {
			ID int `json:"id"`
		} `json:"after"`
	}
	if json.Unmarshal(rec.Value, &v) == nil && v.After != nil {
		s.mu.Lock()
		s.ids = append(s.ids, v.After.ID)
		s.mu.Unlock()
		if s.onID != nil {
			s.onID(v.After.ID)
		}
	}
	s.durable(token)
	return nil
}

func (s *idSink) Flush(context.Context) error { return nil }
func (s *idSink) Close() error                { return nil }

func (s *idSink) got() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.ids...)
}

// TestPoisonEventFailureMode runs a real MySQL stream through pipeline.Run with an event that
// cannot be encoded: a TIME of 838:59:59 under time.precision.mode=adaptive (an int32 of
// milliseconds cannot hold it). In fail mode Run stops at it with an error naming the column
// and both ways out, and the saved offset stays before it; in warn mode the event is counted and
// skipped, the rows after it arrive, and the saved offset is past it: a restart in fail mode
// goes on from there without meeting it again.
func TestPoisonEventFailureMode(t *testing.T) {
	for name, dsn := range mysqlServers(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			dbName := fmt.Sprintf("sl_poison_%d", os.Getpid())
			conn := openMySQL(t, dsn)
			exec := func(qs ...string) {
				t.Helper()
				for _, q := range qs {
					if _, err := conn.ExecContext(ctx, q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			}
			exec("DROP DATABASE IF EXISTS "+dbName, "CREATE DATABASE "+dbName, "USE "+dbName,
				"CREATE TABLE t (id int PRIMARY KEY, d time(0))")
			defer conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+dbName)
			hist := filepath.Join(t.TempDir(), "history.jsonl")
			store := new(offsets.Memory)
			serverID := uint32(8000 + os.Getpid()%1000)

			// run streams until the sink has seen id stopAt (then cancels), or Run fails.
			run := func(mode pipeline.FailureMode, stopAt int, inserts ...string) (*idSink, *pipeline.Stats, error) {
				off, _ := store.Load(ctx)
				src, err := mysql.New(ctx, mysql.Config{DSN: dsn, ServerID: serverID, Name: "poison",
					DatabaseInclude: []string{dbName}, SnapshotMode: mysql.SnapshotNoData, History: history.NewFile(hist, nil), Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "poison", Options: envelope.Options{Time: envelope.TimeAdaptive}})
				if err != nil {
					t.Fatal(err)
				}
				rctx, stop := context.WithCancel(ctx)
				defer stop()
				sink := &idSink{onID: func(id int) {
					if id == stopAt {
						stop()
					}
				}}
				stats := new(pipeline.Stats)
				done := make(chan error, 1)
				go func() {
					done <- pipeline.Run(rctx, pipeline.Config{Source: src, Encoder: enc, Offsets: store, Stats: stats,
						FailureMode: mode, FlushInterval: 50 * time.Millisecond,
						NewSink: func(d pipeline.Durable) (pipeline.Sink, error) { sink.durable = d; return sink, nil }})
				}()
				// A first start reads the binlog position inside Next (no_data snapshot): wait
				// until it is saved, or the inserts could come before it.
				for v, _ := store.Load(ctx); v == nil; v, _ = store.Load(ctx) {
					select {
					case err := <-done:
						t.Fatalf("Run ended before the first offset was saved: %v", err)
					case <-time.After(20 * time.Millisecond):
					}
				}
				exec(inserts...)
				select {
				case err = <-done:
				case <-ctx.Done():
					t.Fatalf("Run did not return; sink got %v", sink.got())
				}
				return sink, stats, err
			}

			// fail: stops at the poison event; nothing after it is delivered or saved.
			sink, _, err := run(pipeline.FailureFail, -1,
				"INSERT INTO t VALUES (1, '01:00:00')", "INSERT INTO t VALUES (2, '838:59:59')", "INSERT INTO t VALUES (3, '02:00:00')")
			var ve *envelope.ValueError
			if !errors.As(err, &ve) || ve.Column != "d" {
				t.Fatalf("fail mode: Run error %v, want a ValueError for column d", err)
			}
			for _, want := range []string{"838:59:59", "--time-precision", "--event-processing-failure-handling-mode=warn"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("fail mode: error %q lacks %q", err, want)
				}
			}
			if got := sink.got(); !slices.Contains(got, 1) || slices.Contains(got, 2) || slices.Contains(got, 3) {
				t.Fatalf("fail mode: delivered %v, want 1 and nothing after it", got)
			}

			// A restart in fail mode stops at the same event: the position was not skipped.
			sink, _, err = run(pipeline.FailureFail, -1)
			if got := sink.got(); !errors.As(err, &ve) || slices.Contains(got, 2) || slices.Contains(got, 3) {
				t.Fatalf("restart in fail mode: err %v, delivered %v; want the same ValueError, nothing after 1", err, got)
			}

			// warn: the poison event is skipped and counted; rows 3 and 4 arrive.
			sink, stats, err := run(pipeline.FailureWarn, 4, "INSERT INTO t VALUES (4, '03:00:00')")
			if err != nil {
				t.Fatalf("warn mode: %v", err)
			}
			if got := sink.got(); !slices.Contains(got, 3) || !slices.Contains(got, 4) || slices.Contains(got, 2) ||
				stats.ErroneousEvents.Load() != 1 {
				t.Fatalf("warn mode: delivered %v, %d erroneous events; want 3 and 4, not 2, and 1", got, stats.ErroneousEvents.Load())
			}

			// The skipped event's position was released: a restart in fail mode goes on after it.
			sink, _, err = run(pipeline.FailureFail, 5, "INSERT INTO t VALUES (5, '04:00:00')")
			if got := sink.got(); err != nil || !slices.Contains(got, 5) || slices.Contains(got, 2) || slices.Contains(got, 3) {
				t.Fatalf("restart after warn: err %v, delivered %v; want 5 (4 at most again), nothing earlier", err, got)
			}
		})
	}
}
