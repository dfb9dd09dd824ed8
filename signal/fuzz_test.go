package signal

import (
	"errors"
	"testing"
)

// FuzzParse: any id, type and data parse to a Signal or an *Error, never a panic; a parsed
// snapshot signal's patterns are usable.
func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{
		{"execute-snapshot", `{"data-collections": ["public.orders"], "type": "incremental"}`},
		{"execute-snapshot", `{"data-collections": ["inventory\\.prod.*"], "type": "BLOCKING"}`},
		{"execute-snapshot", `{"data-collections": ["public.orders"], "additional-conditions": [{"data-collection": "public.orders", "filter": "id > 10"}], "surrogate-key": "ts"}`},
		{"execute-snapshot", `{"data-collections": ["public.orders"], "additional-condition": "id > 10"}`},
		{"stop-snapshot", `{"type": "incremental"}`},
		{"pause-snapshot", ``},
		{"resume-snapshot", `null`},
		{"log", `{"message": "at {}"}`},
		{"log", `{"message": 5}`},
		{"execute-snapshot", `{"data-collections": ["(("]}`},
	} {
		f.Add("id-1", s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, id, typ string, data []byte) {
		sig, err := Parse(id, typ, data)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *signal.Error", err)
			}
			_ = err.Error()
			return
		}
		if sig.Snapshot != nil {
			sig.Snapshot.Matches("public.orders")
			sig.Snapshot.Filter("public.orders")
			if sig.Type == ExecuteSnapshot && len(sig.Snapshot.DataCollections) == 0 {
				t.Fatal("execute-snapshot parsed without data-collections")
			}
		}
		sig.LogMessage("pos")
	})
}

// FuzzParseKafka: any message value of the connector's key parses or fails with an *Error.
func FuzzParseKafka(f *testing.F) {
	f.Add([]byte(`{"type": "execute-snapshot", "data": {"data-collections": ["public.orders"], "type": "INCREMENTAL"}}`))
	f.Add([]byte(`{"id": "x", "type": "log", "data": "{\"message\": \"m\"}"}`))
	f.Add([]byte(`{"type": "pause-snapshot"}`))
	f.Add([]byte(`{"type": 1, "data": []}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		_, ok, err := ParseKafka("dbserver1", []byte("dbserver1"), value, 0, 1)
		if !ok {
			t.Fatal("own key ignored")
		}
		var se *Error
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error %v is not a *signal.Error", err)
		}
	})
}
