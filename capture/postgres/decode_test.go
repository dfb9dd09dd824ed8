package postgres

import (
	"encoding/binary"
	"math"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres/pgoutput"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/schema"
)

func TestDecodeText(t *testing.T) {
	arrOf := func(e *decoder) *decoder { return &decoder{kind: decArray, delim: ',', elem: e} }
	cases := []struct {
		name string
		dec  *decoder
		in   string
		want capture.Value
	}{
		{"int", &decoder{kind: decInt}, "-42", capture.IntValue(-42)},
		{"int min", &decoder{kind: decInt}, "-9223372036854775808", capture.IntValue(math.MinInt64)},
		{"bool", &decoder{kind: decBool}, "f", capture.BoolValue(false)},
		{"numeric", &decoder{kind: decNumeric}, "-12.340", capture.DecimalValue(-12340, 3)},
		{"numeric int", &decoder{kind: decNumeric}, "7", capture.DecimalValue(7, 0)},
		{"numeric nan", &decoder{kind: decNumeric}, "NaN", capture.Value{Kind: capture.Decimal, Flag: capture.NaN}},
		{"numeric -inf", &decoder{kind: decNumeric}, "-Infinity", capture.Value{Kind: capture.Decimal, Flag: capture.NegInfinity}},
		{"money", &decoder{kind: decMoney}, "-$1,234.56", capture.DecimalValue(-123456, 2)},
		{"bytea", &decoder{kind: decBytea}, `\x0aFF`, capture.BytesValue([]byte{0x0a, 0xff})},
		{"bit1", &decoder{kind: decBit, typmod: 1}, "0", capture.BoolValue(false)},
		// varbit(1): Debezium's schema is boolean (envelope.MapColumn), so every value is a Bool,
		// the empty bit string included (it gave zero-length Bits, which a boolean cannot hold).
		{"varbit1 one", &decoder{kind: decBit, typmod: 1}, "1", capture.BoolValue(true)},
		{"varbit1 empty", &decoder{kind: decBit, typmod: 1}, "", capture.BoolValue(false)},
		{"varbit empty", &decoder{kind: decBit, typmod: -1}, "", capture.Value{Kind: capture.Bits, Bytes: []byte{}, Aux: 0}},
		{"bits", &decoder{kind: decBit, typmod: 10}, "1000000001", capture.Value{Kind: capture.Bits, Bytes: []byte{0x01, 0x02}, Aux: 10}},
		{"date", &decoder{kind: decDate}, "1970-01-02", capture.DateValue(1)},
		{"date before epoch", &decoder{kind: decDate}, "1969-12-31", capture.DateValue(-1)},
		{"date -inf", &decoder{kind: decDate}, "-infinity", capture.Value{Kind: capture.Date, Flag: capture.NegInfinity}},
		{"time", &decoder{kind: decTime, prec: 6}, "24:00:00", capture.TimeValue(86400e6, 6)},
		{"timetz", &decoder{kind: decTimeTZ}, "01:02:03-08", capture.Value{Kind: capture.TimeTZ, Int: 3723e6, Aux: -28800}},
		{"timestamptz offset", &decoder{kind: decTimestampTZ, prec: 6}, "2000-01-01 00:00:00.5+01:30", capture.TimestampTZValue(946684800500000-5400e6, 6)},
		{"timestamp bc", &decoder{kind: decTimestamp, prec: 6}, "0001-01-01 00:00:00 BC", capture.TimestampValue(-62167219200000000, 6)},
		{"interval", &decoder{kind: decInterval}, "-1 years -2 mons +3 days -04:05:06.5", capture.Value{Kind: capture.Interval, Aux: -14, Int: 3*86400e6 - 14706500000, Bytes: []byte("-1 years -2 mons +3 days -04:05:06.5")}},
		{"interval hours", &decoder{kind: decInterval}, "100:00:00", capture.Value{Kind: capture.Interval, Int: 360000e6, Bytes: []byte("100:00:00")}},
		{"hstore", &decoder{kind: decHstore}, `"k\"q"=>"v\\w", "n"=>NULL`, capture.JSONValue([]byte(`{"k\"q":"v\\w","n":null}`))},
		{"hstore empty", &decoder{kind: decHstore}, ``, capture.JSONValue([]byte(`{}`))},
		{"point", &decoder{kind: decPoint}, "(0,1e+20)", capture.Value{Kind: capture.Geometry, Bytes: wkbPoint(0, 1e20)}},
		{"vector", &decoder{kind: decVector}, "[1,-2.5]", capture.Value{Kind: capture.Vector, Elems: []capture.Value{capture.Float64Value(1), capture.Float64Value(-2.5)}}},
		{"ewkb srid", &decoder{kind: decGeometry}, "0101000020E6100000000000000000F03F0000000000000040",
			// The EWKB as sent, SRID inside (Debezium's PostgisGeometry keeps it so).
			capture.Value{Kind: capture.Geometry, Flag: capture.HasSRID, Aux: 4326, Bytes: []byte{1, 1, 0, 0, 0x20, 0xe6, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40}}},
		{"array bounds", arrOf(&decoder{kind: decInt}), "[0:1]={5,6}", capture.Value{Kind: capture.Array, Elems: []capture.Value{capture.IntValue(5), capture.IntValue(6)}}},
		{"array empty", arrOf(&decoder{kind: decInt}), "{}", capture.Value{Kind: capture.Array, Elems: []capture.Value{}}},
		{"array quoted", arrOf(&decoder{kind: decString}), `{"a\\b","{x}",""}`, capture.Value{Kind: capture.Array, Elems: []capture.Value{capture.StringValue([]byte(`a\b`)), capture.StringValue([]byte("{x}")), capture.StringValue([]byte(""))}}},
		{"box array delim", &decoder{kind: decArray, delim: ';', elem: &decoder{kind: decString}}, "{(1,1),(0,0);(2,2),(1,1)}", capture.Value{Kind: capture.Array, Elems: []capture.Value{capture.StringValue([]byte("(1,1),(0,0)")), capture.StringValue([]byte("(2,2),(1,1)"))}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.dec.decode([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if show(got) != show(c.want) {
				t.Errorf("got %s\nwant %s", show(got), show(c.want))
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		dec *decoder
		in  string
	}{
		{&decoder{kind: decInt}, "12a"}, {&decoder{kind: decInt}, "99999999999999999999"}, {&decoder{kind: decBool}, "x"},
		{&decoder{kind: decBytea}, `\x0`}, {&decoder{kind: decBytea}, `abc`}, {&decoder{kind: decDate}, "2024-13-01"},
		{&decoder{kind: decTimestampTZ}, "2024-01-01 00:00:00"}, {&decoder{kind: decInterval}, "3 fortnights"},
		{&decoder{kind: decArray, delim: ',', elem: &decoder{kind: decInt}}, "{1,2"},
		{&decoder{kind: decArray, delim: ',', elem: &decoder{kind: decInt}}, `{"1`},
		{&decoder{kind: decHstore}, `"a"=`}, {&decoder{kind: decPoint}, "(1)"}, {&decoder{kind: decNumeric}, "1.2.3"},
	} {
		if v, err := c.dec.decode([]byte(c.in)); err == nil {
			t.Errorf("kind %d %q: no error, got %s", c.dec.kind, c.in, show(v))
		}
	}
}

// show renders a value for comparisons.
func show(v capture.Value) string {
	b := []byte{'k', byte('0' + v.Kind/10), byte('0' + v.Kind%10)}
	b = binary.AppendVarint(append(b, "/f"...), int64(v.Flag))
	b = binary.AppendVarint(append(b, "/a"...), int64(v.Aux))
	b = binary.AppendVarint(append(b, "/i"...), v.Int)
	b = append(append(b, "/b"...), v.Bytes...)
	if v.Big != nil {
		b = append(append(b, "/B"...), v.Big.String()...)
	}
	if v.Elems != nil {
		b = append(b, '[')
		for _, e := range v.Elems {
			b = append(append(b, show(e)...), ' ')
		}
		b = append(b, ']')
	}
	return string(b)
}

func benchRelation() *relation {
	decs := []*decoder{{kind: decInt}, {kind: decString}, {kind: decNumeric}, {kind: decTimestampTZ, prec: 6}, {kind: decBool}, {kind: decJSON}, {kind: decInt}, {kind: decString}}
	t := &schema.Table{ID: schema.TableID{Schema: "public", Table: "orders"}}
	for i := range decs {
		t.Columns = append(t.Columns, schema.Column{Name: string(rune('a' + i))})
	}
	return &relation{table: t, decs: decs, out: []int{0, 1, 2, 3, 4, 5, 6, 7}, included: true}
}

var benchTuple = testkit.PgoutputTextTuple([]byte("1234567"), []byte("customer name number 42"), []byte("19999.99"),
	[]byte("2024-01-15 10:30:00.123456+00"), []byte("t"), []byte(`{"sku": "A-1", "qty": 3}`), []byte("42"), nil)

func TestDecodeTuple(t *testing.T) {
	rel := benchRelation()
	data := append([]byte(nil), benchTuple...)
	row, err := rel.decodeTuple(pgoutput.Tuple(data), &rowSlab{})
	if err != nil {
		t.Fatal(err)
	}
	want := []capture.Value{capture.IntValue(1234567), capture.StringValue([]byte("customer name number 42")), capture.DecimalValue(1999999, 2),
		capture.TimestampTZValue(1705314600123456, 6), capture.BoolValue(true), capture.JSONValue([]byte(`{"sku": "A-1", "qty": 3}`)), capture.IntValue(42), {}}
	for i := range want {
		if show(row[i]) != show(want[i]) {
			t.Errorf("col %d: %s, want %s", i, show(row[i]), show(want[i]))
		}
	}
	// Truncated input fails cleanly at every cut.
	for n := 0; n < len(benchTuple); n++ {
		if _, err := rel.decodeTuple(append(pgoutput.Tuple(nil), benchTuple[:n]...), &rowSlab{}); err == nil {
			t.Fatalf("cut at %d: no error", n)
		}
	}
}

// BenchmarkDecodeTuple decodes one 8-column row (bigint, text, numeric, timestamptz, bool,
// jsonb, int, NULL) from pgoutput text TupleData.
func BenchmarkDecodeTuple(b *testing.B) {
	rel := benchRelation()
	data := append([]byte(nil), benchTuple...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := 0
	slab := &rowSlab{}
	cpu0 := threadCPU()
	for b.Loop() {
		if _, err := rel.decodeTuple(pgoutput.Tuple(data), slab); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// The machine is shared: wall-clock ns/op swings with load, the thread's CPU time less so
	// (it leaves out the GC's background work).
	b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzDecodeTuple feeds arbitrary bytes to the tuple and value decoders: errors are fine,
// panics are not. (pgoutput.FuzzParse covers whole messages.)
func FuzzDecodeTuple(f *testing.F) {
	f.Add(benchTuple)
	f.Add(testkit.PgoutputTextTuple([]byte("{1,\"a\",NULL}"), []byte(`\x00`)))
	rel := benchRelation()
	arr := &relation{table: rel.table, out: rel.out, decs: []*decoder{
		{kind: decArray, delim: ',', elem: &decoder{kind: decString}}, {kind: decBytea}, {kind: decInterval}, {kind: decHstore},
		{kind: decTimeTZ}, {kind: decMoney}, {kind: decArray, delim: ',', elem: &decoder{kind: decArray, delim: ',', elem: &decoder{kind: decInt}}}, {kind: decGeometry}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		rel.decodeTuple(append(pgoutput.Tuple(nil), data...), &rowSlab{})
		arr.decodeTuple(append(pgoutput.Tuple(nil), data...), &rowSlab{})
		for _, d := range arr.decs {
			d.decode(append([]byte(nil), data...))
		}
	})
}

func TestDecodeArrayFlattens(t *testing.T) {
	d := &decoder{kind: decArray, delim: ',', elem: &decoder{kind: decInt}}
	v, err := d.decode([]byte("{{1,NULL},{3,4}}"))
	if err != nil {
		t.Fatal(err)
	}
	want := capture.Value{Kind: capture.Array, Elems: []capture.Value{capture.IntValue(1), {}, capture.IntValue(3), capture.IntValue(4)}}
	if show(v) != show(want) {
		t.Errorf("got %s", show(v))
	}
}

func TestNumericTypmod(t *testing.T) {
	// typmods as PostgreSQL computes them: ((p << 16) | (s & 0x7ff)) + 4.
	typmod := func(p, s int) int32 { return int32(p<<16|s&0x7ff) + 4 }
	for _, c := range []struct{ p, s int }{{12, 2}, {5, 0}, {1000, 1000}, {3, 5}, {5, -2}, {1, -1000}} {
		if p, s := numericTypmod(typmod(c.p, c.s)); p != c.p || s != c.s {
			t.Errorf("numeric(%d,%d): got (%d,%d)", c.p, c.s, p, s)
		}
	}
}
