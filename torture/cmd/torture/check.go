package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// unavailable is Debezium's placeholder for a PostgreSQL TOAST value that an update left
// unchanged; a consumer keeps the previous value, and so does the checker.
const unavailable = "__debezium_unavailable_value"

// kstate is the latest state of one key as the topic tells it.
type kstate struct {
	ver     int64
	sum     string // SHA-256 hex of note/big
	deleted bool
	offset  int64  // of the record that set this state
	op      string // its op
}

// topicState is a topic replayed: the latest state per key, and the duplicate count.
type topicState struct {
	table      string
	seen       map[string]bool // record identities, for the duplicate count
	keys       map[int64]*kstate
	records    int
	duplicates int
	dupExample []string // ClickHouse: a few duplicated rows, named by table and key
	bad        []string // records the checker could not read
}

type envelopeValue struct {
	Payload *envelopeValue             `json:"payload"`
	Op      string                     `json:"op"`
	Before  map[string]json.RawMessage `json:"before"`
	After   map[string]json.RawMessage `json:"after"`
}

func fieldInt(m map[string]json.RawMessage, k string) (int64, bool) {
	raw, ok := m[k]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(bytes.Trim(raw, `"`)), 10, 64)
	return v, err == nil
}

func fieldSum(m map[string]json.RawMessage, k string) (string, bool) {
	if raw, ok := m[k]; !ok || string(raw) == "null" {
		return "null", true // the value is absent: a difference, never the hash of an empty string
	}
	var s string
	if err := json.Unmarshal(m[k], &s); err != nil {
		return "", false
	}
	if s == unavailable {
		return "", false
	}
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:]), true
}

func textCol(table string) string {
	if table == tToast {
		return "big"
	}
	return "note"
}

// replay folds one table's topic into its latest state per key.
func replay(table string, msgs []*kgo.Record) *topicState {
	st := newTopicState(table)
	for _, m := range msgs {
		st.add(m)
	}
	return st
}

func newTopicState(table string) *topicState {
	return &topicState{table: table, keys: map[int64]*kstate{}, seen: map[string]bool{}}
}

// add folds one record into the state; the message is not kept, so a topic of any size is
// checked in the memory of its keys.
func (st *topicState) add(m *kgo.Record) {
	table, kc, seen := st.table, keyCol(st.table), st.seen
	if m.Value == nil {
		return // tombstone: the delete before it already removed the key
	}
	st.records++
	var v envelopeValue
	if err := json.Unmarshal(m.Value, &v); err != nil {
		st.bad = append(st.bad, fmt.Sprintf("offset %d: %v", m.Offset, err))
		return
	}
	if v.Op == "" && v.Payload != nil { // with schemas: {"schema":…,"payload":{…}}
		v = *v.Payload
	}
	bver, _ := fieldInt(v.Before, "ver")
	aver, _ := fieldInt(v.After, "ver")
	id := string(m.Key) + "|" + string(v.Op) + "|" + strconv.FormatInt(bver, 10) + "|" + strconv.FormatInt(aver, 10)
	if table == tNoKey {
		u, _ := fieldInt(v.Before, "uid")
		if u == 0 {
			u, _ = fieldInt(v.After, "uid")
		}
		id += "|" + strconv.FormatInt(u, 10)
	}
	if seen[id] {
		st.duplicates++
	}
	seen[id] = true
	if v.Before != nil {
		if k, ok := fieldInt(v.Before, kc); ok {
			if ak, ok2 := fieldInt(v.After, kc); !ok2 || ak != k || v.Op == "d" {
				if s := st.keys[k]; s != nil {
					s.deleted = true
				} else {
					st.keys[k] = &kstate{deleted: true}
				}
			}
		}
	}
	if v.After == nil {
		if v.Op != "d" {
			st.bad = append(st.bad, fmt.Sprintf("offset %d: op %q without after", m.Offset, v.Op))
		}
		return
	}
	k, ok := fieldInt(v.After, kc)
	if !ok {
		st.bad = append(st.bad, fmt.Sprintf("offset %d: no %s in after", m.Offset, kc))
		return
	}
	s := st.keys[k]
	if s == nil {
		s = &kstate{}
		st.keys[k] = s
	}
	prev := *s
	s.deleted, s.ver, s.offset, s.op = false, aver, m.Offset, v.Op
	if sum, ok := fieldSum(v.After, textCol(table)); ok {
		s.sum = sum
	} else if prev.deleted || prev.sum == "" {
		s.sum = "unavailable" // placeholder with nothing earlier to keep
	}
}

