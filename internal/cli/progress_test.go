package cli

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

func TestProgressLine(t *testing.T) {
	for _, c := range []struct {
		name string
		in   tableProgress
		want string
	}{
		{"reading", tableProgress{Name: "public.orders", Rows: 1_250_000, Estimate: 5_000_000, Rate: 50_000},
			"public.orders      1.2M / ~5.0M    rows  25.0%     50.0k rows/s  ETA 1m15s"},
		{"no estimate", tableProgress{Name: "public.orders", Rows: 900, Rate: 300},
			"public.orders       900 / ?        rows     ?%       300 rows/s"},
		{"past the estimate", tableProgress{Name: "public.orders", Rows: 120, Estimate: 100, Rate: 10},
			"public.orders       120 / ~100     rows  99.9%        10 rows/s"},
		{"done", tableProgress{Name: "inv.items", Rows: 42, Estimate: 40, Done: true},
			"inv.items            42 / ~40      rows   100%  done"},
		{"no rate yet", tableProgress{Name: "inv.items", Rows: 0, Estimate: 40},
			"inv.items             0 / ~40      rows   0.0%"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := progressLine(c.in, 13); got != c.want {
				t.Errorf("\ngot  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestRenderProgress(t *testing.T) {
	tables := []tableProgress{
		{Name: "a.done", Rows: 100, Estimate: 90, Done: true},
		{Name: "a.big", Rows: 400, Estimate: 1000, Rate: 100},
		{Name: "a.waiting", Estimate: 10},
	}
	got := renderProgress(tables, 3, 2)
	want := []string{
		"snapshot: 1 of 3 tables done",
		"all            500 / ~1110    rows  45.0%       100 rows/s  ETA 6s",
		"a.big          400 / ~1000    rows  40.0%       100 rows/s  ETA 6s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A table without an estimate makes the total's unknown.
	tables[2].Estimate = 0
	if got := renderProgress(tables, 3, 2)[1]; !strings.Contains(got, "?%") {
		t.Errorf("total with an unknown estimate: %q", got)
	}
}

func TestProgressRate(t *testing.T) {
	if r := progressRate(0, 1000, 0, 2*time.Second); r != 500 {
		t.Errorf("first rate %v, want 500", r)
	}
	if r := progressRate(500, 2000, 1000, time.Second); r != 500*2.0/3+1000.0/3 {
		t.Errorf("smoothed rate %v", r)
	}
}

// TestTermWriter: a log line erases the progress block first, so neither overwrites the
// other; a kept block stays.
func TestTermWriter(t *testing.T) {
	var b bytes.Buffer
	w := &termWriter{w: &b}
	w.draw([]string{"one", "two"})
	w.Write([]byte("log line\n"))
	w.draw([]string{"three"})
	w.keep()
	w.Write([]byte("after\n"))
	want := "one\x1b[K\ntwo\x1b[K\n" + "\x1b[2F\x1b[J" + "log line\n" + "three\x1b[K\n" + "after\n"
	if b.String() != want {
		t.Errorf("\ngot  %q\nwant %q", b.String(), want)
	}
}

// TestProgressLogged: off a terminal, a running snapshot's progress is logged every interval
// with percentage, rate and ETA, and once more when it ends.
func TestProgressLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			st  capture.SnapshotStats
			out bytes.Buffer
			mu  sync.Mutex
		)
		log := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return out.Write(b)
		}), nil))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { runProgress(ctx, &st, nil, 10*time.Second, log); close(done) }()
		st.Running.Store(true)
		st.TotalTables.Store(1)
		st.RemainingTables.Store(1)
		tp := st.Table("public.orders")
		tp.Estimate.Store(10_000)
		time.Sleep(500 * time.Millisecond) // rows move between the ticks
		for range 20 {                     // 100 rows/s for 20 s
			tp.Rows.Add(100)
			time.Sleep(time.Second)
		}
		synctest.Wait()
		tp.Done.Store(true)
		st.RemainingTables.Store(0)
		st.Running.Store(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		cancel()
		<-done
		mu.Lock()
		got := out.String()
		mu.Unlock()
		for _, want := range []string{
			`msg="snapshot progress" table=public.orders rows=2000 estimate=10000 percent=20.0% rows_per_s=100 eta=1m20s`,
			`msg="snapshot progress" tables_done=1 tables=1 rows=2000 estimate=2000 percent=100%`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("log lacks %q:\n%s", want, got)
			}
		}
		if n := strings.Count(got, "snapshot progress"); n != 5 { // 10 s, 20 s: total + table; 30 s: total
			t.Errorf("%d progress lines, want 5:\n%s", n, got)
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
