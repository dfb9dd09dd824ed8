package postgres

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	c := Config{DSN: "postgres://x", Slot: "Bad-Slot", PublicationMode: "some", SnapshotMode: "sometimes",
		TableInclude: []string{"("}, TableExclude: []string{"a"}, SkippedOperations: "x", ProtoVersion: 3}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"slot", "publication mode", "snapshot mode", "filter regex", "cannot both", "skipped operation", "proto version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	ok := Config{DSN: "postgres://x", SnapshotMode: "never"}
	if err := ok.Validate(); err != nil || ok.SnapshotMode != SnapshotNoData {
		t.Errorf("never: %v %s", err, ok.SnapshotMode)
	}
}

func TestFilter(t *testing.T) {
	f := newFilter(&Config{SchemaInclude: []string{"public|app"}, TableExclude: []string{`public\.audit_.*`}, ColumnExclude: []string{`.*\.users\.password`}})
	for _, c := range []struct {
		schema, table string
		want          bool
	}{{"public", "orders", true}, {"public", "audit_log", false}, {"app", "audit_log", true}, {"other", "orders", false}, {"publicx", "orders", false}} {
		if got := f.table(c.schema, c.table); got != c.want {
			t.Errorf("%s.%s: %v", c.schema, c.table, got)
		}
	}
	if f.column("public", "users", "password") || !f.column("public", "users", "email") {
		t.Error("column filter")
	}
	inc := newFilter(&Config{TableInclude: []string{`public\.a`}})
	if !inc.table("public", "a") || inc.table("public", "ab") {
		t.Error("include list is not anchored")
	}
}
