package mysql

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/schema"
)

// TestTxControl: the binlog Query events the unlocked schema read's DDL check lets pass are
// only those that begin or end a transaction; anything else counts as a possible DDL.
func TestTxControl(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"BEGIN", true},
		{"COMMIT", true},
		{" commit ", true},
		{"ROLLBACK", true},
		{"XA START X'01',X'',1", true},
		{"SAVEPOINT `s1`", true},
		{"ROLLBACK TO `s1`", true},
		{"use `d`; ALTER TABLE t ADD COLUMN c INT", false},
		{"CREATE TABLE d.t (id INT)", false},
		{"DROP TEMPORARY TABLE IF EXISTS `t`", false},
		{"GRANT SELECT ON *.* TO u", false},
		{"", false},
	} {
		if got := txControl(tc.q); got != tc.want {
			t.Errorf("txControl(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

// fakeRows is a snapReader over one table whose integer key runs from 0 to n-1: it answers
// the snapshot's queries as a server would (the key bounds `>=`, `<`, `(k) > (x)` and LIMIT),
// with v = "v<key>", and records every query.
type fakeRows struct {
	n       int64
	queries []string
}

var (
	fakeGE    = regexp.MustCompile("`id` >= (\\d+)")
	fakeLT    = regexp.MustCompile("`id` < (\\d+)")
	fakeAfter = regexp.MustCompile("\\(`id`\\) > \\((\\d+)\\)")
	fakeLimit = regexp.MustCompile(" LIMIT (\\d+)$")
)

func (f *fakeRows) queryRows(_ context.Context, q string, row func(vals [][]byte) error) error {
	f.queries = append(f.queries, q)
	num := func(re *regexp.Regexp, def int64) int64 {
		if m := re.FindStringSubmatch(q); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			return v
		}
		return def
	}
	lo, hi, limit := num(fakeGE, 0), num(fakeLT, f.n), num(fakeLimit, f.n)
	lo = max(lo, num(fakeAfter, -1)+1)
	for k, sent := lo, int64(0); k < min(hi, f.n) && sent < limit; k, sent = k+1, sent+1 {
		if err := row([][]byte{strconv.AppendInt(nil, k, 10), fmt.Appendf(nil, "v%d", k)}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeRows) close() {}

// TestReadUnitOneQuery: a unit (a key range of a split table) is read with one streamed query
// in key order, not in LIMIT chunks of --snapshot-chunk-rows (each chunk's end left the server
// idle until the reader had taken the chunk and sent the next query), and its batches carry
// every row of the range in key order with the last key of each (what a resume starts after).
func TestReadUnitOneQuery(t *testing.T) {
	tab := &schema.Table{ID: schema.TableID{DB: "d", Table: "t"}, PrimaryKey: []int{0},
		Columns: []schema.Column{{Name: "id", Type: "bigint"}, {Name: "v", Type: "varchar"}}}
	s := &Source{cfg: Config{SnapshotChunkRows: 7, Now: time.Now}, snap: &snapshotState{}} // the zero budget: no bound
	lo, hi := int64(100), int64(100+3*snapBatchRows+5)
	u := &snapUnit{lo: &lo, hi: &hi, ch: make(chan *rowBatch, 16)}
	f := &fakeRows{n: 10000}
	if err := s.readUnit(context.Background(), f, tab, u); err != nil {
		t.Fatal(err)
	}
	close(u.ch)
	want := "SELECT `id`,`v` FROM `d`.`t` WHERE `id` >= 100 AND `id` < 1641 ORDER BY `id`"
	if len(f.queries) != 1 || f.queries[0] != want {
		t.Fatalf("%d queries %q, want one: %s", len(f.queries), f.queries[:min(len(f.queries), 3)], want)
	}
	next := lo
	for b := range u.ch {
		for _, r := range b.rows {
			if r[0].Int != next || string(r[1].Bytes) != fmt.Sprintf("v%d", next) {
				t.Fatalf("row %v, want key %d", r, next)
			}
			next++
		}
		if got := string(b.last[0]); got != strconv.FormatInt(next-1, 10) {
			t.Fatalf("batch's last key %s, want %d", got, next-1)
		}
	}
	if next != hi {
		t.Fatalf("rows up to key %d, want %d", next-1, hi-1)
	}
}
