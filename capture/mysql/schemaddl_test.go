package mysql

import (
	"database/sql"
	"testing"

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
