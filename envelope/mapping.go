package envelope

import (
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/schema"
)

// Conv says how the envelope renders a column's value so that it matches the column's Connect
// schema. Each Mapping pairs one Conv with the schema it was chosen for.
type Conv uint8

const (
	// ConvOmit drops the column from schema and payload (a type Debezium does not capture
	// without include.unknown.datatypes).
	ConvOmit Conv = iota
	ConvBool
	ConvInt     // int8/16/32/64 from an Int or Uint value
	ConvUintDec // BIGINT UNSIGNED in precise mode: Decimal scale 0 from a Uint value
	ConvFloat32
	ConvFloat64
	ConvDecimal       // Decimal bytes, rescaled up to Mapping.Scale
	ConvVarDecimal    // io.debezium.data.VariableScaleDecimal struct
	ConvDecimalDouble // decimal.handling.mode=double
	ConvDecimalString // decimal.handling.mode=string
	ConvString        // String or JSON text
	ConvBytes         // bytes, Base64 in JSON
	ConvBytesBase64   // string, standard Base64
	ConvBytesBase64URL
	ConvBytesHex
	ConvBits      // io.debezium.data.Bits bytes
	ConvDate      // int32 days since the epoch
	ConvDateISO   // io.debezium.time.IsoDate
	ConvTimeMilli // int32 ms of day
	ConvTimeMicro // int64 µs of day
	ConvTimeISO
	ConvTimestampMilli // int64 epoch ms
	ConvTimestampMicro // int64 epoch µs
	ConvTimestampISO
	ConvZonedTimestamp // string UTC with exactly Mapping.Scale fraction digits
	ConvZonedTime
	ConvInterval // io.debezium.time.MicroDuration
	ConvPoint    // io.debezium.data.geometry.Point from WKB
	ConvGeometry // Geometry / Geography {wkb, srid}
	ConvArray    // Elem renders each element
	ConvVector   // FloatVector / DoubleVector (Elem says float or double)
	// ConvIntervalString is io.debezium.time.Interval (interval.handling.mode=string).
	ConvIntervalString
	// ConvJSONObject writes JSON object text as it is: a Connect map of strings
	// (hstore.handling.mode=map).
	ConvJSONObject
)

// Mapping is a column's Kafka Connect field schema together with the rule that renders its
// values. Schema.Default already holds the encoded column default (nil when the default is not
// resolvable or the column has none).
type Mapping struct {
	Schema *Connect
	Conv   Conv
	// Scale is the decimal scale (ConvDecimal, ConvDecimalString), the fraction digits of a
	// ZonedTimestamp, the length in bits of ConvBits (0: no padding, trailing zero bytes
	// dropped, as PostgreSQL's), or the fixed length binary values are
	// zero-padded to (MySQL BINARY(n); 0 or less = no padding).
	Scale int
	// Elem is the element rule of an array or vector.
	Elem *Mapping
	// Fallback is the JSON written for a null in a required column without default (Debezium's
	// JdbcValueConverters fallback, e.g. the non-key columns of a PostgreSQL key-only before).
	Fallback []byte
	// AdjustYears reads the years 0–99 of a date or timestamp as two-digit years (MySQL
	// DATE, DATETIME, TIMESTAMP under Debezium's enable.time.adjuster, the default).
	AdjustYears bool
}

// Omitted reports whether the column is left out of the record.
func (m *Mapping) Omitted() bool { return m.Conv == ConvOmit }

// FieldFor returns the Connect field of column c: its name and schema (see MapColumn).
func FieldFor(d schema.Dialect, c *schema.Column, o Options) Field {
	m := MapColumn(d, c, o)
	return Field{Name: c.Name, Schema: m.Schema}
}

// MapColumn returns the Connect schema and value rule of column c for dialect d under options o,
// following Debezium's MySQL/MariaDB and PostgreSQL value converters (spec §4). Unknown types
// map to ConvOmit with a nil Schema.
func MapColumn(d schema.Dialect, c *schema.Column, o Options) Mapping {
	var m Mapping
	if d == schema.Postgres {
		m = mapPostgres(c, o)
	} else {
		m = mapMySQL(c, o)
	}
	if m.Conv == ConvOmit {
		return Mapping{}
	}
	m.Schema.Optional = c.Nullable
	if c.HasDefault {
		m.Schema.Default = defaultJSON(d, c, &m)
	}
	if !c.Nullable {
		m.Fallback = fallbackJSON(&m)
		if d == schema.MySQL && m.Schema.Name == "io.debezium.data.Json" ||
			d == schema.Postgres && !c.Array && pgTypeName(c.Type) == "hstore" {
			// BinlogValueConverters.convertJson and PostgresValueConverter's hstore-as-JSON
			// fall back to {}
			m.Fallback = []byte(`"{}"`)
		}
	}
	return m
}

