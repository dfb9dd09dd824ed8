package clickhouse

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestRecordValuesNotLogged: a record's values reach no log line, not even at debug level,
// unless --clickhouse-log-values says so; an unreadable value is described in the parked
// record's error (logged at error level) by kind and size only. Before, the debug line held
// the whole payload and the error quoted up to 40 bytes of the value.
func TestRecordValuesNotLogged(t *testing.T) {
	const secret = "SecretValue-8f3kq"
	tb := ttable{topic: "srv.public.people", db: "shop", schema: "public", table: "people", pg: true, keys: []string{"id"},
		fields: []tfield{{name: "id", typ: "int64"}, {name: "name", typ: "string", optional: true}}}
	rec := tb.record("c", nil, row{"id", 1, "name", secret}, 100, true)
	rec.Value = rec.Value[:len(rec.Value)-40] // cut: unreadable, so it is parked without a table
	for _, logValues := range []bool{false, true} {
		var logs bytes.Buffer
		s := &Sink{cfg: Config{LogValues: logValues}, log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			cache: schemaCache{modern: true, m: map[string]*envSchema{}}, tables: map[string]*table{}}
		if err := s.apply(context.Background(), &rec, 1); err != nil {
			t.Fatal(err)
		}
		if len(s.parked) != 1 {
			t.Fatalf("record not parked: %s", logs.String())
		}
		if got := strings.Contains(logs.String(), secret); got != logValues {
			t.Errorf("LogValues %v: the value in the log is %v:\n%s", logValues, got, logs.String())
		}
		if strings.Contains(s.parked[0].reason, secret) {
			t.Errorf("the parked record's reason shows the value: %s", s.parked[0].reason)
		}
	}
	for _, raw := range []string{`"` + secret + `"`, `12345678901234567890123`} {
		if _, err := jsonInt([]byte(raw)); err == nil || strings.Contains(err.Error(), raw) {
			t.Errorf("jsonInt(%s): %v, want an error that does not quote the value", raw, err)
		}
	}
	if _, err := jsonString([]byte(secret)); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("jsonString: %v, want an error that does not quote the value", err)
	}
}
