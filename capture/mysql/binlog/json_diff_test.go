package binlog

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseJSONPath(t *testing.T) {
	// Paths as the server writes them in partial JSON diffs; a member name that is not an
	// ECMAScript identifier is double-quoted with JSON escapes (json_dom.cc double_quote).
	cases := []struct {
		name, path, want string // want: legs as .key / [n], "" when the path is rejected
	}{
		{"root", `$`, ""},
		{"member and index", `$.a[2]`, `.a[2]`},
		{"quoted name with a space", `$."b c"`, `.b c`},
		{"escaped quote and backslash", `$."q\"t\\"`, `.q"t\`},
		// a member name holding a tab, which the server writes as \t, and a DEL as \u007f
		{"control characters", `$."a\tb\u007f"`, ".a\tb\x7f"},
		{"raw UTF-8", `$."é"`, `.é`},
		{"unterminated quote", `$."abc`, "!"},
		{"unknown escape", `$."a\qb"`, "!"},
		{"short u escape", `$."\u12"`, "!"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			legs, ok := parseJSONPath([]byte(c.path))
			var b strings.Builder
			if !ok {
				b.WriteString("!")
			}
			for _, l := range legs {
				if l.isKey {
					fmt.Fprintf(&b, ".%s", l.key)
				} else {
					fmt.Fprintf(&b, "[%d]", l.index)
				}
			}
			if b.String() != c.want {
				t.Fatalf("parseJSONPath(%q) = %q, want %q", c.path, b.String(), c.want)
			}
		})
	}
}