// MapTable maps every column of t, in column order.
func MapTable(t *schema.Table, o Options) []Mapping {
	ms := make([]Mapping, len(t.Columns))
	for i := range t.Columns {
		ms[i] = MapColumn(t.Dialect, &t.Columns[i], o)
	}
	return ms
}

func sem(t Type, name string) *Connect { return &Connect{Type: t, Name: name, Version: 1} }
func lit(t Type) *Connect              { return &Connect{Type: t} }

func simple(t Type, conv Conv) Mapping { return Mapping{Schema: lit(t), Conv: conv} }

// decimalMapping maps an exact numeric of precision p and scale s.
func decimalMapping(p, s int, o Options) Mapping {
	switch o.Decimal {
	case DecimalDouble:
		return simple(Float64, ConvDecimalDouble)
	case DecimalString:
		return Mapping{Schema: lit(String), Conv: ConvDecimalString, Scale: s}
	}
	c := sem(Bytes, "org.apache.kafka.connect.data.Decimal")
	c.Params = []Param{{"scale", strconv.Itoa(s)}}
	if p >= 0 {
		c.Params = append(c.Params, Param{"connect.decimal.precision", strconv.Itoa(p)})
	}
	return Mapping{Schema: c, Conv: ConvDecimal, Scale: s}
}

func variableDecimal(o Options) Mapping {
	switch o.Decimal {
	case DecimalDouble:
		return simple(Float64, ConvDecimalDouble)
	case DecimalString:
		return Mapping{Schema: lit(String), Conv: ConvDecimalString, Scale: -1}
	}
	c := sem(Struct, "io.debezium.data.VariableScaleDecimal")
	c.Doc = "Variable scaled decimal"
	c.Fields = []Field{{"scale", lit(Int32)}, {"value", lit(Bytes)}}
	return Mapping{Schema: c, Conv: ConvVarDecimal, Scale: -1}
}

func binaryMapping(o Options) Mapping {
	switch o.Binary {
	case BinaryBase64:
		return simple(String, ConvBytesBase64)
	case BinaryBase64URLSafe:
		return simple(String, ConvBytesBase64URL)
	case BinaryHex:
		return simple(String, ConvBytesHex)
	}
	return simple(Bytes, ConvBytes)
}

func bitsMapping(n int) Mapping {
	c := sem(Bytes, "io.debezium.data.Bits")
	c.Params = []Param{{"length", strconv.Itoa(n)}}
	return Mapping{Schema: c, Conv: ConvBits, Scale: n}
}

// pgBitsMapping is bitsMapping with Scale 0: PostgresValueConverter.convertBits sizes the
// bytes by the highest bit set, not by the column length (B'00' in a BIT(2) is no bytes at
// all, AbstractRecordsProducerTest.schemaAndValuesForBinTypes).
func pgBitsMapping(n int) Mapping {
	m := bitsMapping(n)
	m.Scale = 0
	return m
}

// enumMapping maps an ENUM or SET whose allowed parameter is the members joined with ','
// (PostgreSQL enums: PostgresValueConverter joins them as they are).
func enumMapping(name string, members []string) Mapping {
	return enumAllowed(name, strings.Join(members, ","))
}

func enumAllowed(name, allowed string) Mapping {
	c := sem(String, name)
	c.Params = []Param{{"allowed", allowed}}
	return Mapping{Schema: c, Conv: ConvString}
}

// mysqlAllowed is the allowed parameter of a MySQL ENUM or SET: the members joined with ',',
// each '\' and ',' in a member escaped with '\', so that a consumer can split the list again
// (Debezium's EnumeratedValues.toCommaSeparatedString, which its fromCommaSeparatedString
// reverses; Debezium ≤ 3.6 wrote the same bytes from the DDL text, where MySQL spells a
// backslash '\\'). The values themselves stay unescaped.
func mysqlAllowed(members []string) string {
	n := len(members)
	for _, m := range members {
		n += len(m)
	}
	b := make([]byte, 0, n)
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		for j := 0; j < len(m); j++ {
			if m[j] == '\\' || m[j] == ',' {
				b = append(b, '\\')
			}
			b = append(b, m[j])
		}
	}
	return string(b)
}

func semString(name string) Mapping { return Mapping{Schema: sem(String, name), Conv: ConvString} }

// effectiveTimeMode resolves TimeDefault per dialect.
func effectiveTimeMode(d schema.Dialect, o Options) TimeMode {
	if o.Time != TimeDefault {
		return o.Time
	}
	if d == schema.Postgres {
		return TimeAdaptive
	}
	return TimeAdaptiveMicroseconds
}

