//go:build integration

package mysql

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"

	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/schema"
)

// ddlZoo are tables over the types, defaults, keys and charsets capture/mysql tests use.
// Each is read from information_schema, written back as DDL by createTableDDL, and that DDL
// must (1) parse in the history's DDL parser to the same model and (2) create, on the server, a
// table that reads back to the same model. The opaque ones must say why and keep SHOW CREATE.
var ddlZoo = []struct {
	name, cols, opts string
	opaque           string // substring of tableDef.Opaque; "" = expressible
	mariadb          bool   // MariaDB only
}{
	{"ints", "id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, a TINYINT, b SMALLINT UNSIGNED DEFAULT 7, c MEDIUMINT NOT NULL DEFAULT -3, d BIGINT UNSIGNED, e BOOL DEFAULT 1, f YEAR", "", "", false},
	{"nums", "id BIGINT PRIMARY KEY, a DECIMAL(10,2) DEFAULT 1.50, b DECIMAL(65,30) UNSIGNED, c FLOAT, d DOUBLE NOT NULL DEFAULT 0, e FLOAT(7,3)", "", "", false},
	{"times", "id INT PRIMARY KEY, a DATE DEFAULT '2020-01-02', b TIME(3), c DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), d TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, e TIMESTAMP(2) NULL, f DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00'", "", "", false},
	{"texts", "id INT PRIMARY KEY, a CHAR(3) CHARACTER SET latin1, b VARCHAR(40) NOT NULL DEFAULT 'it''s \\\\ here' COMMENT 'a \\'quoted\\' comment', c TEXT, d LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, e TINYTEXT, f MEDIUMTEXT, g VARCHAR(10) DEFAULT ''", "DEFAULT CHARSET=utf8mb4 COMMENT='zoo ''texts'''", "", false},
	{"bins", "id INT PRIMARY KEY, a BINARY(4), b VARBINARY(20), c BLOB, d LONGBLOB, e BIT(8), f BIT(1), g JSON", "", "", false},
	{"enums", `id INT PRIMARY KEY, e ENUM('plain','a,b','it''s','back\\slash','ends\\','') NOT NULL DEFAULT 'a,b', s SET('x','y''z','w\\v') DEFAULT 'x,w\\v'`, "", "", false},
	{"keys", "a INT NOT NULL, b VARCHAR(20) NOT NULL, c INT, d INT, PRIMARY KEY (b, a), UNIQUE KEY uq_cd (c, d), KEY k_d (d), KEY k_ba (b(5), a)", "", "", false},
	{"uniqkey", "a INT NOT NULL, b INT, UNIQUE KEY u_a (a), UNIQUE KEY u_b (b)", "", "", false},
	{"nokey", "a INT, b VARCHAR(5)", "DEFAULT CHARSET=latin1", "", false},
	{"geo", "id INT PRIMARY KEY, p POINT, g GEOMETRY NOT NULL, l LINESTRING", "", "", false},
	{"gen", "id INT PRIMARY KEY, a INT, b INT AS (a + 1) STORED, c INT AS (a * 2) VIRTUAL", "", "generated column b", false},
	{"exprdef", "id INT PRIMARY KEY, a INT DEFAULT (1 + 1)", "", "expression default", false},
	{"bitdef", "id INT PRIMARY KEY, a BIT(4) DEFAULT b'101'", "", "default of bit", false},
	{"mdb", "id UUID PRIMARY KEY, a INET4, b INET6 DEFAULT '::1'", "", "", true},
	{"seq", "", "", "sequence", true},
}

func TestCreateTableDDLRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			mariadb := srv.name == "mariadb"
			name := fmt.Sprintf("ddlzoo_%d", os.Getpid())
			back := name + "_back"
			freshDB(t, db, name)
			freshDB(t, db, back)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name); db.Exec("DROP DATABASE IF EXISTS " + back) })
			var version string
			if err := db.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, z := range ddlZoo {
				if z.mariadb && !mariadb {
					continue
				}
				if z.name == "seq" {
					mustExec(t, db, "CREATE SEQUENCE "+name+".seq")
				} else {
					mustExec(t, db, "CREATE TABLE "+name+"."+z.name+" ("+z.cols+") "+z.opts)
				}
				want[z.name] = z.opaque
			}
			defs, err := loadTables(ctx, db, []string{name}, nil, mariadb)
			if err != nil {
				t.Fatal(err)
			}
			if len(defs) != len(want) {
				t.Fatalf("loaded %d tables, want %d", len(defs), len(want))
			}
			cat := mysqlddl.NewCatalog(version)
			cat.SetDatabase(name, "utf8mb4")
			for _, td := range defs {
				w := want[td.T.ID.Table]
				if w == "" && td.Opaque != "" || w != "" && !strings.Contains(td.Opaque, w) {
					t.Errorf("%s: Opaque %q, want %q", td.T.ID.Table, td.Opaque, w)
				}
				if td.Opaque != "" {
					continue
				}
				ddl := createTableDDL(td.T, td.Idx)
				// (1) the history's parser reads the DDL back to the same model.
				if _, err := cat.Apply(ddl, name); err != nil {
					t.Errorf("%s: parse %s: %v", td.T.ID.Table, ddl, err)
					continue
				}
				sameTable(t, "parsed", ddl, td, cat.Table(td.T.ID), cat.Indexes(td.T.ID))
				// (2) the server creates the same table from it.
				mustExec(t, db, "USE "+back, ddl)
				bd, err := loadTables(ctx, db, []string{back}, &schema.TableID{DB: back, Table: td.T.ID.Table}, mariadb)
				if err != nil || len(bd) != 1 {
					t.Fatalf("%s: reload: %v (%d tables)", td.T.ID.Table, err, len(bd))
				}
				bd[0].T.ID.DB = name
				// information_schema.STATISTICS lists a table's keys in no stated order (MySQL
				// returned a recreated table's keys by name): compare the recreated keys as a set.
				byName := func(ix []mysqlddl.Index) {
					sort.SliceStable(ix, func(i, j int) bool {
						return ix[i].Primary && !ix[j].Primary || ix[i].Primary == ix[j].Primary && ix[i].Name < ix[j].Name
					})
				}
				wantIdx := append([]mysqlddl.Index(nil), td.Idx...)
				byName(wantIdx)
				byName(bd[0].Idx)
				td.Idx = wantIdx
				sameTable(t, "recreated", ddl, td, bd[0].T, bd[0].Idx)
			}
		})
	}
}

