package verify

import (
	"strings"
	"testing"
)

func TestFormOf(t *testing.T) {
	for _, tc := range []struct {
		name     string
		col      SourceColumn
		sinkType string
		form     Form
		reason   string // substring of the exclusion reason
	}{
		{"int", SourceColumn{Type: "int4", Class: ClassInteger}, "Int32", FormInt, ""},
		{"bool as UInt8", SourceColumn{Type: "bool", Class: ClassBool}, "Nullable(UInt8)", FormInt, ""},
		{"decimal", SourceColumn{Type: "numeric", Class: ClassDecimal, Precision: 12, Scale: 2}, "Decimal(12, 2)", FormDecimal, ""},
		{"decimal other scale", SourceColumn{Type: "numeric", Class: ClassDecimal, Precision: 12, Scale: 2}, "Decimal(12, 3)", 0, "not the sink's mapping"},
		{"wide decimal as text", SourceColumn{Type: "numeric", Class: ClassDecimal, Precision: 50, Scale: 4}, "String", FormDecimalTrim, ""},
		{"unbounded numeric", SourceColumn{Type: "numeric", Class: ClassDecimal}, "Nullable(String)", FormDecimalTrim, ""},
		{"negative scale", SourceColumn{Type: "numeric", Class: ClassDecimal, Precision: 5, Scale: -2}, "Decimal(7, 0)", 0, "negative"},
		{"text", SourceColumn{Type: "text", Class: ClassText}, "String", FormText, ""},
		{"text into Int", SourceColumn{Type: "text", Class: ClassText}, "Int64", 0, "not the sink's mapping"},
		{"bytes", SourceColumn{Type: "bytea", Class: ClassBytes}, "String", FormHex, ""},
		{"date", SourceColumn{Type: "date", Class: ClassDate}, "Date", FormDate, ""},
		{"date32", SourceColumn{Type: "date", Class: ClassDate}, "Nullable(Date32)", FormDate, ""},
		{"timestamp 18.16", SourceColumn{Type: "timestamptz", Class: ClassTimestamp}, "Int64", FormMicros, ""},
		{"timestamp ≥ 23.2", SourceColumn{Type: "timestamp", Class: ClassTimestamp}, "DateTime64(6, 'UTC')", FormMicros, ""},
		{"time", SourceColumn{Type: "time", Class: ClassTime}, "Nullable(Int64)", FormMicros, ""},
		{"array", SourceColumn{Type: "_int4", Class: ClassOther, Reason: "arrays …"}, "Array(Int32)", 0, "arrays"},
		{"float", SourceColumn{Type: "float8", Reason: "floating point"}, "Float64", 0, "floating point"},
		{"unknown", SourceColumn{Type: "tsrange"}, "String", 0, "no canonical form of tsrange"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, why := formOf(tc.col, tc.sinkType, false)
			if f != tc.form || (tc.reason == "") != (why == "") || !strings.Contains(why, tc.reason) {
				t.Fatalf("formOf = %v %q, want %v %q", f, why, tc.form, tc.reason)
			}
		})
	}
}

func TestNewPlan(t *testing.T) {
	src := SourceTable{Schema: "public", Name: "orders", Key: []string{"id"}, Columns: []SourceColumn{
		{Name: "id", Type: "int8", Class: ClassInteger},
		{Name: "amount", Type: "numeric", Class: ClassDecimal, Precision: 12, Scale: 2},
		{Name: "score", Type: "float8", Reason: "floating point"},
		{Name: "dropped", Type: "text", Class: ClassText},
	}}
	p := NewPlan(src, "cdc", "orders", map[string]string{"id": "Int64", "amount": "Decimal(12, 2)", "score": "Float64",
		"extra": "String", "_version": "UInt64", "_is_deleted": "UInt8"})
	if p.Skip != "" || !p.Source.Ranged || len(p.Source.Columns) != 2 || p.Sink.Columns[1].Type != "Decimal(12, 2)" {
		t.Fatalf("plan %+v", p)
	}
	var got []string
	for _, e := range p.Excluded {
		got = append(got, e.Column)
	}
	if strings.Join(got, ",") != "score,dropped,extra" {
		t.Fatalf("excluded %v", p.Excluded)
	}

	text := NewPlan(SourceTable{Schema: "s", Name: "t", Key: []string{"k"}, Columns: []SourceColumn{{Name: "k", Type: "text", Class: ClassText}}},
		"d", "t", map[string]string{"k": "String"})
	if text.Skip != "" || text.Source.Ranged {
		t.Fatalf("a text key is hashed, not ranged: %+v", text)
	}
	for name, p := range map[string]*Plan{
		"keyless":   NewPlan(SourceTable{Schema: "s", Name: "t", Columns: src.Columns}, "d", "t", map[string]string{}),
		"float key": NewPlan(SourceTable{Schema: "s", Name: "t", Key: []string{"score"}, Columns: src.Columns}, "d", "t", map[string]string{"score": "Float64"}),
	} {
		if p.Skip == "" {
			t.Errorf("%s: compared: %+v", name, p)
		}
	}
	if p := NewPlan(src, "d", "t", nil); !p.SinkMissing || p.Skip != "" {
		t.Errorf("missing sink table: %+v", p)
	}
}