func dateMapping(tm TimeMode) Mapping {
	switch tm {
	case TimeConnect:
		return Mapping{Schema: sem(Int32, "org.apache.kafka.connect.data.Date"), Conv: ConvDate}
	case TimeISOString:
		return Mapping{Schema: sem(String, "io.debezium.time.IsoDate"), Conv: ConvDateISO}
	}
	return Mapping{Schema: sem(Int32, "io.debezium.time.Date"), Conv: ConvDate}
}

// timeMapping maps a TIME of fractional precision p.
func timeMapping(tm TimeMode, p int) Mapping {
	switch tm {
	case TimeConnect:
		return Mapping{Schema: sem(Int32, "org.apache.kafka.connect.data.Time"), Conv: ConvTimeMilli}
	case TimeISOString:
		return Mapping{Schema: sem(String, "io.debezium.time.IsoTime"), Conv: ConvTimeISO}
	case TimeAdaptive:
		if p <= 3 {
			return Mapping{Schema: sem(Int32, "io.debezium.time.Time"), Conv: ConvTimeMilli}
		}
	}
	return Mapping{Schema: sem(Int64, "io.debezium.time.MicroTime"), Conv: ConvTimeMicro}
}

// timestampMapping maps a zone-less DATETIME/TIMESTAMP of fractional precision p.
func timestampMapping(tm TimeMode, p int) Mapping {
	switch tm {
	case TimeConnect:
		return Mapping{Schema: sem(Int64, "org.apache.kafka.connect.data.Timestamp"), Conv: ConvTimestampMilli}
	case TimeISOString:
		return Mapping{Schema: sem(String, "io.debezium.time.IsoTimestamp"), Conv: ConvTimestampISO}
	case TimeMicroseconds:
		return Mapping{Schema: sem(Int64, "io.debezium.time.MicroTimestamp"), Conv: ConvTimestampMicro}
	}
	if p <= 3 {
		return Mapping{Schema: sem(Int64, "io.debezium.time.Timestamp"), Conv: ConvTimestampMilli}
	}
	return Mapping{Schema: sem(Int64, "io.debezium.time.MicroTimestamp"), Conv: ConvTimestampMicro}
}

func zonedTimestamp(p int) Mapping {
	return Mapping{Schema: sem(String, "io.debezium.time.ZonedTimestamp"), Conv: ConvZonedTimestamp, Scale: p}
}

func pointMapping() Mapping {
	c := sem(Struct, "io.debezium.data.geometry.Point")
	c.Doc = "Geometry (POINT)"
	c.Fields = []Field{{"x", lit(Float64)}, {"y", lit(Float64)},
		{"wkb", &Connect{Type: Bytes, Optional: true}}, {"srid", &Connect{Type: Int32, Optional: true}}}
	return Mapping{Schema: c, Conv: ConvPoint}
}

func geometryMapping(name, doc string) Mapping {
	c := sem(Struct, name)
	c.Doc = doc
	c.Fields = []Field{{"wkb", lit(Bytes)}, {"srid", &Connect{Type: Int32, Optional: true}}}
	return Mapping{Schema: c, Conv: ConvGeometry}
}

func vectorMapping(name string, elem Type) Mapping {
	c := sem(Array, name)
	c.Items = lit(elem)
	conv := ConvFloat64
	if elem == Float32 {
		conv = ConvFloat32
	}
	return Mapping{Schema: c, Conv: ConvVector, Elem: &Mapping{Schema: c.Items, Conv: conv}}
}

// fsp returns the declared fractional-second precision, or def when undeclared.
func fsp(c *schema.Column, def int) int {
	if c.Scale < 0 {
		return def
	}
	return c.Scale
}

