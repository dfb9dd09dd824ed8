package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func msgs(kv ...string) []*kgo.Record {
	var out []*kgo.Record
	for i := 0; i < len(kv); i += 2 {
		m := &kgo.Record{Offset: int64(i / 2), Key: []byte(kv[i])}
		if kv[i+1] != "" {
			m.Value = []byte(kv[i+1])
		}
		out = append(out, m)
	}
	return out
}

func TestReplay(t *testing.T) {
	tests := []struct {
		name  string
		table string
		in    []*kgo.Record
		want  map[int64]kstate // ver, sum, deleted
		dups  int
	}{
		{
			name:  "insert update delete tombstone",
			table: tKV,
			in: msgs(
				`{"id":1}`, `{"op":"c","after":{"id":1,"ver":1,"note":"a"}}`,
				`{"id":2}`, `{"op":"c","after":{"id":2,"ver":2,"note":"b"}}`,
				`{"id":1}`, `{"op":"u","before":{"id":1},"after":{"id":1,"ver":3,"note":"c"}}`,
				`{"id":2}`, `{"op":"d","before":{"id":2},"after":null}`,
				`{"id":2}`, ``,
			),
			want: map[int64]kstate{1: {ver: 3, sum: sum("c")}, 2: {deleted: true}},
		},
		{
			// A replay after a crash: the same records again, counted, the state unchanged.
			name:  "duplicates",
			table: tKV,
			in: msgs(
				`{"id":1}`, `{"op":"c","after":{"id":1,"ver":1,"note":"a"}}`,
				`{"id":1}`, `{"op":"u","before":{"id":1},"after":{"id":1,"ver":3,"note":"c"}}`,
				`{"id":1}`, `{"op":"c","after":{"id":1,"ver":1,"note":"a"}}`,
				`{"id":1}`, `{"op":"u","before":{"id":1},"after":{"id":1,"ver":3,"note":"c"}}`,
			),
			want: map[int64]kstate{1: {ver: 3, sum: sum("c")}},
			dups: 2,
		},
		{
			name:  "primary key change as delete + create",
			table: tKV,
			in: msgs(
				`{"id":1}`, `{"op":"c","after":{"id":1,"ver":1,"note":"a"}}`,
				`{"id":1}`, `{"op":"d","before":{"id":1},"after":null}`,
				`{"id":7}`, `{"op":"c","after":{"id":7,"ver":2,"note":"b"}}`,
			),
			want: map[int64]kstate{1: {deleted: true}, 7: {ver: 2, sum: sum("b")}},
		},
		{
			name:  "primary key change as one update",
			table: tKV,
			in: msgs(
				`{"id":1}`, `{"op":"c","after":{"id":1,"ver":1,"note":"a"}}`,
				`{"id":7}`, `{"op":"u","before":{"id":1},"after":{"id":7,"ver":2,"note":"b"}}`,
			),
			want: map[int64]kstate{1: {deleted: true}, 7: {ver: 2, sum: sum("b")}},
		},
		{
			// The placeholder keeps the earlier value; an empty string is a value, not a placeholder.
			name:  "unchanged TOAST",
			table: tToast,
			in: msgs(
				`{"id":1}`, `{"op":"c","after":{"id":1,"ver":1,"big":"x"}}`,
				`{"id":1}`, `{"op":"u","after":{"id":1,"ver":2,"big":"__debezium_unavailable_value"}}`,
				`{"id":2}`, `{"op":"c","after":{"id":2,"ver":3,"big":"__debezium_unavailable_value"}}`,
				`{"id":3}`, `{"op":"c","after":{"id":3,"ver":4,"big":""}}`,
				`{"id":4}`, `{"op":"c","after":{"id":4,"ver":5,"big":null}}`,
			),
			want: map[int64]kstate{1: {ver: 2, sum: sum("x")}, 2: {ver: 3, sum: "unavailable"}, 3: {ver: 4, sum: sum("")}, 4: {ver: 5, sum: "null"}},
		},
		{
			// With schemas (the kafka-ch sink needs them): the envelope is the payload.
			name:  "with schemas",
			table: tKV,
			in: msgs(
				`{"schema":{},"payload":{"id":1}}`, `{"schema":{"type":"struct"},"payload":{"op":"c","after":{"id":1,"ver":1,"note":"a"}}}`,
				`{"schema":{},"payload":{"id":1}}`, `{"schema":{"type":"struct"},"payload":{"op":"u","before":{"id":1},"after":{"id":1,"ver":2,"note":"b"}}}`,
			),
			want: map[int64]kstate{1: {ver: 2, sum: sum("b")}},
		},
		{
			name:  "keyless table by uid",
			table: tNoKey,
			in: msgs(
				``, `{"op":"c","after":{"uid":5,"ver":1,"note":"a"}}`,
				``, `{"op":"c","after":{"uid":6,"ver":2,"note":"b"}}`,
				``, `{"op":"u","before":{"uid":5,"ver":1,"note":"a"},"after":{"uid":5,"ver":3,"note":"c"}}`,
				``, `{"op":"d","before":{"uid":6,"ver":2,"note":"b"},"after":null}`,
			),
			want: map[int64]kstate{5: {ver: 3, sum: sum("c")}, 6: {deleted: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := replay(tt.table, tt.in)
			if len(st.bad) > 0 {
				t.Fatalf("unreadable: %v", st.bad)
			}
			if st.duplicates != tt.dups {
				t.Errorf("duplicates = %d, want %d", st.duplicates, tt.dups)
			}
			if len(st.keys) != len(tt.want) {
				t.Errorf("%d keys, want %d", len(st.keys), len(tt.want))
			}
			for id, w := range tt.want {
				g := st.keys[id]
				if g == nil {
					t.Errorf("key %d missing", id)
					continue
				}
				if g.deleted != w.deleted || !w.deleted && (g.ver != w.ver || g.sum != w.sum) {
					t.Errorf("key %d = {ver %d sum %.12s deleted %v}, want {ver %d sum %.12s deleted %v}", id, g.ver, g.sum, g.deleted, w.ver, w.sum, w.deleted)
				}
			}
		})
	}
}

// TestComparePlaceholder: a sink's "unavailable" (the TOAST placeholder with nothing earlier)
// is a note where the key may have it (ClickHouse: the truth says its value came by a key
// change), and a difference where it may not.
func TestComparePlaceholder(t *testing.T) {
	src := map[string]map[int64]kstate{tToast: {1: {ver: 5, sum: sum("x")}, 2: {ver: 6, sum: sum("y")}}}
	states := map[string]*topicState{tToast: newTopicState(tToast)}
	states[tToast].keys[1] = &kstate{ver: 5, sum: "unavailable"}
	states[tToast].keys[2] = &kstate{ver: 6, sum: "unavailable"}
	for _, tt := range []struct {
		name             string
		ok               func(string, int64) bool
		unavail, differs int
	}{
		{"kafka (no truth)", nil, 2, 0},
		{"clickhouse, key 1 moved", func(_ string, id int64) bool { return id == 1 }, 1, 1},
		{"clickhouse (strict: the sink carries moved values)", func(string, int64) bool { return false }, 0, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r tableResult
			for _, x := range compare(src, states, tt.ok) {
				if x.Table == tToast {
					r = x
				}
			}
			if r.Unavailable != tt.unavail || r.Differing != tt.differs {
				t.Errorf("unavailable %d, differing %d; want %d, %d", r.Unavailable, r.Differing, tt.unavail, tt.differs)
			}
		})
	}
}

