package envelope

import (
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

func TestMapColumnDefaults(t *testing.T) {
	c := func(typ string, length, scale int, nullable bool, def string) *schema.Column {
		return &schema.Column{Name: "c", Type: typ, Length: length, Scale: scale, Nullable: nullable, Default: def, HasDefault: true}
	}
	cases := []struct {
		name string
		d    schema.Dialect
		col  *schema.Column
		o    Options
		want string // "" = no default
	}{
		{"mysql int", schema.MySQL, c("int", -1, -1, false, "42"), Options{}, "42"},
		{"mysql tinyint true", schema.MySQL, c("tinyint", 1, -1, false, "true"), Options{}, "1"},
		{"mysql int decimal default", schema.MySQL, c("int", -1, -1, false, "2.5"), Options{}, "3"},
		{"mysql int garbage", schema.MySQL, c("int", -1, -1, false, "abc"), Options{}, ""},
		{"mysql varchar", schema.MySQL, c("varchar", 10, -1, true, `a"b`), Options{}, `"a\"b"`},
		{"mysql decimal rescale", schema.MySQL, c("decimal", 10, 2, false, "1.5"), Options{}, `"AJY="`},
		{"mysql decimal round half up", schema.MySQL, c("decimal", 10, 1, false, "1.25"), Options{}, `"DQ=="`},
		{"mysql decimal string", schema.MySQL, c("decimal", 10, 2, false, "1.5"), Options{Decimal: DecimalString}, `"1.50"`},
		{"mysql decimal double", schema.MySQL, c("decimal", 10, 2, false, "1.5"), Options{Decimal: DecimalDouble}, "1.5"},
		{"mysql double", schema.MySQL, c("double", -1, -1, false, "1e10"), Options{}, "1.0E10"},
		{"mysql bit5", schema.MySQL, c("bit", 5, -1, false, "b'101'"), Options{}, `"BQ=="`},
		{"mysql date zero nullable", schema.MySQL, c("date", -1, -1, true, "0000-00-00"), Options{}, ""},
		{"mysql date zero required", schema.MySQL, c("date", -1, -1, false, "0000-00-00"), Options{}, "0"},
		{"mysql datetime now", schema.MySQL, c("datetime", -1, 3, true, "CURRENT_TIMESTAMP(3)"), Options{}, "0"},
		{"mysql datetime value", schema.MySQL, c("datetime", -1, 0, false, "2024-01-15 10:30:00"), Options{}, "1705314600000"},
		{"mysql timestamp now nullable", schema.MySQL, c("timestamp", -1, 0, true, "CURRENT_TIMESTAMP"), Options{}, ""},
		{"mysql timestamp now required", schema.MySQL, c("timestamp", -1, 3, false, "CURRENT_TIMESTAMP"), Options{}, `"1970-01-01T00:00:00.000Z"`},
		{"mysql timestamp value", schema.MySQL, c("timestamp", -1, 0, false, "2024-01-15 10:30:00"), Options{}, `"2024-01-15T10:30:00Z"`},
		{"mysql time", schema.MySQL, c("time", -1, 0, false, "-01:30:00"), Options{}, "-5400000000"},
		{"mysql point", schema.MySQL, c("point", -1, -1, true, "x"), Options{}, ""},
		{"pg text cast", schema.Postgres, c("text", -1, -1, false, "'it''s'::text"), Options{}, `"it"`},                // Debezium's '(.*?)'
		{"pg varchar null cast", schema.Postgres, c("varchar", 5, -1, true, "NULL::character varying"), Options{}, ""}, // DBZ-4736
		{"pg varchar 'NULL' literal", schema.Postgres, c("varchar", 5, -1, true, "'NULL::character varying'::character varying"), Options{}, `"NULL::character varying"`},
		{"pg int4 null cast", schema.Postgres, c("int4", -1, -1, true, "NULL::integer"), Options{}, ""},
		{"pg int8 cast", schema.Postgres, c("int8", -1, -1, false, "'9223372036854775807'::bigint"), Options{}, "9223372036854775807"},
		{"pg serial", schema.Postgres, c("int4", -1, -1, false, "nextval('t_id_seq'::regclass)"), Options{}, "0"},
		{"pg bool", schema.Postgres, c("bool", -1, -1, false, "true"), Options{}, "true"},
		{"pg bool func", schema.Postgres, c("bool", -1, -1, false, "f()"), Options{}, "false"},
		{"pg numeric", schema.Postgres, c("numeric", 10, 3, false, "1.5"), Options{}, `"Bdw="`},
		{"pg numeric variable", schema.Postgres, c("numeric", -1, -1, false, "1.5"), Options{}, ""},
		{"pg uuid func", schema.Postgres, c("uuid", -1, -1, false, "gen_random_uuid()"), Options{}, `"00000000-0000-0000-0000-000000000000"`},
		{"pg timestamptz", schema.Postgres, c("timestamptz", -1, -1, false, "'2024-01-15 12:30:00+02'::timestamp with time zone"), Options{}, `"2024-01-15T10:30:00.000000Z"`},
		{"pg timestamptz current", schema.Postgres, c("timestamptz", -1, -1, false, "CURRENT_TIMESTAMP"), Options{}, `"1970-01-01T00:00:00.000000Z"`}, // DBZ-5384
		{"pg date current", schema.Postgres, c("date", -1, -1, false, "CURRENT_DATE"), Options{}, "0"},
		{"pg uuid schema-qualified func", schema.Postgres, c("uuid", -1, -1, false, "s2.gen_id()"), Options{}, `"00000000-0000-0000-0000-000000000000"`}, // DBZ-5340
		{"pg date now", schema.Postgres, c("date", -1, -1, false, "now()"), Options{}, "0"},
		{"pg interval", schema.Postgres, c("interval", -1, -1, false, "'1 day 01:00:00'::interval"), Options{}, "90000000000"},
		{"pg bytea", schema.Postgres, c("bytea", -1, -1, false, "'\\x00'::bytea"), Options{}, ""},
		{"pg jsonb", schema.Postgres, c("jsonb", -1, -1, false, "'{}'::jsonb"), Options{}, `"{}"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := MapColumn(tc.d, tc.col, tc.o)
			if m.Omitted() {
				t.Fatal("omitted")
			}
			if got := string(m.Schema.Default); got != tc.want {
				t.Errorf("default = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMapColumnTypes(t *testing.T) {
	c := func(typ string, length, scale int) *schema.Column {
		return &schema.Column{Name: "c", Type: typ, Length: length, Scale: scale}
	}
	cases := []struct {
		d    schema.Dialect
		col  *schema.Column
		o    Options
		typ  Type
		name string
	}{
		{schema.MySQL, c("tinyint", 1, -1), Options{}, Int8, ""},
		{schema.MySQL, c("float", 25, -1), Options{}, Float64, ""},
		{schema.MySQL, c("float", 24, -1), Options{}, Float32, ""},
		{schema.MySQL, c("float", 10, 2), Options{}, Float64, ""},
		{schema.MySQL, c("time", -1, 3), Options{}, Int64, "io.debezium.time.MicroTime"},
		{schema.MySQL, c("time", -1, 3), Options{Time: TimeAdaptive}, Int32, "io.debezium.time.Time"},
		{schema.MySQL, c("datetime", -1, 4), Options{}, Int64, "io.debezium.time.MicroTimestamp"},
		{schema.MySQL, c("uuid", -1, -1), Options{}, String, "io.debezium.data.Uuid"}, // MariaDB
		{schema.Postgres, c("time", -1, -1), Options{}, Int64, "io.debezium.time.MicroTime"},
		{schema.Postgres, c("timestamp without time zone", -1, -1), Options{}, Int64, "io.debezium.time.MicroTimestamp"},
		{schema.Postgres, c("character varying", 10, -1), Options{}, String, ""},
		{schema.Postgres, c("double precision", -1, -1), Options{}, Float64, ""},
		{schema.Postgres, c("date", -1, -1), Options{Time: TimeISOString}, String, "io.debezium.time.IsoDate"},
	}
	for _, tc := range cases {
		m := MapColumn(tc.d, tc.col, tc.o)
		if m.Schema == nil || m.Schema.Type != tc.typ || m.Schema.Name != tc.name {
			t.Errorf("%v %s(%d,%d): got %+v, want %s %s", tc.d, tc.col.Type, tc.col.Length, tc.col.Scale, m.Schema, tc.typ, tc.name)
		}
	}
	if m := MapColumn(schema.Postgres, c("box", -1, -1), Options{}); !m.Omitted() || m.Schema != nil {
		t.Errorf("unknown PostgreSQL type: got %+v, want omitted", m)
	}
	if f := FieldFor(schema.MySQL, &schema.Column{Name: "x", Type: "int", Nullable: true}, Options{}); f.Name != "x" || !f.Schema.Optional {
		t.Errorf("FieldFor = %+v", f)
	}
}

func TestPostgresArraysWithoutSchema(t *testing.T) {
	for _, typ := range []string{"money", "name", "interval", "bit", "varbit", "xml", "point"} {
		if m := MapColumn(schema.Postgres, &schema.Column{Name: "c", Type: typ, Array: true, Length: -1, Scale: -1}, Options{}); !m.Omitted() {
			t.Errorf("%s[]: got %+v, want omitted (Debezium has no schema for it)", typ, m.Schema)
		}
	}
}

// TestPostgresByteaArray: bytea[] is an array of the binary.handling.mode schema (Debezium ≥ 2.2,
// DBZ-6232; AbstractRecordsProducerTest.schemaAndValueForByteaBytes/Hex/Base64).
func TestPostgresByteaArray(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		elem Type
	}{{Options{}, Bytes}, {Options{Binary: BinaryHex}, String}, {Options{Binary: BinaryBase64}, String}} {
		m := MapColumn(schema.Postgres, &schema.Column{Name: "c", Type: "bytea", Array: true, Length: -1, Scale: -1}, tc.o)
		if m.Schema == nil || m.Schema.Type != Array || m.Schema.Items == nil || m.Schema.Items.Type != tc.elem || !m.Schema.Items.Optional {
			t.Errorf("bytea[] under %+v: got %+v, want array of optional %s", tc.o, m.Schema, tc.elem)
		}
	}
}

// TestMapPostgresBits pins the schema of every BIT/BIT VARYING length and checks that the value
// the PostgreSQL decoder gives for it encodes under that schema. BIT VARYING(1) used to get a
// Bits schema while the decoder gave a boolean: "value of kind … does not fit" on every restart.
func TestMapPostgresBits(t *testing.T) {
	bits := func(b []byte, n int32) capture.Value { return capture.Value{Kind: capture.Bits, Bytes: b, Aux: n} }
	cases := []struct {
		typ    string
		length int
		schema string // type, and the Bits length parameter
		v      capture.Value
		want   string
	}{
		{"bit", 1, "boolean", capture.BoolValue(true), "true"},
		{"bit", 12, "bytes 12", bits([]byte{0x02, 0x01}, 12), `"AgE="`},
		{"varbit", 1, "boolean", capture.BoolValue(true), "true"},
		{"bit varying", 1, "boolean", capture.BoolValue(false), "false"},
		{"varbit", 5, "bytes 5", bits([]byte{0x05}, 3), `"BQ=="`},
		{"varbit", -1, "bytes 2147483647", bits([]byte{0x05}, 3), `"BQ=="`},
	}
	for _, c := range cases {
		col := &schema.Column{Name: "c", Type: c.typ, Length: c.length, Scale: -1}
		m := MapColumn(schema.Postgres, col, Options{})
		got := m.Schema.Type.String()
		for _, p := range m.Schema.Params {
			if p.Key == "length" {
				got += " " + p.Value
			}
		}
		if got != c.schema {
			t.Errorf("%s(%d): schema %s, want %s", c.typ, c.length, got, c.schema)
			continue
		}
		e := &Encoder{}
		b, err := e.appendValue(nil, &m, &c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%s(%d): value %s, %v; want %s", c.typ, c.length, b, err, c.want)
		}
	}
}

// TestRequiredFallbacks: a required column without a value (a PostgreSQL key-only before image)
// gets Debezium's fallback, which must fit its schema: a null would not fit the required
// Point/Geometry structs, and hstore-as-JSON falls back to {} as in PostgresValueConverter.
func TestRequiredFallbacks(t *testing.T) {
	cases := []struct {
		d    schema.Dialect
		typ  string
		want string
	}{
		{schema.Postgres, "point", `{"x":0.0,"y":0.0,"wkb":"AQEAAAAAAAAAAAAAAAAAAAAAAAAA","srid":null}`},
		{schema.Postgres, "geometry", `{"wkb":"AQcAAAAAAAAA","srid":null}`},
		{schema.Postgres, "geography", `{"wkb":"AQcAAAAAAAAA","srid":null}`},
		{schema.MySQL, "linestring", `{"wkb":"AQcAAAAAAAAA","srid":null}`},
		{schema.Postgres, "hstore", `"{}"`},
		{schema.Postgres, "jsonb", `""`},
		{schema.MySQL, "json", `"{}"`},
	}
	for _, c := range cases {
		m := MapColumn(c.d, &schema.Column{Name: "c", Type: c.typ, Length: -1, Scale: -1}, Options{})
		if string(m.Fallback) != c.want {
			t.Errorf("%s: fallback %s, want %s", c.typ, m.Fallback, c.want)
		}
	}
}

// TestPostgresEnumDefault: an enum default is its cast literal (PostgresDefaultValueConverterIT
// shouldHandleQuotedEnumTypeDefaultValues); NULL and function calls give none.
func TestPostgresEnumDefault(t *testing.T) {
	for def, want := range map[string]string{`'DRAFT'::"Status"`: `"DRAFT"`, `NULL::"Status"`: "", `pick_status()`: ""} {
		col := &schema.Column{Name: "c", Type: "Status", Enum: []string{"DRAFT", "DONE"}, Length: -1, Scale: -1, Default: def, HasDefault: true}
		if got := string(MapColumn(schema.Postgres, col, Options{}).Schema.Default); got != want {
			t.Errorf("%s: default %q, want %q", def, got, want)
		}
	}
}
