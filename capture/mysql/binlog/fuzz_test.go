package binlog

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// allTypesTable has one column of every type the rows decoder knows.
func allTypesTable(id uint64) testkit.BinlogTable {
	cols := []testkit.BinlogColumn{
		{Type: byte(TypeTiny)}, {Type: byte(TypeShort)}, {Type: byte(TypeInt24)}, {Type: byte(TypeLong)}, {Type: byte(TypeLongLong)},
		{Type: byte(TypeFloat), Meta: []byte{4}}, {Type: byte(TypeDouble), Meta: []byte{8}}, {Type: byte(TypeNewDecimal), Meta: []byte{40, 10}},
		{Type: byte(TypeYear)}, {Type: byte(TypeDate)}, {Type: byte(TypeTime)}, {Type: byte(TypeTime2), Meta: []byte{3}},
		{Type: byte(TypeDateTime)}, {Type: byte(TypeDateTime2), Meta: []byte{6}}, {Type: byte(TypeTimestamp)}, {Type: byte(TypeTimestamp2), Meta: []byte{2}},
		{Type: byte(TypeBit), Meta: []byte{3, 2}}, {Type: byte(TypeString), Meta: []byte{byte(TypeEnum), 2}}, {Type: byte(TypeString), Meta: []byte{byte(TypeSet), 8}},
		{Type: byte(TypeString), Meta: []byte{byte(TypeString) ^ 0x30, 0xfc}}, {Type: byte(TypeVarchar), Meta: []byte{0x2c, 1}},
		{Type: byte(TypeBlob), Meta: []byte{2}}, {Type: byte(TypeJSON), Meta: []byte{4}}, {Type: byte(TypeGeometry), Meta: []byte{4}},
		{Type: byte(TypeVector), Meta: []byte{4}},
	}
	for i := range cols {
		cols[i].Nullable = true
	}
	opt := testkit.OptionalMeta(nil, metaEnumStrValue, testkit.StrValues([]string{"a", "b"}))
	opt = testkit.OptionalMeta(opt, metaSetStrValue, testkit.StrValues([]string{"x", "y", "z"}))
	return testkit.BinlogTable{ID: id, Schema: "db", Name: "all", Columns: cols, Optional: opt}
}

func allTypesCells() []testkit.Cell {
	return []testkit.Cell{
		testkit.Int(-1, 1), testkit.Int(-2, 2), testkit.Int(-3, 3), testkit.Int(-4, 4), testkit.Int(-5, 8),
		testkit.Float(1.25), testkit.Double(-2.5), testkit.Decimal("-12345678901234567890.0123456789", 40, 10),
		testkit.Int(99, 1), testkit.Date(2020, 1, 31), testkit.Int(-102030, 3), testkit.Time2(-3723004000, 3),
		testkit.Int(20200131102030, 8), testkit.DateTime2(2020, 1, 31, 10, 20, 30, 999999, 6), testkit.Int(1700000000, 4), testkit.Timestamp2(1700000000, 120000, 2),
		{0x07, 0xff, 0x01}, testkit.Int(2, 2), testkit.Int(5, 8),
		testkit.VarString("fixed", 2), testkit.VarString("var", 2),
		testkit.Blob([]byte("text"), 2), testkit.Blob(testkit.JSONBinary(testkit.JSONObject{{"a", []any{1, "b", nil, 2.5}}}), 4),
		testkit.Blob(append([]byte{0, 0, 0, 0}, wkbPoint(3, 4)...), 4), testkit.Blob(testkit.Float(1), 4),
	}
}

func seedEvents() [][]byte {
	s := testkit.NewBinlogStream(1)
	s.Checksum = false
	at := allTypesTable(9)
	cells := allTypesCells()
	n := len(at.Columns)
	evs := [][]byte{
		s.Event(testkit.BinlogRotate, testkit.RotateBody(4, "binlog.000001")),
		s.Event(testkit.BinlogQuery, testkit.QueryBody(1, 0, 0, "db", testkit.QueryStatus{Raw: []byte{4, 33, 0, 33, 0, 8, 0}}.Bytes(), "BEGIN")),
		s.Event(testkit.BinlogXID, testkit.XIDBody(1)),
		s.Event(testkit.BinlogGTID, testkit.GTIDBody(0, sid, 5, 1, 2, 3, 4, 5, 80036)),
		s.Event(testkit.BinlogMariaGTID, testkit.MariaGTIDBody(5, 1, 2, 3)),
		s.Event(testkit.BinlogMariaGTIDList, testkit.MariaGTIDListBody([3]uint64{1, 2, 3})),
		s.Event(testkit.BinlogTableMap, at.Body()),
		s.Event(testkit.BinlogWriteRowsV2, testkit.RowsBody(2, 9, 1, n, testkit.All(n), nil, testkit.RowImage(cells...))),
		s.Event(testkit.BinlogUpdateRowsV1, testkit.RowsBody(1, 9, 1, n, testkit.All(n), testkit.All(n), testkit.RowImage(cells...), testkit.RowImage(cells...))),
	}
	return evs
}

