package binlog

import "testing"

const (
	uuidA = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	uuidB = "b9a9a3f8-1a33-11ef-8d2b-0242ac120002"
)

func TestMySQLGTIDSetParseFormat(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{uuidA + ":1-5", uuidA + ":1-5", false},
		{uuidA + ":1-5:6-9:11", uuidA + ":1-9:11", false},                           // adjacent merge
		{uuidA + ":7:1-3:2-6", uuidA + ":1-7", false},                               // overlap merge, any order
		{uuidB + ":1,\n" + uuidA + ":3", uuidA + ":3," + uuidB + ":1", false},       // @@gtid_executed form, sorted
		{strUpper(uuidA) + ":1-2", uuidA + ":1-2", false},                           // case
		{uuidA + ":1-2," + uuidA + ":5", uuidA + ":1-2:5", false},                   // same uuid twice
		{uuidA + ":1-2:tag_b:3:tag_a:1-2", uuidA + ":1-2:tag_a:1-2:tag_b:3", false}, // MySQL 8.4 tags
		{uuidA, "", true},
		{uuidA + ":0", "", true},
		{uuidA + ":5-3", "", true},
		{"nonsense:1", "", true},
		{uuidA + ":1-x", "", true},
		{uuidA + ":9tag:1", "", true},
	}
	for _, c := range cases {
		s, err := ParseMySQLGTIDSet(c.in)
		if (err != nil) != c.err {
			t.Errorf("Parse(%q) err = %v", c.in, err)
			continue
		}
		if err == nil && s.String() != c.want {
			t.Errorf("Parse(%q) = %q, want %q", c.in, s.String(), c.want)
		}
	}
}

func strUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func mustSet(t *testing.T, s string) MySQLGTIDSet {
	t.Helper()
	g, err := ParseMySQLGTIDSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestMySQLGTIDSetOps(t *testing.T) {
	a, _ := ParseUUID(uuidA)
	cases := []struct {
		set, other string
		contains   bool
		union      string
	}{
		{uuidA + ":1-10", uuidA + ":3-5", true, uuidA + ":1-10"},
		{uuidA + ":1-10", uuidA + ":3-11", false, uuidA + ":1-11"},
		{uuidA + ":1-3:5-7", uuidA + ":4", false, uuidA + ":1-7"},
		{uuidA + ":1-3", uuidB + ":1", false, uuidA + ":1-3," + uuidB + ":1"},
		{uuidA + ":1-3", "", true, uuidA + ":1-3"},
		{"", uuidA + ":1", false, uuidA + ":1"},
		{uuidA + ":1-3:tag:1", uuidA + ":tag:1", true, uuidA + ":1-3:tag:1"},
		{uuidA + ":1-3", uuidA + ":tag:1", false, uuidA + ":1-3:tag:1"},
	}
	for _, c := range cases {
		s, o := mustSet(t, c.set), mustSet(t, c.other)
		if got := s.Contains(o); got != c.contains {
			t.Errorf("%q contains %q = %v", c.set, c.other, got)
		}
		u := s.Clone()
		u.Union(o)
		if u.String() != c.union {
			t.Errorf("%q ∪ %q = %q, want %q", c.set, c.other, u, c.union)
		}
		if !u.Contains(s) || !u.Contains(o) {
			t.Errorf("union does not contain its parts")
		}
		if s.String() != mustSet(t, c.set).String() {
			t.Errorf("Union changed the clone's source")
		}
	}
	s := mustSet(t, uuidA+":1-3")
	s.Add(a, "", 4)
	s.Add(a, "", 6)
	if s.String() != uuidA+":1-4:6" || !s.ContainsGTID(a, "", 6) || s.ContainsGTID(a, "", 5) || s.ContainsGTID(a, "x", 1) {
		t.Errorf("add: %s", s)
	}
	s.Add(a, "", 5)
	if s.String() != uuidA+":1-6" || !s.Equal(mustSet(t, uuidA+":1-2:3-6")) {
		t.Errorf("add gap: %s", s)
	}
	b, err := s.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeMySQLGTIDSet(b)
	if err != nil || back.String() != s.String() || len(b) != 8+16+8+16 {
		t.Errorf("binary round trip: %v %s (%d bytes)", err, back, len(b))
	}
	if _, err := mustSet(t, uuidA+":t:1").AppendBinary(nil); err == nil {
		t.Error("tagged binary encoding accepted")
	}
}

func TestMariaDBGTIDSet(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{"0-1-100", "0-1-100", false},
		{"1-2-5, 0-1-100", "0-1-100,1-2-5", false},
		{"0-1-1,0-2-2", "", true},
		{"0-1", "", true},
		{"a-1-1", "", true},
		{"0-1-18446744073709551615", "0-1-18446744073709551615", false},
	}
	for _, c := range cases {
		s, err := ParseMariaDBGTIDSet(c.in)
		if (err != nil) != c.err {
			t.Errorf("Parse(%q) err = %v", c.in, err)
			continue
		}
		if err == nil && s.String() != c.want {
			t.Errorf("Parse(%q) = %q, want %q", c.in, s, c.want)
		}
	}
	s, _ := ParseMariaDBGTIDSet("0-1-100,1-2-5")
	g := func(x string) MariaDBGTID {
		v, err := ParseMariaDBGTID(x)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		gtid string
		in   bool
	}{{"0-1-100", true}, {"0-3-50", true}, {"0-1-101", false}, {"1-2-5", true}, {"2-1-1", false}} {
		if s.ContainsGTID(g(c.gtid)) != c.in {
			t.Errorf("contains %s = %v", c.gtid, !c.in)
		}
	}
	o, _ := ParseMariaDBGTIDSet("0-3-90,1-3-9,5-1-1")
	u := s.Clone()
	u.Union(o)
	if u.String() != "0-1-100,1-3-9,5-1-1" || !u.Contains(s) || !u.Contains(o) || s.Contains(o) {
		t.Errorf("union = %s", u)
	}
	u.Add(g("0-2-101"))
	if u.String() != "0-2-101,1-3-9,5-1-1" {
		t.Errorf("add = %s", u)
	}
}