func mapMySQL(c *schema.Column, o Options) Mapping {
	tm := effectiveTimeMode(schema.MySQL, o)
	switch c.Type {
	case "bool", "boolean":
		return simple(Boolean, ConvBool)
	case "bit":
		if c.Length <= 1 {
			return simple(Boolean, ConvBool)
		}
		return bitsMapping(c.Length)
	case "tinyint":
		if c.Unsigned {
			return simple(Int16, ConvInt)
		}
		return simple(Int8, ConvInt)
	case "smallint":
		if c.Unsigned {
			return simple(Int32, ConvInt)
		}
		return simple(Int16, ConvInt)
	case "mediumint":
		return simple(Int32, ConvInt)
	case "int", "integer":
		if c.Unsigned {
			return simple(Int64, ConvInt)
		}
		return simple(Int32, ConvInt)
	case "bigint":
		if c.Unsigned && o.BigintUnsigned == BigintPrecise {
			m := decimalMapping(20, 0, Options{})
			m.Conv = ConvUintDec
			return m
		}
		return simple(Int64, ConvInt)
	case "float":
		// BinlogValueConverters: FLOAT without scale and precision <= 24 is a Java float.
		if c.Length > 24 || c.Scale >= 0 {
			return simple(Float64, ConvFloat64)
		}
		return simple(Float32, ConvFloat32)
	case "real":
		return simple(Float32, ConvFloat32)
	case "double", "double precision":
		return simple(Float64, ConvFloat64)
	case "decimal", "numeric", "dec", "fixed":
		p, s := c.Length, c.Scale
		if p < 0 {
			p = 10
		}
		if s < 0 {
			s = 0
		}
		return decimalMapping(p, s, o)
	case "char", "varchar", "nchar", "nvarchar", "tinytext", "text", "mediumtext", "longtext":
		return simple(String, ConvString)
	case "binary":
		// DBZ-254: BINARY(n) values are right-padded with zero bytes to n (the binlog strips them).
		m := binaryMapping(o)
		m.Scale = c.Length
		return m
	case "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return binaryMapping(o)
	case "json":
		return semString("io.debezium.data.Json")
	case "enum":
		return enumAllowed("io.debezium.data.Enum", mysqlAllowed(c.Enum))
	case "set":
		return enumAllowed("io.debezium.data.EnumSet", mysqlAllowed(c.Enum))
	case "year":
		return Mapping{Schema: sem(Int32, "io.debezium.time.Year"), Conv: ConvInt}
	case "date":
		m := dateMapping(tm)
		m.AdjustYears = !o.NoTimeAdjuster
		return m
	case "time":
		return timeMapping(tm, fsp(c, 0))
	case "datetime":
		m := timestampMapping(tm, fsp(c, 0))
		m.AdjustYears = !o.NoTimeAdjuster
		return m
	case "timestamp":
		m := zonedTimestamp(fsp(c, 0))
		m.AdjustYears = !o.NoTimeAdjuster
		return m
	case "point":
		return pointMapping()
	case "geometry", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
		"geometrycollection", "geomcollection":
		return geometryMapping("io.debezium.data.geometry.Geometry", "Geometry")
	case "vector":
		return vectorMapping("io.debezium.data.FloatVector", Float32)
	case "uuid":
		// MariaDB UUID (MariaDbValueConverters: io.debezium.data.Uuid). INET4/INET6 have no
		// converter in Debezium and stay omitted.
		return semString("io.debezium.data.Uuid")
	}
	return Mapping{}
}

// pgTypeName normalises PostgreSQL type spellings (SQL standard names, pg_type names) to the
// pg_type name.
func pgTypeName(t string) string {
	switch t {
	case "boolean":
		return "bool"
	case "smallint", "smallserial", "serial2":
		return "int2"
	case "integer", "int", "serial", "serial4":
		return "int4"
	case "bigint", "bigserial", "serial8":
		return "int8"
	case "real":
		return "float4"
	case "double precision", "float":
		return "float8"
	case "decimal":
		return "numeric"
	case "character varying":
		return "varchar"
	case "character", "char":
		return "bpchar"
	case "timestamp without time zone":
		return "timestamp"
	case "timestamp with time zone":
		return "timestamptz"
	case "time without time zone":
		return "time"
	case "time with time zone":
		return "timetz"
	case "bit varying":
		return "varbit"
	}
	return t
}