// FuzzDecodeEvent feeds arbitrary bytes as one event after a FORMAT_DESCRIPTION and the
// all-types TABLE_MAP (header, every event body, rows iteration, payload iteration).
func FuzzDecodeEvent(f *testing.F) {
	for _, ev := range seedEvents() {
		f.Add(ev)
	}
	s := testkit.NewBinlogStream(1)
	s.Checksum = false
	fde := s.FormatDescription("8.0.36")
	tmap := s.Event(testkit.BinlogTableMap, allTypesTable(9).Body())
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := NewDecoder(Config{})
		if _, err := d.Decode(fde); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(tmap); err != nil {
			t.Fatal(err)
		}
		ev, err := d.Decode(raw)
		if err != nil {
			return
		}
		if re, ok := ev.Data.(*RowsEvent); ok {
			for re.Next() {
				_, _ = re.Before(), re.After()
			}
		}
		for {
			_, ok, err := d.NextInPayload()
			if !ok || err != nil {
				break
			}
		}
	})
}

// FuzzTableMap decodes arbitrary TABLE_MAP bodies and builds their decode plans.
func FuzzTableMap(f *testing.F) {
	f.Add(allTypesTable(9).Body())
	f.Add(ordersTable(3).Body())
	opt := testkit.OptionalMeta(nil, metaDefaultCharset, []byte{255, 0, 63, 1, 8})
	opt = testkit.OptionalMeta(opt, metaColumnVisibility, []byte{0xff})
	opt = testkit.OptionalMeta(opt, metaPrimaryKeyWithPrefix, []byte{0, 4})
	t2 := allTypesTable(1)
	t2.Optional = append(t2.Optional, opt...)
	f.Add(t2.Body())
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, pl := range []int{6, 8} {
			tm, err := ParseTableMap(body, pl)
			if err != nil {
				continue
			}
			if len(tm.Meta) != len(tm.Types) {
				t.Fatalf("meta %d types %d", len(tm.Meta), len(tm.Types))
			}
			tm.SetHints(make([]ColumnHint, len(tm.Types)/2))
			if p := tm.buildPlan(); len(p) != len(tm.Types) {
				t.Fatalf("plan %d types %d", len(p), len(tm.Types))
			}
			for i := range tm.Types {
				_ = tm.RealType(i)
			}
		}
	})
}

// FuzzRows decodes arbitrary rows-event bodies against the all-types table.
func FuzzRows(f *testing.F) {
	at := allTypesTable(9)
	n := len(at.Columns)
	cells := allTypesCells()
	f.Add(byte(testkit.BinlogWriteRowsV2), testkit.RowsBody(2, 9, 1, n, testkit.All(n), nil, testkit.RowImage(cells...)))
	f.Add(byte(testkit.BinlogUpdateRowsV2), testkit.RowsBody(2, 9, 1, n, testkit.All(n), testkit.All(n), testkit.RowImage(cells...), testkit.RowImage(cells...)))
	f.Add(byte(testkit.BinlogDeleteRowsV1), testkit.RowsBody(1, 9, 1, n, testkit.All(n), nil, testkit.RowImage(make([]testkit.Cell, n)...)))
	f.Add(byte(testkit.BinlogPartialUpdateRows), testkit.RowsBody(2, 9, 1, n, testkit.All(n), testkit.All(n), testkit.RowImage(cells...), append([]byte{1, 1}, testkit.RowImage(cells...)...)))
	s := testkit.NewBinlogStream(1)
	s.Checksum = false
	fde := s.FormatDescription("8.0.36")
	tmap := s.Event(testkit.BinlogTableMap, at.Body())
	f.Fuzz(func(t *testing.T, typ byte, body []byte) {
		if !EventType(typ).IsRows() {
			return
		}
		// Decoded as text and escaped (Config.EscapeJSON), the rows must agree: a JSON value's
		// escaped form is the envelope's escaping of its text.
		plain := fuzzRows(t, Config{}, fde, tmap, typ, body, n)
		escaped := fuzzRows(t, Config{EscapeJSON: true}, fde, tmap, typ, body, n)
		if len(plain) != len(escaped) {
			t.Fatalf("%d values as text, %d escaped", len(plain), len(escaped))
		}
		for i := range plain {
			p, e := plain[i], escaped[i]
			switch {
			case p.Kind == capture.JSON && e.Kind == capture.EscapedJSON:
				if want := envelopeEscaped(string(p.Bytes)); string(e.Bytes) != want {
					t.Fatalf("value %d escaped %q, want %q", i, e.Bytes, want)
				}
			case p.Kind != e.Kind || string(p.Bytes) != string(e.Bytes):
				t.Fatalf("value %d: %v as text, %v escaped", i, p, e)
			}
		}
	})
}

