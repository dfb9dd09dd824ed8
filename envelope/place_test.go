package envelope

import (
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// lsnPos is a position that knows its change's ordinal at its LSN, as PostgreSQL's does.
type lsnPos int

func (p lsnPos) AppendOffset(dst []byte) []byte { return dst }
func (p lsnPos) LSNEvent() int                  { return int(p) }

// TestPlaceHeader: the changes of a table without a key carry __sluice.lsn_event when their
// position knows it; keyed tables and positions without it get no header.
func TestPlaceHeader(t *testing.T) {
	keyless := &schema.Table{ID: schema.TableID{DB: "db", Schema: "public", Table: "ev"}, Dialect: schema.Postgres,
		Columns: []schema.Column{col("kind", "text", true)}, Version: 1}
	keyed := decimalTable("numeric", 2)
	enc, err := NewEncoder(Config{TopicPrefix: "p", TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		tab  *schema.Table
		op   capture.Op
		pos  capture.Position
		want string
	}{
		{"keyless insert", keyless, capture.OpCreate, lsnPos(3), "3"},
		{"keyless delete", keyless, capture.OpDelete, lsnPos(12), "12"},
		{"keyless, no ordinal", keyless, capture.OpCreate, lsnPos(0), ""},
		{"keyless, position without it", keyless, capture.OpCreate, nil, ""},
		{"keyed", keyed, capture.OpCreate, lsnPos(3), ""},
	} {
		row := capture.Row{str("a")}
		if c.tab == keyed {
			row = capture.Row{capture.IntValue(1), capture.DecimalValue(1, 2)}
		}
		ev := &capture.Event{Kind: capture.Change, Op: c.op, Table: c.tab, Source: capture.Source{Connector: "postgresql"}, Position: c.pos}
		if c.op == capture.OpDelete {
			ev.Before = row
		} else {
			ev.After = row
		}
		recs, err := enc.Encode(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, h := range recs[0].Headers {
			if h.Key == HeaderLSNEvent {
				got = string(h.Value)
			}
		}
		if got != c.want {
			t.Errorf("%s: header %q, want %q", c.name, got, c.want)
		}
		for _, r := range recs[1:] {
			if len(r.Headers) != 0 {
				t.Errorf("%s: a tombstone got headers %v", c.name, r.Headers)
			}
		}
	}
}
