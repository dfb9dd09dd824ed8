package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// The snapshot progress display reads capture.Stats.Snapshot, which both sources fill the
// same way: on a terminal a block of lines (a total, then one line per table being read) that
// is redrawn in place every second; otherwise a log line every --progress-interval.

// tableProgress is one table as the display sees it at one sample.
type tableProgress struct {
	Name           string
	Rows, Estimate int64
	Done           bool
	Rate           float64 // rows/s, smoothed; 0: unknown
}

// progressRate smooths rows/s over samples: a new sample weighs a third.
func progressRate(prev float64, rows, prevRows int64, dt time.Duration) float64 {
	if dt <= 0 || rows < prevRows {
		return prev
	}
	r := float64(rows-prevRows) / dt.Seconds()
	if prev == 0 {
		return r
	}
	return prev*2/3 + r/3
}

// humanCount writes n with a k/M/G suffix from 10 000 on.
func humanCount(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fG", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", n/1e6)
	case n >= 10e3:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}

// eta is how long the rest takes at rate; ok is false when unknown (no estimate, no rate, or
// the estimate already passed).
func eta(rows, estimate int64, rate float64) (time.Duration, bool) {
	if estimate <= 0 || rate <= 0 || rows >= estimate {
		return 0, false
	}
	return time.Duration(float64(estimate-rows) / rate * float64(time.Second)).Round(time.Second), true
}

// percent of rows done: the catalog's estimate is approximate, so a table still being read
// never shows 100 %.
func percent(rows, estimate int64, done bool) string {
	switch {
	case done:
		return "100%"
	case estimate <= 0:
		return "?%"
	}
	return fmt.Sprintf("%.1f%%", min(99.9, 100*float64(rows)/float64(estimate)))
}

// progressLine renders one table: name, rows / estimate, percentage, rate and ETA.
func progressLine(t tableProgress, width int) string {
	est := "?"
	if t.Estimate > 0 {
		est = "~" + humanCount(float64(t.Estimate))
	}
	s := fmt.Sprintf("%-*s %9s / %-8s rows %6s", width, t.Name, humanCount(float64(t.Rows)), est, percent(t.Rows, t.Estimate, t.Done))
	switch {
	case t.Done:
		s += "  done"
	case t.Rate > 0:
		s += fmt.Sprintf("  %8s rows/s", humanCount(t.Rate))
		if d, ok := eta(t.Rows, t.Estimate, t.Rate); ok {
			s += "  ETA " + d.String()
		}
	}
	return s
}

// progressTotal sums the tables for the first line.
func progressTotal(tables []tableProgress, total, remaining int64) tableProgress {
	t := tableProgress{Name: fmt.Sprintf("snapshot: %d of %d tables done", max(0, total-remaining), total)}
	known := true
	for _, x := range tables {
		t.Rows += x.Rows
		t.Rate += x.Rate
		if x.Done {
			t.Estimate += x.Rows
		} else {
			t.Estimate += x.Estimate
			known = known && x.Estimate > 0
		}
	}
	if !known {
		t.Estimate = 0
	}
	t.Done = total > 0 && remaining == 0
	return t
}

// maxProgressLines bounds the per-table lines of the terminal display (tables being read come
// first; parallel readers rarely read more at once).
const maxProgressLines = 12

// renderProgress returns the terminal block: the total, then the tables being read, then the
// most recently finished ones, at most maxProgressLines of them.
func renderProgress(tables []tableProgress, total, remaining int64) []string {
	var shown []tableProgress
	for _, t := range tables {
		if !t.Done && t.Rows > 0 {
			shown = append(shown, t)
		}
	}
	shown = shown[:min(len(shown), maxProgressLines)]
	width := len("snapshot")
	for _, t := range shown {
		width = max(width, len(t.Name))
	}
	width = min(width, 48)
	tot := progressTotal(tables, total, remaining)
	lines := []string{tot.Name, progressLine(tableProgress{Name: "all", Rows: tot.Rows, Estimate: tot.Estimate, Done: tot.Done, Rate: tot.Rate}, width)}
	for _, t := range shown {
		lines = append(lines, progressLine(t, width))
	}
	return lines
}

