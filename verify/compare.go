package verify

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"
)

// Sum is what a side returns for a range instead of its rows: the row count and the sum of
// the row hashes modulo 2^64.
type Sum struct {
	Rows int64
	Hash uint64
}

// Segment is the inclusive range [Lo, Hi] of partition values (Table.Ranged: the first key
// column; otherwise the 60-bit key hash).
type Segment struct{ Lo, Hi int64 }

// HashSpan is the range of the key hash of tables that are not Ranged.
var HashSpan = Segment{0, 1<<60 - 1}

// Side is one database the comparison reads. Every method only reads (SELECT).
type Side interface {
	// Span returns the smallest and largest partition value of t's rows (HashSpan for
	// tables that are not Ranged), ok false when t has no rows, and an estimate of its row
	// count (it sizes the first split; it need not be exact).
	Span(ctx context.Context, t *Table) (seg Segment, rows int64, ok bool, err error)
	// Sums returns, for t's current rows with a partition value p in seg, the Sum of each
	// bucket (p - seg.Lo) / width (unsigned arithmetic), leaving out empty buckets.
	Sums(ctx context.Context, t *Table, seg Segment, width uint64) (map[uint64]Sum, error)
	// Rows returns the canonical key text → row hash of t's current rows in segs.
	Rows(ctx context.Context, t *Table, segs []Segment) (map[string]uint64, error)
}

// Config tunes Compare; zero values mean the defaults written beside the fields.
type Config struct {
	// LeafRows: a differing range with at most 4 × LeafRows rows on either side is compared
	// key by key (its keys and row hashes are read); a bigger one is split into ranges of
	// about LeafRows rows. Defaults to 2000.
	LeafRows int
	// MaxBuckets bounds the ranges one Sums call returns. Defaults to 4096.
	MaxBuckets int
	// RecheckTimeout: while ranges differ, read them again every RecheckInterval until they
	// agree or this much time has passed since the first pass (a running pipeline catches
	// up). 0: report the first pass.
	RecheckTimeout  time.Duration
	RecheckInterval time.Duration // defaults to 5s
	MaxKeys         int           // keys kept per kind (missing, differing, extra) per table; defaults to 20
	Logger          *slog.Logger  // defaults to discard
}

