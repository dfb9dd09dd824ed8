package mysqlddl

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/schema"
)

// cols renders a table as "name type[ nn][ pk]" lines for compact assertions.
func cols(t *schema.Table) string {
	var b []string
	for i, c := range t.Columns {
		s := c.Name + " " + c.TypeExpr
		if !c.Nullable {
			s += " nn"
		}
		if t.IsKey(i) {
			s += " key"
		}
		if c.Charset != "" {
			s += " cs=" + c.Charset
		}
		if c.HasDefault {
			s += " def=" + c.Default
		}
		if c.Generated {
			s += " gen"
		}
		if c.AutoIncrement {
			s += " ai"
		}
		b = append(b, s)
	}
	return strings.Join(b, "; ")
}

func apply(t *testing.T, c *Catalog, db string, stmts ...string) Result {
	t.Helper()
	var r Result
	for _, s := range stmts {
		var err error
		r, err = c.Apply(s, db)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return r
}

func TestCreateTable(t *testing.T) {
	c := NewCatalog("8.4.0")
	apply(t, c, "inventory", "CREATE DATABASE inventory CHARACTER SET utf8mb4")
	r := apply(t, c, "inventory", "CREATE TABLE inventory.orders (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(255) NOT NULL,\n  amount DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL, attrs JSON,\n  status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new')")
	if len(r.Changes) != 1 || r.Changes[0].Type != "CREATE" || r.Databases[0] != "inventory" {
		t.Fatalf("result %+v", r)
	}
	got := cols(r.Changes[0].Table)
	want := "id int nn key ai; customer varchar(255) nn cs=utf8mb4; amount decimal(10,2) nn; created_at datetime nn; attrs json; status enum('new','paid','shipped') nn cs=utf8mb4 def=new"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestTypes(t *testing.T) {
	c := NewCatalog("8.4.0")
	r := apply(t, c, "d", "CREATE TABLE t (a tinyint(1) unsigned, b bool, c numeric, d float(30), e float(7,3), f char, g varchar(10) character set binary, h text(100), i datetime(6), j timestamp(3) default current_timestamp(3), k bit, l year(4), m integer, n double precision, o geomcollection, p point not null /*!80003 SRID 4326 */, q int generated always as (m+1) virtual, r varchar(5) collate latin1_bin, s set('x','y''z'), u int default -1, v vector(3)) DEFAULT CHARSET=latin1")
	got := cols(r.Changes[0].Table)
	want := "a tinyint(1) unsigned; b tinyint(1); c decimal(10,0); d double; e float(7,3); f char(1) cs=latin1; g varbinary(10); h tinytext cs=latin1; i datetime(6); j timestamp(3) def=current_timestamp(3); k bit(1); l year; m int; n double; o geometrycollection; p point nn; q int gen; r varchar(5) cs=latin1; s set('x','y''z') cs=latin1; u int def=-1; v vector(3)"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if r.Changes[0].Table.DefaultCharset != "latin1" {
		t.Fatalf("charset %q", r.Changes[0].Table.DefaultCharset)
	}
}

func TestAlter(t *testing.T) {
	c := NewCatalog("8.4.0")
	apply(t, c, "d", "CREATE TABLE t (id int primary key, a int, b varchar(3))")
	steps := []struct{ sql, want string }{
		{"ALTER TABLE t ADD COLUMN c int NOT NULL AFTER id", "id int nn key; c int nn; a int; b varchar(3) cs=utf8mb4"},
		{"ALTER TABLE t DROP COLUMN a, MODIFY b varchar(10) FIRST", "b varchar(10) cs=utf8mb4; id int nn key; c int nn"},
		{"ALTER TABLE t CHANGE b bb text CHARACTER SET latin1, RENAME COLUMN c TO cc", "bb text cs=latin1; id int nn key; cc int nn"},
		{"ALTER TABLE t DROP PRIMARY KEY, ADD UNIQUE KEY u (cc)", "bb text cs=latin1; id int nn; cc int nn key"},
		{"ALTER TABLE t ADD PRIMARY KEY (id, cc)", "bb text cs=latin1; id int nn key; cc int nn key"},
		{"ALTER TABLE t ALTER COLUMN cc SET DEFAULT 5", "bb text cs=latin1; id int nn key; cc int nn key def=5"},
		{"ALTER TABLE t CONVERT TO CHARACTER SET utf8mb3", "bb text cs=utf8mb3; id int nn key; cc int nn key def=5"},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS id int, ADD COLUMN IF NOT EXISTS z uuid, DROP COLUMN IF EXISTS nope", "bb text cs=utf8mb3; id int nn key; cc int nn key def=5; z uuid"},
		{"CREATE INDEX i ON t (z)", "bb text cs=utf8mb3; id int nn key; cc int nn key def=5; z uuid"},
		{"DROP INDEX i ON t", "bb text cs=utf8mb3; id int nn key; cc int nn key def=5; z uuid"},
	}
	for _, s := range steps {
		apply(t, c, "d", s.sql)
		if got := cols(c.Table(schema.TableID{DB: "d", Table: "t"})); got != s.want {
			t.Fatalf("%s\ngot  %s\nwant %s", s.sql, got, s.want)
		}
	}
	r := apply(t, c, "d", "ALTER TABLE t RENAME TO e.t2")
	if len(r.Changes) != 1 || r.Changes[0].PrevID == nil || *r.Changes[0].PrevID != (schema.TableID{DB: "d", Table: "t"}) || r.Changes[0].Table.ID != (schema.TableID{DB: "e", Table: "t2"}) {
		t.Fatalf("rename %+v", r.Changes)
	}
	if c.Table(schema.TableID{DB: "d", Table: "t"}) != nil {
		t.Fatal("old name still there")
	}
}

func TestTableStatements(t *testing.T) {
	c := NewCatalog("10.11.9-MariaDB")
	apply(t, c, "d", "CREATE TABLE a (id int primary key)", "CREATE TABLE b LIKE a")
	r := apply(t, c, "d", "RENAME TABLE a TO a2, b TO x.b")
	if len(r.Changes) != 2 {
		t.Fatalf("%+v", r)
	}
	r = apply(t, c, "d", "TRUNCATE TABLE a2")
	if len(r.Changes) != 1 || !r.Changes[0].Truncate {
		t.Fatalf("%+v", r)
	}
	r = apply(t, c, "d", "DROP TABLE IF EXISTS a2, nope")
	if len(r.Changes) != 1 || r.Changes[0].Type != "DROP" {
		t.Fatalf("%+v", r)
	}
	r = apply(t, c, "d", "DROP DATABASE x")
	if len(r.Changes) != 1 || r.Changes[0].Table.ID.Table != "b" {
		t.Fatalf("%+v", r)
	}
	if len(c.Tables()) != 0 {
		t.Fatalf("tables left: %v", c.Tables())
	}
}

func TestMariaDB(t *testing.T) {
	c := NewCatalog("10.11.9-MariaDB")
	r := apply(t, c, "d", "CREATE OR REPLACE TABLE `j` (`id` int(11) NOT NULL, `x` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`x`)), `u` uuid DEFAULT uuid(), `ip` inet6, PRIMARY KEY (`id`), CONSTRAINT `c1` CHECK (`id` > 0)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
	want := "id int(11) nn key; x longtext cs=utf8mb4; u uuid def=uuid(); ip inet6"
	if got := cols(r.Changes[0].Table); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// CREATE OR REPLACE of an existing table replaces it.
	r = apply(t, c, "d", "CREATE OR REPLACE TABLE j (a int)")
	if got := cols(r.Changes[0].Table); got != "a int" {
		t.Fatal(got)
	}
	r = apply(t, c, "d", "CREATE SEQUENCE IF NOT EXISTS s1 START WITH 10 INCREMENT BY 2")
	if len(r.Changes) != 1 || len(r.Changes[0].Table.Columns) != 8 || r.Changes[0].Table.ID.Table != "s1" {
		t.Fatalf("%+v", r)
	}
	r = apply(t, c, "d", "DROP SEQUENCE s1")
	if len(r.Changes) != 1 || r.Changes[0].Type != "DROP" {
		t.Fatalf("%+v", r)
	}
}

func TestCreateSelectLogged(t *testing.T) {
	c := NewCatalog("9.7.0")
	r := apply(t, c, "d", "CREATE TABLE `sl_x`.`b` (\n  `id` int NOT NULL,\n  `v` varchar(5) DEFAULT NULL\n) START TRANSACTION")
	if got := cols(r.Changes[0].Table); got != "id int nn; v varchar(5) cs=utf8mb4" {
		t.Fatal(got)
	}
}

func TestNotDDLAndErrors(t *testing.T) {
	c := NewCatalog("8.4.0")
	for _, s := range []string{"BEGIN", "GRANT ALL ON *.* TO x", "CREATE USER x", "FLUSH PRIVILEGES", "CREATE VIEW v AS SELECT 1", "SAVEPOINT a", "CREATE TEMPORARY TABLE tt (a int)"} {
		r, err := c.Apply(s, "d")
		if err != nil || r.DDL {
			t.Fatalf("%s: %+v %v", s, r, err)
		}
	}
	_, err := c.Apply("ALTER TABLE nope ADD COLUMN a int", "d")
	if !errors.Is(err, ErrUnknownTable) {
		t.Fatalf("err %v", err)
	}
	_, err = c.Apply("ALTER TABLE d.orders ADD COLUMN a int WIBBLE", "d")
	var pe *ParseError
	if !errors.As(err, &pe) || len(pe.Tables) != 1 || pe.Tables[0] != "d.orders" {
		t.Fatalf("err %v %+v", err, pe)
	}
}

func TestParseColumnType(t *testing.T) {
	for in, want := range map[string]string{
		"decimal(10,2) unsigned zerofill": "decimal(10,2) unsigned",
		"enum('a','b''c')":                "enum('a','b''c')",
		"int(11)":                         "int(11)",
		"datetime(3)":                     "datetime(3)",
		"bigint unsigned":                 "bigint unsigned",
		"uuid":                            "uuid",
		"double(8,2)":                     "double(8,2)",
		"geomcollection":                  "geometrycollection",
	} {
		c, err := ParseColumnType(in)
		if err != nil || c.TypeExpr != want {
			t.Errorf("%s: %q %v", in, c.TypeExpr, err)
		}
	}
}