// progressAttrs are the attributes of a log line for t.
func progressAttrs(t tableProgress) []any {
	attrs := []any{slog.String("table", t.Name), slog.Int64("rows", t.Rows), slog.Int64("estimate", t.Estimate),
		slog.String("percent", percent(t.Rows, t.Estimate, t.Done)), slog.Int64("rows_per_s", int64(t.Rate))}
	if d, ok := eta(t.Rows, t.Estimate, t.Rate); ok {
		attrs = append(attrs, slog.String("eta", d.String()))
	}
	return attrs
}

// progress samples capture.Stats.Snapshot and shows it.
type progress struct {
	stats *capture.SnapshotStats
	last  map[string]tableProgress // previous sample
	at    time.Time
}

func (p *progress) sample(now time.Time) []tableProgress {
	dt := now.Sub(p.at)
	var out []tableProgress
	next := make(map[string]tableProgress, len(p.last))
	for _, t := range p.stats.Tables() {
		x := tableProgress{Name: t.Name, Rows: t.Rows.Load(), Estimate: t.Estimate.Load(), Done: t.Done.Load()}
		prev := p.last[t.Name] // a table new since the last sample started from 0 rows
		x.Rate = progressRate(prev.Rate, x.Rows, prev.Rows, dt)
		if x.Done {
			x.Rate = 0
		}
		next[t.Name] = x
		out = append(out, x)
	}
	p.last, p.at = next, now
	return out
}

// runProgress shows the snapshot progress until ctx ends: redrawn every second on term (a
// terminal), else logged every interval (0: never).
func runProgress(ctx context.Context, s *capture.SnapshotStats, term *termWriter, interval time.Duration, log *slog.Logger) {
	every := interval
	if term != nil {
		every = time.Second
	}
	if every <= 0 {
		return
	}
	p := &progress{stats: s, at: time.Now()}
	t := time.NewTicker(every)
	defer t.Stop()
	wasRunning := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		running := s.Running.Load()
		if !running && !wasRunning {
			p.sample(time.Now()) // keep the rates' base current
			continue
		}
		tables := p.sample(time.Now())
		total, remaining := s.TotalTables.Load(), s.RemainingTables.Load()
		if term != nil {
			term.draw(renderProgress(tables, total, remaining))
			if !running {
				term.keep() // the final state stays on screen above the logs that follow
			}
		} else {
			tot := progressTotal(tables, total, remaining)
			attrs := append([]any{slog.Int64("tables_done", total-remaining), slog.Int64("tables", total)}, progressAttrs(tot)[1:]...)
			log.Info("snapshot progress", attrs...)
			for _, x := range tables {
				if !x.Done && x.Rows > 0 {
					log.Info("snapshot progress", progressAttrs(x)...)
				}
			}
		}
		wasRunning = running
	}
}

// termWriter is standard error on a terminal, shared by the logger and the progress block:
// a log line first erases the block (it is drawn again below the line at the next tick), so
// the two never overwrite each other.
type termWriter struct {
	mu    sync.Mutex
	w     io.Writer
	shown int // lines of the block on screen, just above the cursor
}

// stderrTerm is os.Stderr wrapped when it is a terminal, else nil.
var stderrTerm = func() *termWriter {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		return &termWriter{w: os.Stderr}
	}
	return nil
}()

// logOutput is where the logger writes: through stderrTerm on a terminal.
func logOutput() io.Writer {
	if stderrTerm != nil {
		return stderrTerm
	}
	return os.Stderr
}

func (t *termWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.erase()
	return t.w.Write(b)
}

// erase moves up over the block and clears to the end of the screen.
func (t *termWriter) erase() {
	if t.shown > 0 {
		fmt.Fprintf(t.w, "\x1b[%dF\x1b[J", t.shown)
		t.shown = 0
	}
}

func (t *termWriter) draw(lines []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.erase()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\x1b[K\n")
	}
	io.WriteString(t.w, b.String())
	t.shown = len(lines)
}

// keep leaves the block on screen as it is: the next write goes below it.
func (t *termWriter) keep() {
	t.mu.Lock()
	t.shown = 0
	t.mu.Unlock()
}
