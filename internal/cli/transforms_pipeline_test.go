package cli

import (
	"context"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/schema"
	"github.com/sluicecdc/sluice/transform"
)

type seqPos int

func (p seqPos) AppendOffset(dst []byte) []byte { return strconv.AppendInt(dst, int64(p), 10) }

// listSource emits its events, then ends.
type listSource struct {
	evs   []capture.Event
	mu    sync.Mutex
	acked capture.Position
}

func (s *listSource) Next(ctx context.Context) (capture.Event, error) {
	if len(s.evs) == 0 {
		return capture.Event{}, io.EOF
	}
	ev := s.evs[0]
	s.evs = s.evs[1:]
	return ev, nil
}
func (s *listSource) Ack(_ context.Context, p capture.Position) error {
	s.mu.Lock()
	s.acked = p
	s.mu.Unlock()
	return nil
}
func (s *listSource) Close() error { return nil }

type listSink struct {
	d    pipeline.Durable
	mu   sync.Mutex
	recs []string
}

func (s *listSink) Send(_ context.Context, r *envelope.Record, token uint64) error {
	s.mu.Lock()
	s.recs = append(s.recs, r.Topic+" "+string(r.Value))
	s.mu.Unlock()
	s.d(token)
	return nil
}
func (s *listSink) Flush(context.Context) error { return nil }
func (s *listSink) Close() error                { return nil }

// TestTransformErrorFollowsFailureMode: a record a transform cannot handle (route.by.field
// names a column the table lacks) stops the pipeline at that event under the default failure
// mode, with its position not acknowledged; under warn it is skipped and counted, and the
// events after it are delivered and acknowledged.
func TestTransformErrorFollowsFailureMode(t *testing.T) {
	withDest := &schema.Table{ID: schema.TableID{DB: "shop", Table: "a"}, Dialect: schema.MySQL, Version: 1, PrimaryKey: []int{0},
		Columns: []schema.Column{{Name: "id", Type: "int", Length: -1, Scale: -1}, {Name: "dest", Type: "varchar", Length: -1, Scale: -1}}}
	without := &schema.Table{ID: schema.TableID{DB: "shop", Table: "b"}, Dialect: schema.MySQL, Version: 1, PrimaryKey: []int{0},
		Columns: []schema.Column{{Name: "id", Type: "int", Length: -1, Scale: -1}}}
	events := func() []capture.Event {
		ins := func(tb *schema.Table, pos int, row ...capture.Value) capture.Event {
			return capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: tb, After: row, Position: seqPos(pos),
				Source: capture.Source{Connector: "mysql", DB: "shop", Table: tb.ID.Table}}
		}
		return []capture.Event{
			ins(withDest, 1, capture.IntValue(1), capture.StringValue([]byte("east"))),
			ins(without, 2, capture.IntValue(2)),
			ins(withDest, 3, capture.IntValue(3), capture.StringValue([]byte("west"))),
		}
	}
	run := func(mode pipeline.FailureMode) (*listSource, *listSink, *pipeline.Stats, error) {
		enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "p", TombstonesOnDelete: true})
		if err != nil {
			t.Fatal(err)
		}
		specs, _ := transform.ParseProperties(map[string]string{"transforms": "unwrap", "transforms.unwrap.route.by.field": "dest"})
		built, err := transform.Build(specs, transform.Env{})
		if err != nil {
			t.Fatal(err)
		}
		src, sink, stats := &listSource{evs: events()}, &listSink{}, new(pipeline.Stats)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = pipeline.Run(ctx, pipeline.Config{Source: src, Encoder: transform.NewChain(enc, built), FailureMode: mode,
			Offsets: new(offsets.Memory), FlushInterval: 10 * time.Millisecond, Stats: stats,
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) { sink.d = d; return sink, nil }})
		return src, sink, stats, err
	}

	src, sink, _, err := run(pipeline.FailureFail)
	if err == nil || !strings.Contains(err.Error(), "transform unwrap (io.debezium.transforms.ExtractNewRecordState) on a record of topic p.shop.b") ||
		!strings.Contains(err.Error(), `route.by.field: the row has no field "dest"`) || !strings.Contains(err.Error(), "--event-processing-failure-handling-mode=warn") {
		t.Fatalf("fail mode: err = %v", err)
	}
	if strings.Join(sink.recs, "|") != `east {"id":1,"dest":"east"}` || src.acked != seqPos(1) {
		t.Fatalf("fail mode: records %q, acked %v", sink.recs, src.acked)
	}

	src, sink, stats, err := run(pipeline.FailureWarn)
	if err != nil {
		t.Fatalf("warn mode: %v", err)
	}
	if strings.Join(sink.recs, "|") != `east {"id":1,"dest":"east"}|west {"id":3,"dest":"west"}` || src.acked != seqPos(3) || stats.ErroneousEvents.Load() != 1 {
		t.Fatalf("warn mode: records %q, acked %v, erroneous %d", sink.recs, src.acked, stats.ErroneousEvents.Load())
	}
}

// blockingSource emits nothing until ctx ends (an idle database: only heartbeats flow).
type blockingSource struct{}

func (blockingSource) Next(ctx context.Context) (capture.Event, error) {
	<-ctx.Done()
	return capture.Event{}, ctx.Err()
}
func (blockingSource) Ack(context.Context, capture.Position) error { return nil }
func (blockingSource) Close() error                                { return nil }

// TestTransformHeartbeatError: a transform that fails on heartbeat records (a filter reading
// value.after.x of every record, and a heartbeat value has no after) stops the pipeline with
// that error while the source is idle, instead of being dropped in silence or charged to the
// next data event.
func TestTransformHeartbeatError(t *testing.T) {
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "p", TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	specs, _ := transform.ParseProperties(map[string]string{"transforms": "filter", "transforms.filter.condition": "value.after.status == 'SHIPPED'"})
	built, err := transform.Build(specs, transform.Env{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &listSink{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = pipeline.Run(ctx, pipeline.Config{Source: blockingSource{}, Encoder: transform.NewChain(enc, built),
		HeartbeatInterval: 20 * time.Millisecond, FailureMode: pipeline.FailureWarn,
		NewSink: func(d pipeline.Durable) (pipeline.Sink, error) { sink.d = d; return sink, nil }})
	if err == nil || !strings.Contains(err.Error(), "heartbeat record: transform filter (io.debezium.transforms.Filter) on a record of topic __debezium-heartbeat.p") {
		t.Fatalf("Run = %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run waited for the context")
	}
}
