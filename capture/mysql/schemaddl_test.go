package mysql

import (
	"database/sql"
	"testing"

	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/schema"
)

func TestQuoteLiteral(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "''"},
		{"plain", "'plain'"},
		{"it's", "'it''s'"},
		{`back\slash`, `'back\\slash'`},
		{"a\nb\x00", `'a\nb\0'`},
	} {
		if got := quoteLiteral(c.in); got != c.want {
			t.Errorf("quoteLiteral(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestOpaqueColumn(t *testing.T) {
	str := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	for _, c := range []struct {
		name    string
		col     schema.Column
		def     sql.NullString
		extra   string
		mariadb bool
		opaque  bool
	}{
		{"no default", schema.Column{Name: "a", Type: "int"}, sql.NullString{}, "", false, false},
		{"generated", schema.Column{Name: "a", Type: "int", Generated: true}, sql.NullString{}, "stored generated", false, true},
		{"mysql literal", schema.Column{Name: "a", Type: "varchar", Default: "x", HasDefault: true}, str("x"), "", false, false},
		{"mysql expression", schema.Column{Name: "a", Type: "int", Default: "(1 + 1)", HasDefault: true}, str("(1 + 1)"), "default_generated", false, true},
		{"mysql now", schema.Column{Name: "a", Type: "datetime", Default: "current_timestamp()", HasDefault: true}, str("CURRENT_TIMESTAMP"), "default_generated", false, false},
		{"mariadb quoted", schema.Column{Name: "a", Type: "varchar", Default: "x", HasDefault: true}, str("'x'"), "", true, false},
		{"mariadb number", schema.Column{Name: "a", Type: "int", Default: "-3", HasDefault: true}, str("-3"), "", true, false},
		{"mariadb expression", schema.Column{Name: "a", Type: "char", Default: "uuid()", HasDefault: true}, str("uuid()"), "", true, true},
		{"bit default", schema.Column{Name: "a", Type: "bit", Default: "b'101'", HasDefault: true}, str("b'101'"), "", false, true},
	} {
		if got := opaqueColumn(&c.col, c.def, c.extra, c.mariadb); (got != "") != c.opaque {
			t.Errorf("%s: opaqueColumn = %q, want opaque=%v", c.name, got, c.opaque)
		}
	}
}

// TestCapturedChange: which table changes of a DDL statement go on the schema-change topic.
func TestCapturedChange(t *testing.T) {
	f, err := newFilter(&Config{DatabaseInclude: []string{"app"}, TableInclude: []string{`app\.orders`, `app\.items`}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Source{f: f}
	tbl := func(db, name string) *schema.Table { return &schema.Table{ID: schema.TableID{DB: db, Table: name}} }
	for _, c := range []struct {
		name string
		ch   mysqlddl.Change
		want bool
	}{
		{"captured", mysqlddl.Change{Type: "ALTER", Table: tbl("app", "orders")}, true},
		{"left out by the table filter", mysqlddl.Change{Type: "CREATE", Table: tbl("app", "audit")}, false},
		{"other database", mysqlddl.Change{Type: "DROP", Table: tbl("other", "orders")}, false},
		{"renamed into the set", mysqlddl.Change{Type: "ALTER", Table: tbl("app", "items"), PrevID: &schema.TableID{DB: "app", Table: "tmp"}}, true},
		{"renamed out of the set", mysqlddl.Change{Type: "ALTER", Table: tbl("app", "old_items"), PrevID: &schema.TableID{DB: "app", Table: "items"}}, true},
		{"truncate left out", mysqlddl.Change{Truncate: true, Table: tbl("app", "audit")}, false},
	} {
		if got := s.capturedChange(c.ch); got != c.want {
			t.Errorf("%s: capturedChange = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestFilterFault: a chunk read's server error is the filter's fault unless it is the
// connection's or the server's.
func TestFilterFault(t *testing.T) {
	for code, want := range map[uint16]bool{1242: true, 3141: true, 1054: true, 1053: false, 1205: false, 1213: false, 1317: false, 1927: false, 1412: false} {
		if got := filterFault(&replication.ServerError{Code: code}); got != want {
			t.Errorf("filterFault(%d) = %v, want %v", code, got, want)
		}
	}
}