// fuzzRows decodes one rows event with cfg, checks More/Next agree, and returns every value of
// every image, copied.
func fuzzRows(t *testing.T, cfg Config, fde, tmap []byte, typ byte, body []byte, n int) []capture.Value {
	t.Helper()
	var vals []capture.Value
	d := NewDecoder(cfg)
	if _, err := d.Decode(fde); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(tmap); err != nil {
		t.Fatal(err)
	}
	ev, err := d.Decode(testkit.EncodeEvent(0, typ, 1, 0, 0, body, false))
	if err != nil {
		return nil
	}
	re := ev.Data.(*RowsEvent)
	for {
		more := re.More()
		if !re.Next() {
			if more && re.Err() == nil {
				t.Fatal("More said rows were left; Next ended without an error")
			}
			break
		}
		if !more {
			t.Fatal("Next decoded a row after More said none was left")
		}
		for _, r := range []int{len(re.Before()), len(re.After())} {
			if r != 0 && r != n {
				t.Fatalf("row of %d values, want %d", r, n)
			}
		}
		for _, v := range re.Before() {
			vals = append(vals, v.Clone())
		}
		for _, v := range re.After() {
			vals = append(vals, v.Clone())
		}
	}
	if re.More() {
		t.Fatal("More true after Next ended")
	}
	return vals
}