// readTopics reads every topic named prefix.<schema>.<table> from its start to its end
// (read_committed: records of aborted --exactly-once transactions do not count) and folds
// each into its table's state.
func readTopics(ctx context.Context, brokers, prefix string) (map[string]*topicState, error) {
	cc := kafka.ClientConfig{Brokers: kafka.ParseBrokers(brokers)}
	opts, err := cc.Kgo("torture-check", nil)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var resp *kmsg.MetadataResponse
	err = cc.Retry(ctx, nil, "list topics", func() error {
		resp, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl) // no topics: all of them
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[string]*topicState{}
	for _, t := range resp.Topics {
		var topic string
		if t.Topic != nil {
			topic = *t.Topic
		}
		if !strings.HasPrefix(topic, prefix+".") {
			continue
		}
		table := topic[strings.LastIndexByte(topic, '.')+1:]
		if len(t.Partitions) != 1 {
			// Order across partitions is not defined; the harness makes every topic with one.
			return nil, fmt.Errorf("topic %s has %d partitions, the checker needs 1", topic, len(t.Partitions))
		}
		st := newTopicState(table)
		out[table] = st
		err = cc.ReadCommittedToEnd(ctx, nil, topic, 0, func(m *kgo.Record) error {
			st.add(m)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tableResult is the checker's verdict on one table.
type tableResult struct {
	Table       string   `json:"table"`
	SourceRows  int      `json:"source_rows"`
	Records     int      `json:"records"`
	Missing     int      `json:"missing"`
	Differing   int      `json:"differing"`
	Undeleted   int      `json:"undeleted"`
	Duplicates  int      `json:"duplicates"`
	Unreadable  int      `json:"unreadable"`
	Unavailable int      `json:"unavailable"` // Debezium's TOAST placeholder with no earlier value to keep: documented, not a loss
	Examples    []string `json:"examples,omitempty"`
	Notes       []string `json:"notes,omitempty"` // examples of unavailable rows
}

func (r *tableResult) example(format string, args ...any) {
	if len(r.Examples) < 5 {
		r.Examples = append(r.Examples, fmt.Sprintf(format, args...))
	}
}

// note keeps a few examples of what is reported but fails nothing (the TOAST placeholder), apart,
// so that they never crowd out a failure's.
func (r *tableResult) note(format string, args ...any) {
	if len(r.Notes) < 2 {
		r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
	}
}

// sourceRows reads key, version and SHA-256 of the text column of every row of a table.
func sourceRows(ctx context.Context, db sqlDB, pg bool, table string) (map[int64]kstate, error) {
	// SHA-256, since MySQL 9 has no MD5() any more.
	sumExpr := "SHA2(" + textCol(table) + ", 256)"
	if pg {
		sumExpr = "encode(sha256(convert_to(" + textCol(table) + ", 'UTF8')), 'hex')"
	}
	m := map[int64]kstate{}
	err := db.Query(ctx, "SELECT "+keyCol(table)+", ver, "+sumExpr+" FROM "+table, func(scan func(...any) error) error {
		var id int64
		var s kstate
		if err := scan(&id, &s.ver, &s.sum); err != nil {
			return err
		}
		m[id] = s
		return nil
	})
	return m, err
}

// readSource reads every workload table of the source and compares it with the workload's own
// truth (a mismatch there is the database's or the harness's fault, not sluice's): r gets the
// count and a few examples.
func readSource(ctx context.Context, db sqlDB, w *workload, r *pathResult) (map[string]map[int64]kstate, error) {
	out := map[string]map[int64]kstate{}
	ex := func(format string, args ...any) {
		r.TruthMismatch++
		if len(r.TruthExamples) < 5 {
			r.TruthExamples = append(r.TruthExamples, fmt.Sprintf(format, args...))
		}
	}
	for _, t := range tables {
		src, err := sourceRows(ctx, db, w.d.pg, t)
		if err != nil {
			return nil, fmt.Errorf("read source %s: %w", t, err)
		}
		out[t] = src
		truth := w.Truth(t)
		for id, tr := range truth {
			if s, ok := src[id]; !ok || s.ver != tr.ver {
				ex("%s %s=%d: workload wrote ver %d, source has %v", t, keyCol(t), id, tr.ver, s.ver)
			}
		}
		for id := range src {
			if _, ok := truth[id]; !ok {
				ex("%s %s=%d: in the source, the workload deleted it or never wrote it", t, keyCol(t), id)
			}
		}
	}
	return out, nil
}

// compare compares the source tables with one sink's latest state per key. A sink state
// "unavailable" (the unchanged-TOAST placeholder with nothing earlier to keep) is Debezium's
// documented behaviour when the key's first record already has it; placeholderOK, when set,
// says whether that can be so for a key (ClickHouse: the workload's truth knows), and where it
// cannot, the row counts as differing.
func compare(source map[string]map[int64]kstate, states map[string]*topicState, placeholderOK func(table string, id int64) bool) []tableResult {
	var out []tableResult
	for _, t := range tables {
		src := source[t]
		st := states[t]
		if st == nil {
			st = newTopicState(t) // no topic or table: every source row is missing
		}
		r := tableResult{Table: t, SourceRows: len(src), Records: st.records, Duplicates: st.duplicates, Unreadable: len(st.bad)}
		for _, b := range st.bad {
			r.example("unreadable record: %s", b)
		}
		for _, d := range st.dupExample {
			r.example("%s", d)
		}
		ids := make([]int64, 0, len(src))
		for id := range src {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			s := src[id]
			k := st.keys[id]
			switch {
			case k == nil || k.deleted:
				r.Missing++
				r.example("%s %s=%d ver %d: in the source, not in the sink (deleted there: %v)", t, keyCol(t), id, s.ver, k != nil)
			case k.ver == s.ver && k.sum == "unavailable" && (placeholderOK == nil || placeholderOK(t, id)):
				r.Unavailable++
				r.note("%s %s=%d ver %d: TOAST placeholder with no earlier value (op %s at offset/version %d)", t, keyCol(t), id, s.ver, k.op, k.offset)
			case k.ver != s.ver || k.sum != s.sum:
				r.Differing++
				r.example("%s %s=%d: source ver %d sha256 %s, sink ver %d sha256 %s (op %s at offset/version %d)", t, keyCol(t), id, s.ver, s.sum, k.ver, k.sum, k.op, k.offset)
			}
		}
		for id, k := range st.keys {
			if _, ok := src[id]; !ok && !k.deleted {
				r.Undeleted++
				r.example("%s %s=%d: deleted in the source, present in the sink (ver %d)", t, keyCol(t), id, k.ver)
			}
		}
		out = append(out, r)
	}
	return out
}

// progress watches a sink's progress (a sample that grows as records land: the topics' end
// offsets, or the newest _version of each ClickHouse table) and keeps the longest time it did
// not move while changes were waiting for it: the workload had committed rows after the last
// advance. A source that is down (nothing committed) is no stall of the pipeline.
type progress struct {
	writes func() int64 // rows the workload has committed

	mu         sync.Mutex
	last       []uint64
	lastAt     time.Time
	lastWrites int64 // writes at the last advance
	longest    time.Duration
	at         time.Time // when the longest stall ended (or was last seen)
}

// Run samples every 500 ms until ctx ends; sample is called with a cancelled ctx once at the
// end, to release what it holds.
func (p *progress) Run(ctx context.Context, sample func(ctx context.Context) ([]uint64, error)) {
	p.mu.Lock()
	p.lastAt = time.Now()
	p.mu.Unlock()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.observe(nil)
			sample(ctx)
			return
		case <-tick.C:
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := sample(sctx)
		cancel()
		if err != nil {
			v = nil
		}
		p.observe(v)
	}
}

// observe records a sample; nil means "could not tell", which counts as no progress. Any
// component larger than before is an advance.
func (p *progress) observe(v []uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	w := p.writes()
	advanced := false
	for i, x := range v {
		if i >= len(p.last) || x > p.last[i] {
			advanced = true
		}
	}
	if advanced {
		p.last, p.lastAt, p.lastWrites = append(p.last[:0], v...), now, w
		return
	}
	if w == p.lastWrites {
		p.lastAt = now // nothing new to deliver: not stalled
		return
	}
	if d := now.Sub(p.lastAt); d > p.longest {
		p.longest, p.at = d, now
	}
}

func (p *progress) Longest() (time.Duration, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.longest, p.at
}
