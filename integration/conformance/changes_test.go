//go:build integration

package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// A Want is one record a change case expects on its table's topic, in order.
type Want struct {
	// Op is the value's op ("c", "u", "d"), or "tombstone" for a null value.
	Op string
	// Key is the key's payload as JSON ({"pk":1}); "null" is a Kafka null key.
	Key string
	// Before and After map columns to their JSON values; nil compares nothing. NoBefore and
	// NoAfter say the image must be null.
	Before, After     map[string]string
	NoBefore, NoAfter bool
	// Headers map header names to their JSON value; "" says the header must be absent.
	Headers map[string]string
}

// checks returns how many comparisons w makes (for the report).
func (w Want) checks() int {
	n := 1 + len(w.Before) + len(w.After) + len(w.Headers)
	if w.Key != "" {
		n++
	}
	return n
}

// runChanges creates the change cases' tables and rows, starts the source, and once the
// snapshot has begun (a first read: the stream position is fixed) runs every case's Changes;
// each case's table must then give exactly its Want records, in order, under its Mode.
func runChanges(t *testing.T, ctx context.Context, server string, cases []*Case, exec func(string) error, open func() (source, func(capture.Position) error, error)) {
	type state struct {
		c    *Case
		enc  *envelope.Encoder
		got  []envelope.Record
		n    atomic.Int32 // len(got), for the changes goroutine
		done bool
	}
	byTable := map[string]*state{}
	var mine []*state
	for _, c := range cases {
		if !onServer(c.On, server) || len(c.Want) == 0 {
			continue
		}
		ok := true
		qs := append(append([]string{}, c.Setup...), c.DDL)
		if c.Insert != "" {
			qs = append(qs, c.Insert)
		}
		for _, q := range qs {
			if err := exec(q); err != nil {
				t.Errorf("%s: %s: %v", c.Name, q, err)
				record(c, server, "setup", []string{err.Error()})
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		mode, tombstones := c.Mode, true
		if strings.Contains(mode, "tombstones.on.delete=false") {
			mode, tombstones = strings.TrimSpace(strings.ReplaceAll(mode, "tombstones.on.delete=false", "")), false
			mode = strings.Trim(mode, ",")
		}
		o, err := parseMode(mode)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "conformance", SchemasEnable: true, TombstonesOnDelete: tombstones, Options: o})
		if err != nil {
			t.Fatal(err)
		}
		st := &state{c: c, enc: enc}
		mine = append(mine, st)
		byTable[strings.ToLower(c.table())] = st
	}
	if len(mine) == 0 {
		return
	}
	src, ack, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// The changes run on their own goroutine: DDL among them waits for the snapshot's
	// locks, and the snapshot for this loop to take its reads.
	errc := make(chan error, 1)
	started, written, left := false, false, len(mine)
	for left > 0 {
		select {
		case err := <-errc:
			written = true
			if err != nil {
				t.Fatal(err)
			}
		default:
		}
		ev, err := src.Next(ctx)
		if err != nil {
			var missing []string
			for _, st := range mine {
				if !st.done {
					missing = append(missing, fmt.Sprintf("%s: %d of %d records", st.c.Name, len(st.got), len(st.c.Want)))
				}
			}
			t.Fatalf("Next: %v (waiting for %s)", err, strings.Join(missing, "; "))
		}
		if ev.Position != nil && ack != nil {
			if err := ack(ev.Position); err != nil {
				t.Fatal(err)
			}
		}
		if ev.Kind != capture.Change || ev.Table == nil {
			continue
		}
		if ev.Op == capture.OpRead {
			if !started {
				started = true
				go func() {
					for _, st := range mine {
						for _, q := range st.c.Changes {
							if n, ok := waitStep(q); ok {
								// As Debezium's tests consume each change before the next DDL:
								// the source reads keys from the catalog when it sees the change.
								for int(st.n.Load()) < n && ctx.Err() == nil {
									time.Sleep(5 * time.Millisecond)
								}
								continue
							}
							if err := exec(q); err != nil {
								errc <- fmt.Errorf("%s: %.200s: %v", st.c.Name, q, err)
								return
							}
						}
					}
					errc <- nil
				}()
			}
			continue
		}
		st := byTable[strings.ToLower(ev.Table.ID.Table)]
		if st == nil || st.done {
			continue
		}
		recs, err := st.enc.Encode(nil, &ev)
		if err != nil {
			t.Errorf("%s (%s): encode: %v", st.c.Name, server, err)
			continue
		}
		for _, r := range recs {
			r.Key = append([]byte(nil), r.Key...) // nil stays nil
			if r.Value != nil {
				r.Value = append([]byte(nil), r.Value...)
			}
			hs := make([]envelope.Header, len(r.Headers))
			for i, h := range r.Headers {
				hs[i] = envelope.Header{Key: h.Key, Value: append([]byte(nil), h.Value...)}
			}
			r.Headers = hs
			st.got = append(st.got, r)
		}
		st.n.Store(int32(len(st.got)))
		if len(st.got) >= len(st.c.Want) {
			st.done = true
			left--
			fails := checkChanges(st.c, st.got)
			record(st.c, server, "stream", fails)
			for _, f := range fails {
				t.Errorf("%s (%s): %s", st.c.Name, server, f)
			}
		}
	}
	// The last change may be decoded before its statement returns: the writer must be done
	// before the caller closes its connection (a data race under -race).
	if started && !written {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// wait returns a Changes step that waits until the case has n records.
func wait(n int) string { return fmt.Sprintf("-- wait %d", n) }

func waitStep(q string) (int, bool) {
	var n int
	_, err := fmt.Sscanf(q, "-- wait %d", &n)
	return n, err == nil
}

// checkChanges compares the records of a change case with its Want list.
func checkChanges(c *Case, got []envelope.Record) []string {
	var out []string
	if len(got) != len(c.Want) {
		out = append(out, fmt.Sprintf("%d records, want %d", len(got), len(c.Want)))
	}
	for i, w := range c.Want {
		if i >= len(got) {
			break
		}
		r := got[i]
		tag := fmt.Sprintf("record %d (%s)", i+1, w.Op)
		var key struct {
			Payload json.RawMessage `json:"payload"`
		}
		switch {
		case w.Key == "":
		case w.Key == "null":
			if r.Key != nil {
				out = append(out, fmt.Sprintf("%s: key %s, want null", tag, r.Key))
			}
		case r.Key == nil:
			out = append(out, fmt.Sprintf("%s: key null, want %s", tag, w.Key))
		default:
			if err := json.Unmarshal(r.Key, &key); err != nil {
				out = append(out, fmt.Sprintf("%s: key: %v", tag, err))
			} else if compact(key.Payload) != compact(json.RawMessage(w.Key)) {
				out = append(out, fmt.Sprintf("%s: key %s, want %s", tag, compact(key.Payload), w.Key))
			}
		}
		for h, want := range w.Headers {
			var v []byte
			found := false
			for _, rh := range r.Headers {
				if rh.Key == h {
					v, found = rh.Value, true
				}
			}
			switch {
			case want == "" && found:
				out = append(out, fmt.Sprintf("%s: header %s = %s, want none", tag, h, v))
			case want != "" && !found:
				out = append(out, fmt.Sprintf("%s: no header %s, want %s", tag, h, want))
			case want != "" && compact(v) != compact(json.RawMessage(want)):
				out = append(out, fmt.Sprintf("%s: header %s = %s, want %s", tag, h, compact(v), want))
			}
		}
		if w.Op == "tombstone" {
			if r.Value != nil {
				out = append(out, fmt.Sprintf("%s: value %.200s, want a tombstone", tag, r.Value))
			}
			continue
		}
		if r.Value == nil {
			out = append(out, tag+": a tombstone, want a change")
			continue
		}
		var v struct {
			Payload struct {
				Op     string                     `json:"op"`
				Before map[string]json.RawMessage `json:"before"`
				After  map[string]json.RawMessage `json:"after"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			out = append(out, fmt.Sprintf("%s: %v", tag, err))
			continue
		}
		if v.Payload.Op != w.Op {
			out = append(out, fmt.Sprintf("%s: op %q", tag, v.Payload.Op))
		}
		for _, img := range []struct {
			name string
			none bool
			want map[string]string
			got  map[string]json.RawMessage
		}{{"before", w.NoBefore, w.Before, v.Payload.Before}, {"after", w.NoAfter, w.After, v.Payload.After}} {
			if img.none && img.got != nil {
				out = append(out, fmt.Sprintf("%s: %s is not null", tag, img.name))
			}
			if len(img.want) > 0 && img.got == nil {
				out = append(out, fmt.Sprintf("%s: %s is null", tag, img.name))
				continue
			}
			for col, want := range img.want {
				if g := compact(img.got[col]); g != compact(json.RawMessage(want)) {
					out = append(out, fmt.Sprintf("%s: %s.%s = %.120s, want %.120s", tag, img.name, col, g, want))
				}
			}
		}
	}
	return out
}

// toasted returns n letters and digits that compress badly, so PostgreSQL keeps them out of
// line (TOAST), as Debezium's tests use RandomStringUtils.randomAlphanumeric(10000).
func toasted(seed int64, n int) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	r := rand.New(rand.NewSource(seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[r.Intn(len(alnum))]
	}
	return string(b)
}
