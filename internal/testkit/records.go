package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// RecordLines is a goroutine-safe io.Writer for a stdout sink's JSON lines (schemas off), read
// back per row of one table: the snapshot and signal tests compare it with the table.
type RecordLines struct{ SyncBuffer }

// RowState is what the records say of one row (column id the key, column v the value): its
// reads (op r) and its last state.
type RowState struct {
	Reads   int
	V       float64
	Deleted bool
}

// State parses every record of table so far, by id.
func (l *RecordLines) State(table string) map[int64]*RowState {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64]*RowState{}
	for _, line := range bytes.Split(l.b.Bytes(), []byte("\n")) {
		var r struct {
			Value *struct {
				Op     string         `json:"op"`
				Before map[string]any `json:"before"`
				After  map[string]any `json:"after"`
				Source struct {
					Table string `json:"table"`
				} `json:"source"`
			} `json:"value"`
		}
		if json.Unmarshal(line, &r) != nil || r.Value == nil || r.Value.Source.Table != table {
			continue
		}
		row := r.Value.After
		if row == nil {
			row = r.Value.Before
		}
		id, _ := row["id"].(float64)
		st := out[int64(id)]
		if st == nil {
			st = &RowState{}
			out[int64(id)] = st
		}
		switch r.Value.Op {
		case "d":
			st.Deleted = true
		case "r":
			st.Reads++
			fallthrough
		default:
			st.V, _ = row["v"].(float64)
			st.Deleted = false
		}
	}
	return out
}

// Wait polls State(table) until ok holds, and fails the test after within.
func (l *RecordLines) Wait(t testing.TB, table, what string, within time.Duration, ok func(map[int64]*RowState) bool) map[int64]*RowState {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		st := l.State(table)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s (%d keys seen)", what, within, len(st))
		}
	}
}

// Reads counts the snapshot reads (op r) in st.
func Reads(st map[int64]*RowState) (total int) {
	for _, s := range st {
		total += s.Reads
	}
	return total
}

// KafkaSignals is a one-broker kfake with a signal topic and a producer that writes to it,
// for the Kafka signal channel's tests; both close with the test.
type KafkaSignals struct {
	Broker string // the broker's address, for --signal-kafka-brokers
	Topic  string
	t      testing.TB
	prod   *kgo.Client
}

// NewKafkaSignals starts the broker with topic (one partition).
func NewKafkaSignals(t testing.TB, topic string) *KafkaSignals {
	t.Helper()
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kf.Close)
	prod, err := kgo.NewClient(kgo.SeedBrokers(kf.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &KafkaSignals{Broker: kf.ListenAddrs()[0], Topic: topic, t: t, prod: prod}
}

// Send writes one signal (key: the connector's topic prefix) and fails the test if it is not
// acknowledged.
func (k *KafkaSignals) Send(key, value string) {
	k.t.Helper()
	rec := &kgo.Record{Topic: k.Topic, Key: []byte(key), Value: []byte(value)}
	if err := k.prod.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		k.t.Fatal(err)
	}
}
