package properties

import "testing"

func TestParseProperties(t *testing.T) {
	in := "a=1\n" +
		"b : 2\n" +
		"c 3\n" +
		"  # comment\n" +
		"! also comment\n" +
		"d=multi \\\n   line\n" +
		"e\\=x=y\n" +
		"f=tab\\tand\\u0041\n" +
		"g=\n" +
		"h\n" +
		"i=a=b\n"
	got, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "1", "b": "2", "c": "3", "d": "multi line", "e=x": "y", "f": "tab\tandA", "g": "", "h": "", "i": "a=b"}
	if len(got) != len(want) {
		t.Errorf("got %q", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q = %q, want %q", k, got[k], v)
		}
	}
}

func FuzzParseProperties(f *testing.F) {
	f.Add([]byte("a=1\nb: 2\nc 3\n# x\nd=\\\n e\n"))
	f.Add([]byte("\\u12"))
	f.Add([]byte("k=\\"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b) // must not panic
	})
}
