package transform

import (
	"bytes"
	"maps"
	"sync"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// TestChainsPerWorker: the pipeline's encode workers each build their own Chain from the same
// properties (one Build per worker) and encode events that share tables and rows. Under -race
// this checks that chains built apart share no state they write, and that each writes what one
// chain writes alone.
func TestChainsPerWorker(t *testing.T) {
	props := unwrapProps("add.fields", "op,table", "add.headers", "op")
	maps.Copy(props, map[string]string{"transforms": "unwrap,Reroute",
		"transforms.Reroute.type":              "io.debezium.transforms.ByLogicalTableRouter",
		"transforms.Reroute.topic.regex":       "(.*)customers(.*)",
		"transforms.Reroute.topic.replacement": "$1all_customers",
		"transforms.Reroute.key.field.name":    "shard_id"})
	evs := []*capture.Event{customerInsert(), customerUpdate(), customerDelete()}
	encode := func(c *Chain) [][]byte {
		var out [][]byte
		for _, ev := range evs {
			recs, err := c.Encode(nil, ev)
			if err != nil {
				t.Error(err)
				return nil
			}
			for _, r := range recs {
				out = append(out, []byte(r.Topic), bytes.Clone(r.Key), bytes.Clone(r.Value))
				for _, h := range r.Headers {
					out = append(out, []byte(h.Key), bytes.Clone(h.Value))
				}
			}
		}
		return out
	}
	for _, schemas := range []bool{false, true} {
		want := encode(chainOf(t, encoderFor(t, "dbserver1", schemas), schemas, props))
		chains := make([]*Chain, 4)
		for i := range chains {
			chains[i] = chainOf(t, encoderFor(t, "dbserver1", schemas), schemas, props)
		}
		var wg sync.WaitGroup
		for _, c := range chains {
			wg.Go(func() {
				for range 100 {
					got := encode(c)
					if len(got) != len(want) {
						t.Errorf("schemas %v: %d parts, want %d", schemas, len(got), len(want))
						return
					}
					for i := range want {
						if !bytes.Equal(got[i], want[i]) {
							t.Errorf("schemas %v: part %d is %q, want %q", schemas, i, got[i], want[i])
							return
						}
					}
				}
			})
		}
		wg.Wait()
	}
}
