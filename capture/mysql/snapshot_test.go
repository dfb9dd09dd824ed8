package mysql

import "testing"

// TestTxControl: the binlog Query events the unlocked schema read's DDL check lets pass are
// only those that begin or end a transaction; anything else counts as a possible DDL.
func TestTxControl(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"BEGIN", true},
		{"COMMIT", true},
		{" commit ", true},
		{"ROLLBACK", true},
		{"XA START X'01',X'',1", true},
		{"SAVEPOINT `s1`", true},
		{"ROLLBACK TO `s1`", true},
		{"use `d`; ALTER TABLE t ADD COLUMN c INT", false},
		{"CREATE TABLE d.t (id INT)", false},
		{"DROP TEMPORARY TABLE IF EXISTS `t`", false},
		{"GRANT SELECT ON *.* TO u", false},
		{"", false},
	} {
		if got := txControl(tc.q); got != tc.want {
			t.Errorf("txControl(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}
