package transform

import "testing"

// TestUnquote holds unquote to encoding/json's reading of a JSON string: a surrogate pair is one
// character (Go's strconv.Unquote makes two U+FFFD of it), \/ is a slash.
func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`:                 "plain",
		`"a\"b\\c\/d"`:            `a"b\c/d`,
		`"tab\tnl\n"`:             "tab\tnl\n",
		`"\u00e9t\u00e9"`:         "été",
		`"\ud83d\ude00 smile"`:    "😀 smile",
		`"lone \ud83d surrogate"`: "lone \ufffd surrogate",
	} {
		got, ok := unquote([]byte(in))
		if !ok || got != want {
			t.Errorf("unquote(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := unquote([]byte(`12`)); ok {
		t.Error("unquote(12) ok, want not a string")
	}
}