func mapPostgres(c *schema.Column, o Options) Mapping {
	if c.Array {
		return pgArray(c, o)
	}
	tm := effectiveTimeMode(schema.Postgres, o)
	switch pgTypeName(c.Type) {
	case "bool":
		return simple(Boolean, ConvBool)
	case "bit":
		if c.Length <= 1 {
			return simple(Boolean, ConvBool)
		}
		return pgBitsMapping(c.Length)
	case "varbit":
		// PostgresValueConverter treats VARBIT as BIT: a declared length of 1 is a boolean
		// (its docs list BIT VARYING under Bits; the connector's schema builder decides).
		// Unconstrained BIT VARYING has length 2^31-1.
		switch n := c.Length; {
		case n == 1:
			return simple(Boolean, ConvBool)
		case n < 0:
			return pgBitsMapping(1<<31 - 1)
		default:
			return pgBitsMapping(n)
		}
	case "int2":
		return simple(Int16, ConvInt)
	case "int4":
		return simple(Int32, ConvInt)
	case "int8", "oid":
		return simple(Int64, ConvInt)
	case "float4":
		return simple(Float32, ConvFloat32)
	case "float8":
		return simple(Float64, ConvFloat64)
	case "numeric":
		if c.Scale < 0 {
			return variableDecimal(o)
		}
		return decimalMapping(c.Length, c.Scale, o)
	case "money":
		// money.fraction.digits default 2; Debezium gives no precision parameter.
		return decimalMapping(-1, 2, o)
	case "bpchar", "varchar", "text", "citext", "name", "isbn", // isbn (the isn extension) only, not isbn13, issn, ean13…: PostgresValueConverter
		"inet", "cidr", "macaddr", "macaddr8",
		"int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
		"int4multirange", "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange", "datemultirange":
		return simple(String, ConvString)
	case "timestamptz":
		return zonedTimestamp(fsp(c, 6))
	case "timetz":
		return Mapping{Schema: sem(String, "io.debezium.time.ZonedTime"), Conv: ConvZonedTime}
	case "timestamp":
		return timestampMapping(tm, fsp(c, 6))
	case "time":
		return timeMapping(tm, fsp(c, 6))
	case "date":
		return dateMapping(tm)
	case "interval":
		if o.Interval == IntervalString {
			return Mapping{Schema: sem(String, "io.debezium.time.Interval"), Conv: ConvIntervalString}
		}
		return Mapping{Schema: sem(Int64, "io.debezium.time.MicroDuration"), Conv: ConvInterval}
	case "bytea":
		return binaryMapping(o)
	case "hstore":
		if o.HStore == HStoreMap {
			// PostgresValueConverter.hstoreSchema: keys required, values optional.
			return Mapping{Schema: &Connect{Type: Map, Keys: lit(String), Values: &Connect{Type: String, Optional: true}}, Conv: ConvJSONObject}
		}
		return semString("io.debezium.data.Json")
	case "json", "jsonb":
		return semString("io.debezium.data.Json")
	case "xml":
		return semString("io.debezium.data.Xml")
	case "uuid":
		return semString("io.debezium.data.Uuid")
	case "ltree":
		return semString("io.debezium.data.Ltree")
	case "tsvector":
		return semString("io.debezium.data.Tsvector")
	case "point":
		return pointMapping()
	case "geometry":
		return geometryMapping("io.debezium.data.geometry.Geometry", "Geometry")
	case "geography":
		return geometryMapping("io.debezium.data.geometry.Geography", "Geography")
	case "vector":
		return vectorMapping("io.debezium.data.DoubleVector", Float64)
	case "halfvec":
		return vectorMapping("io.debezium.data.FloatVector", Float32)
	}
	if len(c.Enum) > 0 {
		return enumMapping("io.debezium.data.Enum", c.Enum)
	}
	return Mapping{}
}

// pgArray maps a PostgreSQL array column as PostgresValueConverter does: element schemas are
// optional, except for enum arrays; temporal element types ignore the column precision except
// timestamp[]; arrays of money, name, interval, bit, varbit, xml and point have no schema
// in Debezium and are omitted (bytea[] has one since Debezium 2.2, DBZ-6232: an array of the
// binary.handling.mode schema).
func pgArray(c *schema.Column, o Options) Mapping {
	e := *c
	e.Array = false
	e.Nullable = true
	e.HasDefault = false
	tm := effectiveTimeMode(schema.Postgres, o)
	adaptive := tm == TimeAdaptive || tm == TimeAdaptiveMicroseconds
	var em Mapping
	switch pgTypeName(c.Type) {
	case "money", "name", "interval", "bit", "varbit", "xml", "point":
		return Mapping{}
	case "time":
		em = Mapping{Schema: sem(Int64, "io.debezium.time.MicroTime"), Conv: ConvTimeMicro}
	case "date":
		if adaptive {
			em = Mapping{Schema: sem(Int32, "io.debezium.time.Date"), Conv: ConvDate}
		} else {
			em = Mapping{Schema: sem(Int32, "org.apache.kafka.connect.data.Date"), Conv: ConvDate}
		}
	case "timestamp":
		if adaptive {
			em = timestampMapping(TimeAdaptive, fsp(c, 6))
		} else {
			em = Mapping{Schema: sem(Int64, "org.apache.kafka.connect.data.Timestamp"), Conv: ConvTimestampMilli}
		}
	default:
		em = mapPostgres(&e, o)
		if em.Conv == ConvOmit {
			return Mapping{}
		}
	}
	em.Schema.Optional = len(c.Enum) == 0
	return Mapping{Schema: &Connect{Type: Array, Items: em.Schema}, Conv: ConvArray, Elem: &em}
}
