//go:build integration

package mysql

import (
	"strings"
	"testing"
)

// TestNoTableMatchedWarns: an include list that matches no table (most often a misspelt one)
// is logged at warn level with the flags to check. Before, the source ran and captured nothing,
// and only an info line (tables=0) hinted at it.
func TestNoTableMatchedWarns(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			var l lockedLog
			ts := newTestSource(t, srv, "sluice_no_such_database_x")
			ts.cfg.Logger = l.logger()
			s := ts.open(t)
			s.Close()
			if !strings.Contains(l.String(), "level=WARN") || !strings.Contains(l.String(), "no table matches the include/exclude lists") {
				t.Errorf("no warning that nothing is captured:\n%s", l.String())
			}
		})
	}
}
