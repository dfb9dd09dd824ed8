package envelope

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestEncodersShareTables: the pipeline's encode workers (internal/pipeline, encode.go) each
// own an Encoder built from one Config, and encode events that share their *schema.Table and
// rows. Under -race this checks that encoding reads those shared values only, and that every
// Encoder writes the bytes one Encoder writes alone.
func TestEncodersShareTables(t *testing.T) {
	orders, accounts := ordersTable(), accountsTable()
	evs := []*capture.Event{
		ordersInsert(orders),
		{Kind: capture.Change, Op: capture.OpRead, Table: accounts, After: accountsRow(2000),
			Source: accountsSource(768, 24023300, 24023200, 1705314660000000)},
		{Kind: capture.Change, Op: capture.OpUpdate, Table: accounts, Before: accountsRow(1999), After: accountsRow(2000),
			Source: accountsSource(768, 24023300, 24023200, 1705314660000000)},
		{Kind: capture.Change, Op: capture.OpDelete, Table: accounts, Before: accountsRow(1999),
			Source: accountsSource(768, 24023300, 24023200, 1705314660000000)},
	}
	now := time.Unix(1705314660, 123456789)
	for _, schemas := range []bool{false, true} {
		cfg := Config{TopicPrefix: "srv", SchemasEnable: schemas, TombstonesOnDelete: true, Now: func() time.Time { return now }}
		encode := func(enc *Encoder) [][]byte {
			var out [][]byte
			for _, ev := range evs {
				recs, err := enc.Encode(nil, ev)
				if err != nil {
					t.Error(err)
					return nil
				}
				for _, r := range recs {
					out = append(out, bytes.Clone(r.Key), bytes.Clone(r.Value))
				}
			}
			return out
		}
		one, err := NewEncoder(cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := encode(one)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				enc, err := NewEncoder(cfg)
				if err != nil {
					t.Error(err)
					return
				}
				for range 200 {
					got := encode(enc)
					for i := range want {
						if i >= len(got) || !bytes.Equal(got[i], want[i]) {
							t.Errorf("schemas %v: part %d differs from one encoder's", schemas, i)
							return
						}
					}
				}
			})
		}
		wg.Wait()
	}
}
