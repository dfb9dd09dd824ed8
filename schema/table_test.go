package schema

import "testing"

func TestTableID(t *testing.T) {
	cases := []struct {
		name string
		id   TableID
		want string
	}{
		{"mysql: db.table", TableID{DB: "inventory", Table: "orders"}, "inventory.orders"},
		{"postgres: schema.table", TableID{DB: "appdb", Schema: "public", Table: "accounts"}, "public.accounts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.id.String(); got != c.want {
				t.Fatalf("String() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestTableKeysAndColumns(t *testing.T) {
	tbl := &Table{Columns: []Column{{Name: "id"}, {Name: "Region"}, {Name: "region"}, {Name: "kind", Enum: []string{"a", "b"}}},
		PrimaryKey: []int{1, 0}}
	for _, c := range []struct {
		name string
		want int
	}{{"region", 2}, {"Region", 1}, {"REGION", 1}, {"missing", -1}} {
		if got := tbl.ColumnIndex(c.name); got != c.want {
			t.Errorf("ColumnIndex(%q) = %d, want %d (exact match first, then case-insensitive)", c.name, got, c.want)
		}
	}
	if !tbl.IsKey(0) || !tbl.IsKey(1) || tbl.IsKey(2) {
		t.Errorf("IsKey: want columns 0 and 1 only")
	}
	if got := tbl.PrimaryKeyNames(); len(got) != 2 || got[0] != "Region" || got[1] != "id" {
		t.Errorf("PrimaryKeyNames() = %v, want [Region id] (key order)", got)
	}
	c := tbl.Clone()
	c.Columns[0].Name = "changed"
	c.Columns[3].Enum[0] = "changed"
	c.PrimaryKey[0] = 3
	if tbl.Columns[0].Name != "id" || tbl.Columns[3].Enum[0] != "a" || tbl.PrimaryKey[0] != 1 {
		t.Errorf("Clone shares memory with the original: %+v", tbl)
	}
}
