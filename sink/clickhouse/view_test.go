package clickhouse

import (
	"context"
	"strings"
	"testing"
)

func TestCreateViewSQL(t *testing.T) {
	cols := []string{"id", "na`me", "_version", "_is_deleted"}
	got := createViewSQL("`db`", "t", "t"+DataSuffix, cols, false)
	want := "CREATE VIEW `db`.`t` AS SELECT `id`, `na\\`me`, `_version`, `_is_deleted` FROM `db`.`t__versions` FINAL WHERE `_is_deleted` = 0"
	if got != want {
		t.Fatalf("legacy:\n got %s\nwant %s", got, want)
	}
	if got := createViewSQL("`db`", "t", "t"+DataSuffix, cols, true); !strings.HasPrefix(got, "CREATE OR REPLACE VIEW `db`.`t` AS SELECT") {
		t.Fatalf("modern: %s", got)
	}
	for _, c := range []struct {
		create string
		own    bool
	}{
		{"CREATE VIEW cdc.t (`id` Int32) AS SELECT * FROM cdc.t__versions FINAL  WHERE _is_deleted = 0", true}, // 18.16's form
		{"CREATE VIEW `my-db`.t AS SELECT id FROM `my-db`.`t__versions` FINAL WHERE `_is_deleted` = 0", true},
		{"CREATE VIEW cdc.t AS SELECT id FROM cdc.t__versions", false}, // no FINAL: not the sink's
		{"CREATE VIEW cdc.t AS SELECT 1", false},
		{"CREATE VIEW cdc.t AS SELECT id FROM cdc.xt__versions FINAL", false},
	} {
		if got := ownView(c.create, "t"+DataSuffix); got != c.own {
			t.Errorf("ownView(%q) = %v", c.create, got)
		}
	}
}

// TestLayoutRefusesDataSuffix: a table name with the data tables' suffix would be mistaken for
// (and written into) another table's rows: refused before any query.
func TestLayoutRefusesDataSuffix(t *testing.T) {
	s := &Sink{}
	err := s.layout(context.Background(), &table{}, "orders"+DataSuffix)
	if err == nil || !strings.Contains(err.Error(), "--clickhouse-table-name") {
		t.Fatalf("error %v", err)
	}
}
