package history

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sluicecdc/sluice/schema"
)

func TestRecordRoundTrip(t *testing.T) {
	tbl := &schema.Table{ID: schema.TableID{DB: "inventory", Table: "orders"}, Dialect: schema.MySQL, DefaultCharset: "utf8mb4",
		Columns: []schema.Column{
			{Name: "id", Type: "int", Length: -1, Scale: -1, AutoIncrement: true, TypeExpr: "int"},
			{Name: "amount", Type: "decimal", Length: 10, Scale: 2, Unsigned: true, Nullable: true, TypeExpr: "decimal(10,2) unsigned"},
			{Name: "status", Type: "enum", Length: -1, Scale: -1, Enum: []string{"new", "it's"}, Charset: "utf8mb4", HasDefault: true, Default: "new", TypeExpr: "enum('new','it''s')"},
		},
		PrimaryKey: []int{0}}
	r := Record{Server: "dbserver1", Position: []byte(`{"file":"binlog.000003","pos":154}`), TsMs: 1705314600123,
		DatabaseName: "inventory", DDL: "CREATE TABLE orders (…)",
		TableChanges: []TableChange{{Type: "CREATE", ID: tbl.ID, Table: tbl, UniqueKeys: [][]string{{"amount", "status"}}}}}
	b := r.AppendJSON(nil)
	want := `{"source":{"server":"dbserver1"},"position":{"file":"binlog.000003","pos":154},"ts_ms":1705314600123,"databaseName":"inventory","ddl":"CREATE TABLE orders (…)","tableChanges":[{"type":"CREATE","id":"\"inventory\".\"orders\"","table":{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[{"name":"id","jdbcType":4,"typeName":"INT","typeExpression":"INT","charsetName":null,"position":1,"optional":false,"autoIncremented":true,"generated":false,"comment":null,"hasDefaultValue":false},{"name":"amount","jdbcType":3,"typeName":"DECIMAL UNSIGNED","typeExpression":"DECIMAL UNSIGNED","charsetName":null,"length":10,"scale":2,"position":2,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"hasDefaultValue":false},{"name":"status","jdbcType":1,"typeName":"ENUM","typeExpression":"ENUM","charsetName":"utf8mb4","position":3,"optional":false,"autoIncremented":false,"generated":false,"comment":null,"hasDefaultValue":true,"defaultValueExpression":"new","enumValues":["'new'","'it''s'"]}],"attributes":[{"name":"sluice.unique_keys","value":"amount,status"}]},"comment":null}]}`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.AppendJSON(nil)) != want {
		t.Fatalf("round trip\n%s", got.AppendJSON(nil))
	}
	gt := got.TableChanges[0].Table
	if gt.Columns[2].TypeExpr != "enum('new','it''s')" || gt.Columns[1].TypeExpr != "decimal(10,2) unsigned" || len(gt.PrimaryKey) != 1 {
		t.Fatalf("table %+v", gt)
	}
}

func TestFileStore(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.jsonl")
	s := NewFile(p, nil)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := s.Append(ctx, &Record{Server: "x", DDL: "CREATE DATABASE d", DatabaseName: "d", TsMs: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	got, err := NewFile(p, nil).Load(ctx)
	if err != nil || len(got) != 3 || got[2].TsMs != 2 {
		t.Fatalf("%v %+v", err, got)
	}
}
