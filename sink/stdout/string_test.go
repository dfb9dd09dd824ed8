package stdout

import (
	"encoding/json"
	"testing"
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
