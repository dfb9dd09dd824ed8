package envelope

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// TestColumnHash: the digests Debezium's MaskStrings.HashValueConverter writes, computed with
// Java's ObjectOutputStream and MessageDigest (jshell) for the same salt and values.
func TestColumnHash(t *testing.T) {
	for _, c := range []struct {
		key, value, want string
	}{
		{"column.mask.hash.SHA-256.with.salt.CzQMA0cB5K", "Anne", "ede6f76a019611f66c29fd475dcbf20bbd6d004a18f8185f319a915584c3f270"},
		{"column.mask.hash.v2.SHA-256.with.salt.CzQMA0cB5K", "Anne", "b76a43f0bc286dc1b4582e58a06712a2cce22c8c14e08c59a7ee8e69ed3fb902"},
		// modified UTF-8: U+0000 as C0 80, U+1F600 as two three-byte surrogates
		{"column.mask.hash.MD5.with.salt.s", "a\x00é€\U0001F600", "e1f18d357b0e90240626388de118fbab"},
		{"column.mask.hash.sha-512/256.with.salt.s", "", "724f6fcdb47afa9cbaaea38a5485f9b7ccb3dfc53aeba54ed91d9a6ec1b9378e"},
		// past 65535 bytes: TC_LONGSTRING with an eight-byte length
		{"column.mask.hash.SHA3-256.with.salt.s", strings.Repeat("x", 70000), "1fb1a8f7589dc9c6e1b15cdb69f30b88dbaad848fa74927ee5695e79a3f50a69"},
	} {
		var o ColumnOptions
		if err := o.Set(c.key, "db.t.c"); err != nil {
			t.Fatal(err)
		}
		cr := &colRule{r: &o.rules[0], length: -1, h: newHash(o.rules[0].algo)}
		v := capture.StringValue([]byte(c.value))
		if got := string(cr.apply(&v).Bytes); got != c.want {
			t.Errorf("%s(%.20q) = %s, want %s", c.key, c.value, got, c.want)
		}
	}
	if got := hex.EncodeToString(appendJavaSerializedString(nil, []byte("Anne"))); got != "aced000574000441"+"6e6e65" {
		t.Errorf("serialized Anne = %s", got)
	}
}

func TestColumnOptionErrors(t *testing.T) {
	var o ColumnOptions
	for key, want := range map[string]string{
		"column.mask.hash.MD2.with.salt.x": `hash algorithm "MD2"`,
		"column.truncate.to.5.chars":       "no column regex",
		"column.mask.with.3.chars":         "regex",
		"column.propagate.source.type":     "regex",
	} {
		val := map[string]string{"column.truncate.to.5.chars": " ", "column.mask.with.3.chars": "a(b", "column.propagate.source.type": "x["}[key]
		if err := o.Set(key, val); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set(%s, %q) = %v, want %q", key, val, err, want)
		}
	}
	if err := o.SetKeyColumns("inventory.customers"); err == nil {
		t.Error("message.key.columns without columns accepted")
	}
}

// TestColumnOptionsGolden: truncate, mask, hash and propagate on the customers table of
// Debezium's MySQL docs, and message.key.columns replacing its key by email.
func TestColumnOptionsGolden(t *testing.T) {
	col := func(name, typ string, length int) schema.Column {
		return schema.Column{Name: name, Type: typ, Length: length, Scale: -1, Comment: map[bool]string{true: "customer's e-mail"}[name == "email"]}
	}
	tbl := &schema.Table{ID: schema.TableID{DB: "inventory", Table: "customers"}, Dialect: schema.MySQL, Version: 1, PrimaryKey: []int{0},
		Columns: []schema.Column{col("id", "int", -1), col("first_name", "varchar", 255), col("last_name", "varchar", 255),
			col("email", "varchar", 255), col("phone", "char", 10), col("notes", "text", -1)}}
	ev := &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: tbl,
		After: capture.Row{capture.IntValue(1004), capture.StringValue([]byte("Anne")), capture.StringValue([]byte("Kretchmar")),
			capture.StringValue([]byte("annek@noanswer.org")), capture.StringValue([]byte("5550100")), {Kind: capture.Null}},
		Source: capture.Source{Connector: "mysql", TsMicros: 1705314600000000, DB: "inventory", Table: "customers", ServerID: 223344,
			File: "mysql-bin.000003", Pos: 1234}}
	var o ColumnOptions
	for k, v := range map[string]string{
		"column.truncate.to.3.chars":                    "inventory.customers.first_name",
		"column.mask.with.6.chars":                      `inventory\.customers\.(last_name|notes)`,
		"column.mask.hash.SHA-256.with.salt.CzQMA0cB5K": "inventory.customers.phone",
		"column.propagate.source.type":                  "inventory.customers.email,.*\\.id",
	} {
		if err := o.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.SetKeyColumns("inventory.customers:email"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, schemas := range []bool{false, true} {
		enc, err := NewEncoder(Config{TopicPrefix: "dbserver1", SchemasEnable: schemas, TombstonesOnDelete: true, Columns: o,
			Now: func() time.Time { return time.Unix(0, 1705314600512345678) }})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := enc.Encode(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			out.WriteString("key: " + string(r.Key) + "\nvalue: " + string(r.Value) + "\n\n")
		}
	}
	got := out.String()
	for _, want := range []string{
		`key: {"email":"annek@noanswer.org"}`,
		`"after":{"id":1004,"first_name":"Ann","last_name":"******","email":"annek@noanswer.org","phone":"2e8465a6e0"`, // SHA-256 of the salt and "5550100" (jshell), cut to char(10),
		`"notes":"******"}`,
		`{"type":"string","optional":false,"parameters":{"truncateLength":"3"},"field":"first_name"}`,
		`{"type":"string","optional":false,"parameters":{"masked":"true"},"field":"last_name"}`,
		`{"type":"string","optional":false,"parameters":{"__debezium.source.column.type":"VARCHAR","__debezium.source.column.length":"255","__debezium.source.column.comment":"customer's e-mail","__debezium.source.column.name":"email"},"field":"email"}],"optional":false,"name":"dbserver1.inventory.customers.Key"}`,
		`{"type":"int32","optional":false,"parameters":{"__debezium.source.column.type":"INT","__debezium.source.column.name":"id"},"field":"id"}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("records lack %s:\n%s", want, got)
		}
	}
}