// TestReadTopics: the checker reads each prefix.<schema>.<table> topic to its end,
// read_committed (records of an aborted transaction do not count), and no other topic.
func TestReadTopics(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "p.s."+tKV, "other.s."+tKV))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("torture-check-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	txn := func(commit bool, recs ...*kgo.Record) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(topic, k, v string) *kgo.Record {
		return &kgo.Record{Topic: topic, Key: []byte(k), Value: []byte(v)}
	}
	txn(true, rec("p.s."+tKV, `{"id":1}`, `{"op":"c","after":{"id":1,"ver":1,"note":"a"}}`), rec("other.s."+tKV, `{"id":9}`, `{"op":"c","after":{"id":9,"ver":1}}`))
	txn(false, rec("p.s."+tKV, `{"id":2}`, `{"op":"c","after":{"id":2,"ver":2,"note":"b"}}`))
	txn(true, rec("p.s."+tKV, `{"id":3}`, `{"op":"c","after":{"id":3,"ver":3,"note":"c"}}`))
	got, err := readTopics(ctx, c.ListenAddrs()[0], "p")
	if err != nil {
		t.Fatal(err)
	}
	st := got[tKV]
	if len(got) != 1 || st == nil || st.records != 2 || st.keys[1] == nil || st.keys[2] != nil || st.keys[3] == nil {
		t.Fatalf("readTopics = %v (kv: %+v), want table %s with ids 1 and 3", got, st, tKV)
	}
}

// TestDuplicatesFailOnlyClickHouse: Kafka is at-least-once, so its duplicates are counted and
// pass; ClickHouse must equal the source, so a row stored twice there fails the sink.
func TestDuplicatesFailOnlyClickHouse(t *testing.T) {
	for _, tt := range []struct {
		sink string
		ok   bool
	}{{sinkKafka, true}, {sinkKafkaCH, false}, {sinkCH, false}} {
		s := &sinkResult{Sink: sinkLabel(tt.sink), Drained: true, Duplicated: 1}
		if s.ok() != tt.ok {
			t.Errorf("%s with 1 duplicate: ok() = %v, want %v", tt.sink, s.ok(), tt.ok)
		}
		s.Duplicated = 0
		if !s.ok() {
			t.Errorf("%s with no duplicate: ok() = false", tt.sink)
		}
	}
}

// TestDuplicateExampleNamesTableAndKey: a ClickHouse duplicate reaches the table's examples
// with the table and the key, so the failure says which row.
func TestDuplicateExampleNamesTableAndKey(t *testing.T) {
	st := newTopicState(tNoKey)
	st.keys[7] = &kstate{ver: 3, sum: "x"}
	st.duplicates = 1
	st.dupExample = []string{"t_nokey uid=7 ver 3 deleted 0: stored twice (_version 9); the view shows the row twice"}
	res := compare(map[string]map[int64]kstate{tNoKey: {7: {ver: 3, sum: "x"}}}, map[string]*topicState{tNoKey: st}, nil)
	for _, r := range res {
		if r.Table != tNoKey {
			continue
		}
		if r.Duplicates != 1 || len(r.Examples) != 1 || !strings.Contains(r.Examples[0], "t_nokey uid=7") {
			t.Errorf("duplicates %d, examples %q: want 1 naming t_nokey uid=7", r.Duplicates, r.Examples)
		}
	}
}
