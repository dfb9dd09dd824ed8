package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// golden compares got (as indented JSON) with testdata/golden/<name>.json.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // filters are SQL: keep > and < readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./signal -update)", err)
	}
	if string(want) != string(b) {
		t.Errorf("%s:\ngot  %s\nwant %s", path, b, want)
	}
}

// result is what a golden file holds: the signal, or the error text.
type result struct {
	Signal *Signal `json:"signal,omitempty"`
	Error  string  `json:"error,omitempty"`
}

func resultOf(sig Signal, err error) result {
	if err != nil {
		var se *Error
		if !errors.As(err, &se) {
			return result{Error: "NOT *signal.Error: " + err.Error()}
		}
		return result{Error: err.Error()}
	}
	return result{Signal: &sig}
}

// The data of each case is what an operator inserts into the signal table's data column, as
// in Debezium's documentation of each signal type.
func TestParseGolden(t *testing.T) {
	for _, c := range []struct{ name, id, typ, data string }{
		{"execute_incremental", "ad-hoc-1", "execute-snapshot", `{"data-collections": ["public.orders", "public.items"], "type": "incremental"}`},
		{"execute_default_type", "ad-hoc-2", "execute-snapshot", `{"data-collections": ["inventory.products"]}`},
		{"execute_uppercase_type", "ad-hoc-3", "execute-snapshot", `{"data-collections": ["public.orders"], "type": "INCREMENTAL"}`},
		{"execute_blocking", "ad-hoc-4", "execute-snapshot", `{"type": "blocking", "data-collections": ["public.orders"]}`},
		{"execute_additional_conditions", "ad-hoc-5", "execute-snapshot",
			`{"data-collections": ["public.orders", "public.items"], "type": "incremental", "additional-conditions": [{"data-collection": "public.orders", "filter": "color = 'blue' AND quantity > 10"}]}`},
		{"execute_additional_condition_old", "ad-hoc-6", "execute-snapshot", `{"data-collections": ["public.orders"], "additional-condition": "id > 100"}`},
		{"execute_surrogate_key", "ad-hoc-7", "execute-snapshot", `{"data-collections": ["public.orders"], "surrogate-key": "created_at"}`},
		{"execute_regex", "ad-hoc-8", "execute-snapshot", `{"data-collections": ["public\\.order_.*"]}`},
		{"execute_no_data", "ad-hoc-9", "execute-snapshot", ``},
		{"execute_null_data", "ad-hoc-10", "execute-snapshot", `null`},
		{"execute_no_collections", "ad-hoc-11", "execute-snapshot", `{"type": "incremental"}`},
		{"execute_empty_collection", "ad-hoc-12", "execute-snapshot", `{"data-collections": ["public.orders", " "]}`},
		{"execute_bad_regex", "ad-hoc-13", "execute-snapshot", `{"data-collections": ["public.(orders"]}`},
		{"execute_bad_type", "ad-hoc-14", "execute-snapshot", `{"data-collections": ["public.orders"], "type": "full"}`},
		{"execute_collections_string", "ad-hoc-15", "execute-snapshot", `{"data-collections": "public.orders"}`},
		{"execute_condition_no_filter", "ad-hoc-16", "execute-snapshot", `{"data-collections": ["public.orders"], "additional-conditions": [{"data-collection": "public.orders"}]}`},
		{"execute_both_condition_forms", "ad-hoc-17", "execute-snapshot", `{"data-collections": ["public.orders"], "additional-condition": "id > 1", "additional-conditions": [{"data-collection": "public.orders", "filter": "id > 2"}]}`},
		{"execute_not_json", "ad-hoc-18", "execute-snapshot", `data-collections=public.orders`},
		{"stop_tables", "stop-1", "stop-snapshot", `{"data-collections": ["public.orders"], "type": "incremental"}`},
		{"stop_all", "stop-2", "stop-snapshot", `{"type": "INCREMENTAL"}`},
		{"stop_null", "stop-3", "stop-snapshot", ``},
		{"stop_blocking", "stop-4", "stop-snapshot", `{"type": "blocking"}`},
		{"pause", "pause-1", "pause-snapshot", ``},
		{"pause_typed", "pause-2", "pause-snapshot", `{"type": "incremental"}`},
		{"resume", "resume-1", "resume-snapshot", `{}`},
		{"log", "log-1", "log", `{"message": "Signal message at offset {}"}`},
		{"log_no_message", "log-2", "log", `{}`},
		{"log_no_data", "log-3", "log", ``},
		{"unknown_type", "x-1", "execute-snaphot", `{"data-collections": ["public.orders"]}`},
		{"type_padded", " id ", " log ", ` {"message": "hi"} `},
	} {
		t.Run(c.name, func(t *testing.T) {
			golden(t, "parse_"+c.name, resultOf(Parse(c.id, c.typ, []byte(c.data))))
		})
	}
}