// FuzzJSON renders arbitrary binary JSON; whatever renders must be valid JSON text, and its
// one-pass escaped form (AppendJSONEscaped) must be the envelope's escaping of that text.
func FuzzJSON(f *testing.F) {
	for _, v := range []any{
		testkit.JSONObject{{"a", 1}, {"bb", []any{true, nil, "x", 1.5, int64(1) << 40, uint64(1) << 63}}},
		[]any{testkit.JSONOpaque{Type: byte(TypeNewDecimal), Data: append([]byte{5, 2}, testkit.Decimal("-1.50", 5, 2)...)}},
		[]any{testkit.JSONOpaque{Type: byte(TypeDateTime), Data: testkit.Int(0x19B2CAA51E<<24|5, 8)}, testkit.JSONOpaque{Type: byte(TypeBlob), Data: []byte{1}}},
		"str\n\"", 1e-9, -7,
		testkit.JSONObject{{"k\"\\\x01", "é\xff\xe2\x82\x7f\t"}},
	} {
		f.Add(testkit.JSONBinary(v))
		f.Add(testkit.JSONBinaryLarge(v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := AppendJSON(nil, b)
		esc, errEsc := AppendJSONEscaped([]byte("keep"), b)
		if (err == nil) != (errEsc == nil) {
			t.Fatalf("AppendJSON error %v, AppendJSONEscaped error %v, for %x", err, errEsc, b)
		}
		if err != nil {
			if string(esc) != "keep" {
				t.Fatalf("AppendJSONEscaped failed and left %q", esc)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON text %q from %x", out, b)
		}
		if want := "keep" + envelopeEscaped(string(out)); string(esc) != want {
			t.Fatalf("escaped %q, want %q (text %q)", esc, want, out)
		}
	})
}

// FuzzDecimal decodes arbitrary packed decimals; anything that decodes re-encodes to a value
// that decodes the same.
func FuzzDecimal(f *testing.F) {
	f.Add([]byte(testkit.Decimal("1234567890.12", 12, 2)), byte(12), byte(2))
	f.Add([]byte(testkit.Decimal("-12345678901234567890.0123456789", 40, 10)), byte(40), byte(10))
	f.Add([]byte(testkit.Decimal("0", 1, 0)), byte(1), byte(0))
	f.Add([]byte(testkit.Decimal("-0.000000000000000000000000000001", 65, 30)), byte(65), byte(30))
	f.Fuzz(func(t *testing.T, b []byte, p, s byte) {
		u, bg, n, err := DecodeDecimal(b, int(p), int(s))
		if err != nil {
			return
		}
		if n != DecimalSize(int(p), int(s)) {
			t.Fatalf("used %d bytes", n)
		}
		v := bg
		if v == nil {
			v = big.NewInt(u)
		}
		enc, err := AppendDecimalBinary(nil, v, int(p), int(s))
		if err != nil {
			t.Fatalf("re-encode %s: %v", v, err)
		}
		u2, bg2, _, err := DecodeDecimal(enc, int(p), int(s))
		if err != nil || u2 != u || (bg == nil) != (bg2 == nil) || (bg != nil && bg.Cmp(bg2) != 0) {
			t.Fatalf("round trip %s: %d %v %v", v, u2, bg2, err)
		}
	})
}

// FuzzGTIDSet parses arbitrary GTID set text; what parses formats and re-parses to itself.
func FuzzGTIDSet(f *testing.F) {
	f.Add(uuidA + ":1-5:7," + uuidB + ":1:tag:3-4")
	f.Add("0-1-100,1-2-5")
	f.Fuzz(func(t *testing.T, s string) {
		if g, err := ParseMySQLGTIDSet(s); err == nil {
			g2, err := ParseMySQLGTIDSet(g.String())
			if err != nil || !g2.Equal(g) || g2.String() != g.String() {
				t.Fatalf("%q -> %q -> %v", s, g, err)
			}
		}
		if m, err := ParseMariaDBGTIDSet(s); err == nil {
			m2, err := ParseMariaDBGTIDSet(m.String())
			if err != nil || m2.String() != m.String() {
				t.Fatalf("%q -> %q -> %v", s, m, err)
			}
		}
	})
}

// TestSeedsDecode keeps the fuzz seeds valid: each decodes without error, rows included.
func TestSeedsDecode(t *testing.T) {
	s := testkit.NewBinlogStream(1)
	s.Checksum = false
	d := NewDecoder(Config{})
	decodeAll(t, d, s.FormatDescription("8.0.36"))
	rows := 0
	for i, raw := range seedEvents() {
		ev, err := d.Decode(raw)
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if re, ok := ev.Data.(*RowsEvent); ok {
			for re.Next() {
				rows++
				r := re.After()
				if r[10].Int != -(10*3600+20*60+30)*1e6 || r[12].Int != ts(2020, 1, 31, 10, 20, 30, 0) || string(r[17].Bytes) != "b" ||
					string(r[18].Bytes) != "x,z" || string(r[22].Bytes) != `{"a":[1,"b",null,2.5]}` || r[16].Aux != 19 {
					t.Errorf("seed row = %v", r)
				}
			}
			if re.Err() != nil {
				t.Fatalf("seed %d rows: %v", i, re.Err())
			}
		}
	}
	if rows != 2 {
		t.Errorf("rows = %d", rows)
	}
}

// FuzzJSONDiff applies arbitrary diff lists to arbitrary binary JSON; what applies renders
// valid JSON text.
func FuzzJSONDiff(f *testing.F) {
	before := testkit.JSONBinary(testkit.JSONObject{{"a", []any{1, 2}}, {"b", testkit.JSONObject{{"c", "x"}}}})
	v := testkit.JSONBinary(7)
	f.Add(before, append(append([]byte{0, 6}, "$.a[1]"...), append([]byte{byte(len(v))}, v...)...))
	f.Add(before, append([]byte{2, 5}, `$."b"`...))
	f.Fuzz(func(t *testing.T, before, diff []byte) {
		out, err := ApplyJSONDiff(nil, before, diff)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON %q", out)
		}
	})
}
