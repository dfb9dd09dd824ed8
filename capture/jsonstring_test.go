package capture

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendUnescapedJSON(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", `abc`, "abc", true},
		{"empty", ``, "", true},
		{"one-character escapes", `\"\\\/\b\f\n\r\t`, "\"\\/\b\f\n\r\t", true},
		{"u escape", `a\u00e9b`, "aéb", true},
		{"upper-case hex", `\u00C9`, "É", true},
		{"surrogate pair", `\ud83d\ude00`, "😀", true},
		{"lone high surrogate", `\ud83dx`, "\uFFFDx", true},
		{"high surrogate then a non-surrogate escape", `\ud83d\u0041`, "\uFFFDA", true},
		{"lone low surrogate", `\ude00`, "\uFFFD", true},
		{"raw UTF-8", `naïve`, "naïve", true},
		{"unknown escape", `\x`, "", false},
		{"trailing backslash", `a\`, "", false},
		{"short u escape", `\u12`, "", false},
		{"bad hex", `\u12g4`, "", false},
		{"raw control character", "a\nb", "", false},
		{"raw quote", `a"b`, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := AppendUnescapedJSON([]byte("x"), []byte(c.in))
			if ok != c.ok || ok && string(got) != "x"+c.want {
				t.Fatalf("AppendUnescapedJSON(%q) = %q, %v; want %q, %v", c.in, got, ok, "x"+c.want, c.ok)
			}
		})
	}
}

// FuzzAppendUnescapedJSON: on valid UTF-8 the result is encoding/json's, and so is the
// verdict (ok exactly when encoding/json accepts the string).
func FuzzAppendUnescapedJSON(f *testing.F) {
	for _, s := range []string{`a\"b`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\ude00\ud83d`, `\q`, "\t", `\u`, `\/`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // encoding/json replaces invalid UTF-8; callers check validity first
		}
		got, ok := AppendUnescapedJSON(nil, body)
		var want string
		err := json.Unmarshal([]byte(`"`+string(body)+`"`), &want)
		if ok != (err == nil) {
			t.Fatalf("%q: ok = %v, encoding/json: %v", body, ok, err)
		}
		if ok && string(got) != want {
			t.Fatalf("%q: got %q, encoding/json %q", body, got, want)
		}
	})
}
