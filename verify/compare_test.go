package verify

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeSide is a table in memory: partition value → row hash (the key text is the value).
type fakeSide struct {
	mu       sync.Mutex
	rows     map[int64]uint64
	ranged   bool
	rowsRead int // rows returned by Rows, to check that only narrowed ranges move
	rowCalls int
	onRows   func(f *fakeSide)
}

func (f *fakeSide) Span(_ context.Context, t *Table) (Segment, int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rows) == 0 {
		return Segment{}, 0, false, nil
	}
	if !f.ranged {
		return HashSpan, int64(len(f.rows)), true, nil
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for p := range f.rows {
		lo, hi = min(lo, p), max(hi, p)
	}
	return Segment{lo, hi}, int64(len(f.rows)), true, nil
}

func (f *fakeSide) Sums(_ context.Context, _ *Table, seg Segment, width uint64) (map[uint64]Sum, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[uint64]Sum{}
	for p, h := range f.rows {
		if p < seg.Lo || p > seg.Hi {
			continue
		}
		b := (uint64(p) - uint64(seg.Lo)) / width
		s := out[b]
		s.Rows++
		s.Hash += h
		out[b] = s
	}
	return out, nil
}

func (f *fakeSide) Rows(_ context.Context, _ *Table, segs []Segment) (map[string]uint64, error) {
	f.mu.Lock()
	out := map[string]uint64{}
	for p, h := range f.rows {
		for _, seg := range segs {
			if p >= seg.Lo && p <= seg.Hi {
				out[strconv.FormatInt(p, 10)] = h
			}
		}
	}
	f.rowsRead += len(out)
	f.rowCalls++
	cb := f.onRows
	f.mu.Unlock()
	if cb != nil {
		cb(f)
	}
	return out, nil
}

func table(n int, step int64) map[int64]uint64 {
	m := map[int64]uint64{}
	for i := 0; i < n; i++ {
		p := int64(i) * step
		m[p] = uint64(p)*0x9E3779B97F4A7C15 + 1
	}
	return m
}

func clone(m map[int64]uint64) map[int64]uint64 {
	c := make(map[int64]uint64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func plan(ranged bool) *Plan {
	return &Plan{Source: Table{Schema: "s", Name: "t", Ranged: ranged}, Sink: Table{Schema: "d", Name: "t", Ranged: ranged}}
}

func TestCompare(t *testing.T) {
	base := table(100000, 3)
	for _, tc := range []struct {
		name                   string
		src, sink              map[int64]uint64
		ranged                 bool
		missing, differ, extra []string
		maxRowsRead            int
	}{
		{name: "equal", src: base, sink: clone(base), ranged: true, maxRowsRead: 0},
		{name: "one of each", ranged: true, src: base, sink: func() map[int64]uint64 {
			m := clone(base)
			delete(m, 3000)   // missing
			m[60000] ^= 1     // differing
			m[299999*3+1] = 5 // extra, past the source's last key
			m[-7] = 9         // extra, before its first
			return m
		}(), missing: []string{"3000"}, differ: []string{"60000"}, extra: []string{"-7", "899998"}, maxRowsRead: 4 * 8 * 100 * 2},
		{name: "a gap of 20 %", ranged: true, src: table(20000, 3), sink: func() map[int64]uint64 {
			m := table(20000, 3)
			for p := range m {
				if p%15 == 0 {
					delete(m, p)
				}
			}
			return m
		}(), maxRowsRead: 2 * 20000},
		{name: "int64 extremes", ranged: true, src: map[int64]uint64{math.MinInt64: 1, 0: 2, math.MaxInt64: 3},
			sink: map[int64]uint64{math.MinInt64: 1, 0: 2, math.MaxInt64: 4}, differ: []string{"9223372036854775807"}},
		{name: "hashed keys", ranged: false, src: table(50000, 1<<40), sink: func() map[int64]uint64 {
			m := table(50000, 1<<40)
			delete(m, 77<<40)
			m[123<<40] ^= 1
			return m
		}(), missing: []string{strconv.FormatInt(77<<40, 10)}, differ: []string{strconv.FormatInt(123<<40, 10)}, maxRowsRead: 2 * 2 * 4 * 100},
		{name: "empty sink", ranged: true, src: table(1000, 1), sink: map[int64]uint64{}, maxRowsRead: 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSide{rows: tc.src, ranged: tc.ranged}
			sink := &fakeSide{rows: tc.sink, ranged: tc.ranged}
			r, err := Compare(context.Background(), Config{LeafRows: 100, MaxKeys: 1 << 20}, src, sink, plan(tc.ranged))
			if err != nil {
				t.Fatal(err)
			}
			if r.SourceRows != int64(len(tc.src)) || r.SinkRows != int64(len(tc.sink)) {
				t.Errorf("rows %d/%d, want %d/%d", r.SourceRows, r.SinkRows, len(tc.src), len(tc.sink))
			}
			if tc.name == "a gap of 20 %" || tc.name == "empty sink" {
				want := len(tc.src) - len(tc.sink)
				if r.Missing != int64(want) || r.Differing != 0 || r.Extra != 0 {
					t.Errorf("missing %d differing %d extra %d, want %d 0 0", r.Missing, r.Differing, r.Extra, want)
				}
			} else {
				check := func(what string, got []string, n int64, want []string) {
					if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) || n != int64(len(want)) {
						t.Errorf("%s: %v (%d), want %v", what, got, n, want)
					}
				}
				check("missing", r.MissingKeys, r.Missing, tc.missing)
				check("differing", r.DifferingKeys, r.Differing, tc.differ)
				check("extra", r.ExtraKeys, r.Extra, tc.extra)
			}
			if tc.maxRowsRead > 0 && src.rowsRead+sink.rowsRead > tc.maxRowsRead {
				t.Errorf("read %d rows to find the differences, want ≤ %d", src.rowsRead+sink.rowsRead, tc.maxRowsRead)
			}
			if tc.maxRowsRead == 0 && tc.name == "equal" && src.rowsRead+sink.rowsRead != 0 {
				t.Errorf("equal tables: read %d rows", src.rowsRead+sink.rowsRead)
			}
		})
	}
}

