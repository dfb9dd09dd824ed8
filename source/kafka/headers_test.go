package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
)

// TestHeadersPassed: the headers the ClickHouse sink reads reach it (a keyless PostgreSQL
// row's place, a primary-key change's old key), the others do not, and a record without them
// gets none.
func TestHeadersPassed(t *testing.T) {
	got := headers([]kgo.RecordHeader{{Key: "trace", Value: []byte("x")}, {Key: envelope.HeaderLSNEvent, Value: []byte("3")}, {Key: envelope.HeaderOldKey, Value: []byte(`{"id":1}`)}})
	if len(got) != 2 || got[0].Key != envelope.HeaderLSNEvent || string(got[0].Value) != "3" || got[1].Key != envelope.HeaderOldKey {
		t.Fatalf("headers %v, want __sluice.lsn_event and __debezium.oldkey", got)
	}
	if got := headers([]kgo.RecordHeader{{Key: "trace", Value: []byte("x")}}); got != nil {
		t.Fatalf("headers %v, want nil", got)
	}
}