func TestParseKafkaGolden(t *testing.T) {
	for _, c := range []struct{ name, key, value, id string }{
		// Debezium's documented Kafka signal: key = topic.prefix, data an object.
		{"execute", "dbserver1", `{"type": "execute-snapshot", "data": {"data-collections": ["public.orders"], "type": "INCREMENTAL"}}`, ""},
		{"with_id", "dbserver1", `{"id": "my-signal", "type": "pause-snapshot", "data": {"type": "INCREMENTAL"}}`, ""},
		{"data_as_string", "dbserver1", `{"type": "log", "data": "{\"message\": \"hello at {}\"}"}`, ""},
		{"no_data", "dbserver1", `{"type": "resume-snapshot"}`, ""},
		{"no_type", "dbserver1", `{"data": {}}`, ""},
		{"not_json", "dbserver1", `execute-snapshot`, ""},
		{"bad_data", "dbserver1", `{"type": "execute-snapshot", "data": {"data-collections": []}}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			sig, ok, err := ParseKafka("dbserver1", []byte(c.key), []byte(c.value), 2, 41)
			if !ok {
				t.Fatal("ok = false for the connector's own key")
			}
			golden(t, "kafka_"+c.name, resultOf(sig, err))
		})
	}
}

func TestParseKafkaOtherConnector(t *testing.T) {
	for _, key := range []string{"dbserver2", "", "dbserver1 "} {
		sig, ok, err := ParseKafka("dbserver1", []byte(key), []byte(`not json at all`), 0, 0)
		if ok || err != nil || sig.Type != "" {
			t.Errorf("key %q: got %+v, %v, %v; want ignored", key, sig, ok, err)
		}
	}
}

func TestMatchesAndFilter(t *testing.T) {
	sig, err := Parse("1", "execute-snapshot", []byte(`{"data-collections": ["public\\.order_.*", "public.items"],
		"additional-conditions": [{"data-collection": "public.order_2024", "filter": "a = 1"}, {"data-collection": "public\\.order_.*", "filter": "b = 2"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := sig.Snapshot
	for table, want := range map[string]bool{
		"public.order_2024": true, "public.items": true, "public.itemsx": false, "xpublic.items": false,
		"public.orders": false, "other.order_1": false,
	} {
		if got := s.Matches(table); got != want {
			t.Errorf("Matches(%q) = %v, want %v", table, got, want)
		}
	}
	if got, want := s.Filter("public.order_2024"), "(a = 1) AND (b = 2)"; got != want {
		t.Errorf("Filter = %q, want %q", got, want)
	}
	if got := s.Filter("public.items"); got != "" {
		t.Errorf("Filter(items) = %q, want none", got)
	}
	stop, err := Parse("2", "stop-snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !stop.Snapshot.Matches("any.table") {
		t.Error("a stop-snapshot without data-collections must cover every table")
	}
}

func TestLogMessage(t *testing.T) {
	sig, err := Parse("1", "log", []byte(`{"message": "at {} and {}"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sig.LogMessage("lsn=0/16B3748"), "at lsn=0/16B3748 and {}"; got != want {
		t.Errorf("LogMessage = %q, want %q", got, want)
	}
}

func TestFromRow(t *testing.T) {
	tbl := &schema.Table{ID: schema.TableID{DB: "app", Schema: "public", Table: "debezium_signal"}}
	str := func(s string) capture.Value { return capture.StringValue([]byte(s)) }
	sig, err := FromRow(tbl, capture.Row{str("s1"), str("execute-snapshot"), capture.JSONValue([]byte(`{"data-collections": ["public.t"]}`))})
	if err != nil || sig.ID != "s1" || sig.Type != ExecuteSnapshot || !sig.Snapshot.Matches("public.t") {
		t.Fatalf("FromRow = %+v, %v", sig, err)
	}
	// A MySQL JSON data column arrives escaped from the binlog decoder (capture.EscapedJSON).
	sig, err = FromRow(tbl, capture.Row{str("s1e"), str("execute-snapshot"), capture.EscapedJSONValue([]byte(`{\"data-collections\":[\"public.t\"]}`))})
	if err != nil || sig.ID != "s1e" || sig.Type != ExecuteSnapshot || !sig.Snapshot.Matches("public.t") {
		t.Fatalf("FromRow of an EscapedJSON data column = %+v, %v", sig, err)
	}
	// A null data column is a signal without data.
	if sig, err := FromRow(tbl, capture.Row{str("s2"), str("pause-snapshot"), {}}); err != nil || sig.Type != PauseSnapshot {
		t.Errorf("null data: %+v, %v", sig, err)
	}
	for name, row := range map[string]capture.Row{
		"two columns": {str("s3"), str("log")},
		"null id":     {{}, str("log"), str(`{"message":"m"}`)},
		"null type":   {str("s4"), {}, str(`{"message":"m"}`)},
		"int id":      {capture.IntValue(5), str("log"), str(`{"message":"m"}`)},
		"bad escapes": {str("s5"), str("log"), capture.EscapedJSONValue([]byte(`{"message":"m"}`))},
	} {
		_, err := FromRow(tbl, row)
		var se *Error
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "public.debezium_signal") {
			t.Errorf("%s: err = %v, want a *signal.Error naming the table", name, err)
		}
		if se != nil && se.Retryable() {
			t.Errorf("%s: a bad signal is not retryable", name)
		}
	}
}
