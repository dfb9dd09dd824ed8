package stdout

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/envelope"
)

// TestAppendStringMatchesJSON checks the plain-ASCII fast path against encoding/json.
func TestAppendStringMatchesJSON(t *testing.T) {
	for _, s := range []string{"", "dbserver1.inventory.orders", "__debezium.oldkey", "a<b>&c", `q"\`,
		"tab\there", "\x7f", "é", "\xff", "\u2028", "x\x00y", "~!@#$%^*()_+{}|:?/.,;'[]=-`"} {
		want, _ := json.Marshal(s)
		if got := string(appendString([]byte("prefix"), s)); got != "prefix"+string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

// TestAppendLineCompact checks that an encoder record (Compact) is embedded as is, and that an
// unmarked record with the same bytes gives the same line.
func TestAppendLineCompact(t *testing.T) {
	rec := envelope.Record{Topic: "db.inv.t", Key: []byte(`{"id":1}`), Value: []byte(`{"op":"c","s":"a\nb"}`),
		Headers: []envelope.Header{{Key: "__debezium.oldkey", Value: []byte(`{"id":0}`)}}, Compact: true}
	want := `{"topic":"db.inv.t","partition":0,"key":{"id":1},"value":{"op":"c","s":"a\nb"},"headers":{"__debezium.oldkey":{"id":0}}}` + "\n"
	if got := string(AppendLine(nil, &rec, 1)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	rec.Compact = false
	if got := string(AppendLine(nil, &rec, 1)); got != want {
		t.Errorf("unmarked: got  %s\nwant %s", got, want)
	}
	tomb := envelope.Record{Topic: "t", Key: []byte(`{"id":1}`), Compact: true}
	if got, want := string(AppendLine(nil, &tomb, 1)), `{"topic":"t","partition":0,"key":{"id":1},"value":null,"headers":{}}`+"\n"; got != want {
		t.Errorf("tombstone: got %s, want %s", got, want)
	}
}

// TestAppendLineTextHeaderOfCompactRecord: a header a transform adds as text (unwrap's
// add.headers: "__db" = a4db) on an encoder record (Compact) is quoted. Before, Compact was
// applied to the headers too and the line read "__db":a4db, not JSON.
func TestAppendLineTextHeaderOfCompactRecord(t *testing.T) {
	rec := envelope.Record{Topic: "t", Key: []byte(`{"id":1}`), Value: []byte(`{"id":1}`), Compact: true,
		Headers: []envelope.Header{{Key: "__db", Value: []byte("a4db")}, {Key: "__debezium.oldkey", Value: []byte(`{"id":0}`)}}}
	line := AppendLine(nil, &rec, 1)
	if !json.Valid(line) {
		t.Fatalf("not JSON: %s", line)
	}
	if want := `"headers":{"__db":"a4db","__debezium.oldkey":{"id":0}}`; !strings.Contains(string(line), want) {
		t.Errorf("got %s, want %s in it", line, want)
	}
}
