package capture

import "testing"

func TestParseSkippedOps(t *testing.T) {
	cases := []struct {
		name, in, want string // want: the ops in the set, in cudrtm order; "!" for an error
	}{
		{"default", "", "t"},
		{"none", "none", ""},
		{"one", "t", "t"},
		{"list", "c, u", "cu"},
		{"letters", "cud", "cud"},
		{"all", "c,u,d,r,t,m", "cudrtm"},
		{"unknown op", "x", "!"},
		{"unknown in list", "c,x", "!"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := ParseSkippedOps(c.in)
			got := ""
			if err != nil {
				got = "!"
			} else {
				for _, op := range []Op{OpCreate, OpUpdate, OpDelete, OpRead, OpTruncate, OpMessage} {
					if set.Has(op) {
						got += op.String()
					}
				}
			}
			if got != c.want {
				t.Errorf("ParseSkippedOps(%q) = %q (err %v), want %q", c.in, got, err, c.want)
			}
		})
	}
}
