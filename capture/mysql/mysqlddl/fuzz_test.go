package mysqlddl

import "testing"

// FuzzApply: no statement makes the catalog panic (the rewrite before the grammar walks
// tokens by index; a DDL comes from the binlog, written by anyone with CREATE).
func FuzzApply(f *testing.F) {
	for _, tc := range synonymCases {
		f.Add("CREATE TABLE t (id int PRIMARY KEY, x " + tc.synonym + ")")
		f.Add("ALTER TABLE t ADD COLUMN y " + tc.synonym + ", MODIFY x " + tc.synonym)
	}
	for _, s := range []string{
		"CREATE TABLE t (a NATIONAL CHAR(", "ALTER TABLE t CHANGE a b NCHAR VARYING (3", "CREATE TABLE t (x LONG",
		"CREATE OR REPLACE TABLE t (id uuid, b inet6 DEFAULT f(1), CHECK (b > 0)) ROW_FORMAT FIXED",
		"CREATE TABLE t (id int) DEFAULT CHARACTER SET utf8mb4", "ALTER TABLE IF EXISTS t ADD COLUMN IF NOT EXISTS a SERIAL",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stmt string) {
		c := NewCatalog("9.7.0")
		_, _ = c.Apply("CREATE TABLE t (id int PRIMARY KEY, x int, a int)", "d")
		_, _ = c.Apply(stmt, "d")
	})
}