func sameTable(t *testing.T, how, ddl string, want tableDef, got *schema.Table, idx []mysqlddl.Index) {
	t.Helper()
	if got == nil {
		t.Errorf("%s %s: no table from %s", how, want.T.ID, ddl)
		return
	}
	w, g := *want.T, *got
	w.Version, g.Version = 0, 0
	if !reflect.DeepEqual(w, g) {
		for i := range min(len(w.Columns), len(g.Columns)) {
			if !reflect.DeepEqual(w.Columns[i], g.Columns[i]) {
				t.Errorf("%s %s column %d:\nwant %+v\ngot  %+v", how, want.T.ID, i, w.Columns[i], g.Columns[i])
			}
		}
		w.Columns, g.Columns = nil, nil
		if !reflect.DeepEqual(w, g) {
			t.Errorf("%s %s:\nwant %+v\ngot  %+v", how, want.T.ID, w, g)
		}
		t.Logf("DDL: %s", ddl)
	}
	if !reflect.DeepEqual(want.Idx, idx) {
		t.Errorf("%s %s keys:\nwant %+v\ngot  %+v\nDDL: %s", how, want.T.ID, want.Idx, idx, ddl)
	}
}

// TestMySQLSchemaChangesOnlyCapturedTables: DDL of tables the filters leave out goes into the
// schema history but not onto the schema-change topic, as Debezium documents
// include.schema.changes (the captured tables' schema changes). A rename into the captured set
// and a multi-table DROP that names a captured table are published, with the captured tables'
// changes only; a database-level statement of the included database too. The topic used to
// carry every DDL of the included databases.
func TestMySQLSchemaChangesOnlyCapturedTables(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db, dbName := snapshotDB(t, srv, "sl_scfilter", false, "a (id INT PRIMARY KEY)", "b (id INT PRIMARY KEY)", "d (id INT PRIMARY KEY)")
			ts := newTestSource(t, srv, dbName)
			ts.cfg.TableInclude = []string{dbName + `\.a`, dbName + `\.c`, dbName + `\.fence`}
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
			})
			mustExec(t, db,
				"ALTER TABLE "+dbName+".b ADD COLUMN x INT",       // left out
				"CREATE TABLE "+dbName+".e (id INT PRIMARY KEY)",  // left out
				"ALTER TABLE "+dbName+".a ADD COLUMN y INT",       // a
				"RENAME TABLE "+dbName+".e TO "+dbName+".c",       // c (renamed into the set)
				"DROP TABLE "+dbName+".d, "+dbName+".c",           // c only
				"TRUNCATE TABLE "+dbName+".b",                     // left out
				"ALTER DATABASE "+dbName+" CHARACTER SET utf8mb4", // the database
				"INSERT INTO "+dbName+".fence VALUES (1)")
			recs := ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				n := len(recs)
				return n > 0 && recs[n-1].tbl == "fence"
			})
			var got []string
			for _, r := range recs {
				if r.kind != capture.SchemaChange {
					continue
				}
				var ids []string
				for _, c := range r.ev.Changes {
					ids = append(ids, c.Type+" "+c.Table.ID.Table)
				}
				got = append(got, strings.Fields(r.ev.DDL)[0]+" "+strings.Fields(r.ev.DDL)[1]+" ["+strings.Join(ids, ",")+"]")
			}
			want := []string{"ALTER TABLE [ALTER a]", "RENAME TABLE [ALTER c]", "DROP TABLE [DROP c]", "ALTER DATABASE []"}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("schema-change events %q, want %q", got, want)
			}
			hist, err := os.ReadFile(ts.hist)
			if err != nil {
				t.Fatal(err)
			}
			for _, ddl := range []string{"ALTER TABLE " + dbName + ".b ADD COLUMN x INT", "CREATE TABLE " + dbName + ".e"} {
				if !strings.Contains(string(hist), ddl) {
					t.Errorf("the schema history lacks %q", ddl)
				}
			}
		})
	}
}