// TestCompareRecheck: a sink that catches up between the first pass and the re-check is
// reported clean; one that does not is reported with its keys once the bound has passed.
func TestCompareRecheck(t *testing.T) {
	src := &fakeSide{rows: table(5000, 1), ranged: true}
	lag := clone(src.rows)
	delete(lag, 4999)
	lag[17] = 0
	sink := &fakeSide{rows: lag, ranged: true}
	sink.onRows = func(f *fakeSide) { // the pipeline delivers after the first read
		f.mu.Lock()
		f.rows = clone(src.rows)
		f.onRows = nil
		f.mu.Unlock()
	}
	cfg := Config{LeafRows: 100, RecheckTimeout: 30 * time.Second, RecheckInterval: time.Millisecond}
	r, err := Compare(context.Background(), cfg, src, sink, plan(true))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Clean() || r.Rechecks != 1 || r.SinkRows != 5000 {
		t.Fatalf("caught up: %+v", r)
	}

	sink = &fakeSide{rows: lag, ranged: true}
	cfg.RecheckTimeout = time.Second // generous: the first pass must leave time for a re-check under -race on a loaded machine
	cfg.RecheckInterval = 20 * time.Millisecond
	r, err = Compare(context.Background(), cfg, src, sink, plan(true))
	if err != nil {
		t.Fatal(err)
	}
	if r.Clean() || r.Rechecks == 0 || fmt.Sprint(r.MissingKeys, r.DifferingKeys) != "[4999] [17]" {
		t.Fatalf("never caught up: %+v", r)
	}
}

func TestCompareSkipAndMissingTable(t *testing.T) {
	p := plan(true)
	p.Skip = "no primary key"
	r, err := Compare(context.Background(), Config{}, &fakeSide{}, &fakeSide{}, p)
	if err != nil || r.Clean() || r.Skip == "" {
		t.Fatalf("skip: %+v %v", r, err)
	}
	p = plan(true)
	p.SinkMissing = true
	r, err = Compare(context.Background(), Config{}, &fakeSide{rows: table(10, 1), ranged: true}, nil, p)
	if err != nil || r.Clean() || r.Missing != 10 || r.SourceRows != 10 {
		t.Fatalf("missing table: %+v %v", r, err)
	}
}

// A hashed key costs a full scan per query: a table that differs everywhere is read key by
// key in few queries, not one per 64 ranges.
func TestCompareHashedGapFewScans(t *testing.T) {
	src := &fakeSide{rows: table(50000, 1<<40)}
	gap := table(50000, 1<<40)
	for p := range gap {
		if (p>>40)%5 == 0 {
			delete(gap, p)
		}
	}
	sink := &fakeSide{rows: gap}
	r, err := Compare(context.Background(), Config{LeafRows: 100}, src, sink, plan(false))
	if err != nil {
		t.Fatal(err)
	}
	if r.Missing != 10000 || r.Extra != 0 || r.Differing != 0 {
		t.Fatalf("%+v", r)
	}
	if src.rowCalls > 5 {
		t.Fatalf("%d queries for the keys, want ≤ 5", src.rowCalls)
	}
}
