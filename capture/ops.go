package capture

import (
	"fmt"
	"strings"
)

// OpSet is a set of operation codes, indexed by the code so a hot-path lookup is one load.
type OpSet [256]bool

// Has reports whether op is in the set.
func (s *OpSet) Has(op Op) bool { return s[op] }

// ParseSkippedOps parses Debezium's skipped.operations: comma-separated op codes of c, u, d,
// r, t, m ("c,u"; letters may also run together, "cu"), or "none". "" is Debezium's default,
// "t". It is the one parser of the setting: the pipeline drops every op in the set and the
// PostgreSQL source filters the ones it can before decoding.
func ParseSkippedOps(s string) (OpSet, error) {
	var set OpSet
	if s == "" {
		s = "t"
	}
	if s == "none" {
		return set, nil
	}
	for _, f := range strings.Split(s, ",") {
		for _, r := range strings.TrimSpace(f) {
			switch Op(r) {
			case OpCreate, OpUpdate, OpDelete, OpRead, OpTruncate, OpMessage:
				set[r] = true
			default:
				return OpSet{}, fmt.Errorf("skipped operations %q: %q is not one of c, u, d, r, t, m (or \"none\")", s, r)
			}
		}
	}
	return set, nil
}