func (c *Config) setDefaults() {
	if c.LeafRows <= 0 {
		c.LeafRows = 2000
	}
	if c.MaxBuckets <= 0 {
		c.MaxBuckets = 4096
	}
	if c.RecheckInterval <= 0 {
		c.RecheckInterval = 5 * time.Second
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Result is the comparison of one table.
type Result struct {
	Table, SinkTable     string
	SourceRows, SinkRows int64
	// Missing: keys in the source, not in the sink (or deleted there). Differing: keys in
	// both whose compared columns differ. Extra: keys in the sink (not deleted) that the
	// source does not have.
	Missing, Differing, Extra             int64
	MissingKeys, DifferingKeys, ExtraKeys []string // the first Config.MaxKeys of each, sorted
	Excluded                              []Excluded
	// Parked: records the sink set aside for this table (sink/clickhouse's _sluice_parked),
	// filled by the caller; they explain missing or stale rows until replayed.
	Parked      int64
	Skip        string
	SinkMissing bool
	Compared    int // columns compared
	Rechecks    int // passes over the differing ranges after the first
	Elapsed     time.Duration
}

// Clean reports whether the table was compared and no difference was found.
func (r *Result) Clean() bool {
	return r.Skip == "" && !r.SinkMissing && r.Missing == 0 && r.Differing == 0 && r.Extra == 0
}

// leaf is a group of ranges compared key by key.
type leaf struct {
	segs           []Segment
	srcN, sinkN    int64 // rows at the last read
	missing, extra []string
	differing      []string
}

func (l *leaf) differs() bool { return len(l.missing)+len(l.extra)+len(l.differing) > 0 }

// Compare compares one planned table on src and sink. It returns an error only when a side
// fails; differences are in the Result.
func Compare(ctx context.Context, cfg Config, src, sink Side, p *Plan) (*Result, error) {
	cfg.setDefaults()
	start := time.Now()
	r := &Result{Table: p.Name(), SinkTable: p.Sink.Schema + "." + p.Sink.Name, Excluded: p.Excluded,
		Skip: p.Skip, SinkMissing: p.SinkMissing, Compared: len(p.Source.Columns)}
	if p.Skip != "" {
		return r, nil
	}
	log := cfg.Logger.With("table", r.Table)
	if p.SinkMissing {
		seg, _, ok, err := src.Span(ctx, &p.Source)
		if err != nil || !ok {
			return r, err
		}
		sums, err := src.Sums(ctx, &p.Source, seg, ^uint64(0))
		if err != nil {
			return r, err
		}
		for _, s := range sums {
			r.SourceRows += s.Rows
		}
		r.Missing = r.SourceRows
		return r, nil
	}
	var (
		sseg, kseg   Segment
		sRows, kRows int64
		sok, kok     bool
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { sseg, sRows, sok, err = src.Span(gctx, &p.Source); return })
	g.Go(func() (err error) { kseg, kRows, kok, err = sink.Span(gctx, &p.Sink); return })
	if err := g.Wait(); err != nil {
		return r, err
	}
	if !sok && !kok {
		r.Elapsed = time.Since(start)
		return r, nil
	}
	seg := sseg
	switch {
	case !sok:
		seg = kseg
	case kok:
		seg.Lo, seg.Hi = min(sseg.Lo, kseg.Lo), max(sseg.Hi, kseg.Hi)
	}
	w := &walker{cfg: cfg, log: log, src: src, sink: sink, p: p}
	if err := w.split(ctx, seg, max(sRows, kRows)); err != nil {
		return r, err
	}
	w.leaves = w.group()
	if err := w.compareLeaves(ctx, w.leaves); err != nil {
		return r, err
	}
	deadline := start.Add(cfg.RecheckTimeout)
	for {
		var differ []*leaf
		for _, l := range w.leaves {
			if l.differs() {
				differ = append(differ, l)
			}
		}
		if len(differ) == 0 || cfg.RecheckTimeout <= 0 || time.Now().Add(cfg.RecheckInterval).After(deadline) {
			break
		}
		log.Info("verify: ranges differ; reading them again after a wait (the sink may be catching up)",
			"ranges", len(differ), "wait", cfg.RecheckInterval.String())
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(cfg.RecheckInterval):
		}
		if err := w.compareLeaves(ctx, differ); err != nil {
			return r, err
		}
		r.Rechecks++
	}
	r.SourceRows, r.SinkRows = w.srcRows, w.sinkRows
	for _, l := range w.leaves {
		r.SourceRows += l.srcN
		r.SinkRows += l.sinkN
		r.Missing += int64(len(l.missing))
		r.Extra += int64(len(l.extra))
		r.Differing += int64(len(l.differing))
		r.MissingKeys = append(r.MissingKeys, l.missing...)
		r.ExtraKeys = append(r.ExtraKeys, l.extra...)
		r.DifferingKeys = append(r.DifferingKeys, l.differing...)
	}
	r.MissingKeys = firstKeys(r.MissingKeys, cfg.MaxKeys)
	r.ExtraKeys = firstKeys(r.ExtraKeys, cfg.MaxKeys)
	r.DifferingKeys = firstKeys(r.DifferingKeys, cfg.MaxKeys)
	r.Elapsed = time.Since(start)
	return r, nil
}

// walker holds the state of one table's comparison.
type walker struct {
	cfg       Config
	log       *slog.Logger
	src, sink Side
	p         *Plan
	segs      []Segment // differing ranges small enough to compare key by key
	segRows   []int64   // their larger row count
	leaves    []*leaf
	// rows of the ranges that agreed (the leaves add theirs at the end)
	srcRows, sinkRows int64
}

// span is the number of values in seg (0 means 2^64).
func span(seg Segment) uint64 { return uint64(seg.Hi) - uint64(seg.Lo) + 1 }

// split reads the Sums of seg cut into ranges of about LeafRows rows (rows: an estimate of
// its rows) and goes down into the ranges that differ; ranges small enough become leaves.
func (w *walker) split(ctx context.Context, seg Segment, rows int64) error {
	n := uint64(rows/int64(w.cfg.LeafRows)) + 1
	n = min(n, uint64(w.cfg.MaxBuckets))
	sp := span(seg)
	var width uint64
	if sp == 0 { // the whole int64 range
		width = ^uint64(0)/n + 1
	} else {
		width = sp / n
		if sp%n != 0 {
			width++
		}
	}
	if width == 0 {
		width = 1
	}
	var (
		a, b   map[uint64]Sum
		ta, tb time.Duration
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		t0 := time.Now()
		a, err = w.src.Sums(gctx, &w.p.Source, seg, width)
		ta = time.Since(t0)
		return
	})
	g.Go(func() (err error) {
		t0 := time.Now()
		b, err = w.sink.Sums(gctx, &w.p.Sink, seg, width)
		tb = time.Since(t0)
		return
	})
	if err := g.Wait(); err != nil {
		return err
	}
	w.log.Debug("verify: range sums", "lo", seg.Lo, "hi", seg.Hi, "width", width, "ranges", len(a),
		"source_time", ta.Round(time.Millisecond).String(), "sink_time", tb.Round(time.Millisecond).String())
	idx := make([]uint64, 0, len(a)+len(b))
	for i := range a {
		idx = append(idx, i)
	}
	for i := range b {
		if _, ok := a[i]; !ok {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
	for _, i := range idx {
		x, y := a[i], b[i]
		if x == y {
			w.srcRows += x.Rows
			w.sinkRows += y.Rows
			continue
		}
		child := Segment{Lo: int64(uint64(seg.Lo) + i*width), Hi: seg.Hi}
		if rest := uint64(seg.Hi) - uint64(child.Lo); width-1 < rest {
			child.Hi = int64(uint64(child.Lo) + width - 1)
		}
		big := max(x.Rows, y.Rows)
		if big <= 4*int64(w.cfg.LeafRows) || child.Lo == child.Hi {
			w.segs = append(w.segs, child)
			w.segRows = append(w.segRows, big)
			continue
		}
		if err := w.split(ctx, child, big); err != nil {
			return err
		}
	}
	return nil
}

// compareLeaves reads the keys and row hashes of each group's ranges on both sides (one
// query per side per group) and records its differences.
func (w *walker) compareLeaves(ctx context.Context, ls []*leaf) error {
	for _, l := range ls {
		var a, b map[string]uint64
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) { a, err = w.src.Rows(gctx, &w.p.Source, l.segs); return })
		g.Go(func() (err error) { b, err = w.sink.Rows(gctx, &w.p.Sink, l.segs); return })
		if err := g.Wait(); err != nil {
			return err
		}
		l.srcN, l.sinkN = int64(len(a)), int64(len(b))
		l.missing, l.extra, l.differing = nil, nil, nil
		for k, h := range a {
			if h2, ok := b[k]; !ok {
				l.missing = append(l.missing, k)
			} else if h2 != h {
				l.differing = append(l.differing, k)
			}
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				l.extra = append(l.extra, k)
			}
		}
	}
	return nil
}

// group packs the differing ranges into leaves, each read with one query per side: 64 ranges
// of a Ranged table (index range scans), or, since every query on a hashed key scans the
// whole table, as many as hold about 128 × LeafRows rows.
func (w *walker) group() []*leaf {
	var out []*leaf
	var cur *leaf
	var rows int64
	for i, seg := range w.segs {
		full := cur != nil && (w.p.Source.Ranged && len(cur.segs) >= 64 ||
			!w.p.Source.Ranged && (rows+w.segRows[i] > 128*int64(w.cfg.LeafRows) || len(cur.segs) >= 4096))
		if cur == nil || full {
			cur, rows = &leaf{}, 0
			out = append(out, cur)
		}
		cur.segs = append(cur.segs, seg)
		rows += w.segRows[i]
	}
	return out
}

// firstKeys sorts keys (shorter first, so integer keys read in numeric order) and keeps n.
func firstKeys(keys []string, n int) []string {
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// String is the one-line form of a Result for logs.
func (r *Result) String() string {
	return fmt.Sprintf("%s: source %d rows, sink %d rows, missing %d, differing %d, extra %d",
		r.Table, r.SourceRows, r.SinkRows, r.Missing, r.Differing, r.Extra)
}
