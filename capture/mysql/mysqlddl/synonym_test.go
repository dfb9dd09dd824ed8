package mysqlddl

import (
	"reflect"
	"testing"

	"github.com/sluicecdc/sluice/schema"
)

// synonymCases pairs each other spelling of a type with what the server makes of it: the
// COLUMN_TYPE and character set information_schema.COLUMNS shows (MySQL 9.7 and MariaDB 11,
// table charset utf8mb4; the snapshot builds its columns from those).
var synonymCases = []struct {
	synonym, columnType, charset string
}{
	{"DEC(8,3)", "decimal(8,3)", ""},
	{"DEC", "decimal(10,0)", ""},
	{"DEC(5) UNSIGNED", "decimal(5,0) unsigned", ""},
	{"FIXED(7,2)", "decimal(7,2)", ""},
	{"FIXED", "decimal(10,0)", ""},
	{"NUMERIC(6,1)", "decimal(6,1)", ""},
	{"NCHAR(5)", "char(5)", "utf8mb3"},
	{"NCHAR", "char(1)", "utf8mb3"},
	{"NATIONAL CHAR(6)", "char(6)", "utf8mb3"},
	{"NATIONAL CHARACTER(3)", "char(3)", "utf8mb3"},
	{"NATIONAL VARCHAR(7)", "varchar(7)", "utf8mb3"},
	{"NATIONAL VARCHARACTER(3)", "varchar(3)", "utf8mb3"},
	{"NATIONAL CHAR VARYING(5)", "varchar(5)", "utf8mb3"},
	{"NATIONAL CHARACTER VARYING(3)", "varchar(3)", "utf8mb3"},
	{"NVARCHAR(8)", "varchar(8)", "utf8mb3"},
	{"NCHAR VARCHAR(4)", "varchar(4)", "utf8mb3"},
	{"NCHAR VARCHARACTER(3)", "varchar(3)", "utf8mb3"},
	{"NCHAR VARYING(7)", "varchar(7)", "utf8mb3"},
	{"CHARACTER(4)", "char(4)", "utf8mb4"},
	{"CHARACTER VARYING(9)", "varchar(9)", "utf8mb4"},
	{"CHAR VARYING(6)", "varchar(6)", "utf8mb4"},
	{"VARCHARACTER(5)", "varchar(5)", "utf8mb4"},
	{"LONG VARCHAR", "mediumtext", "utf8mb4"},
	{"LONG VARCHAR CHARACTER SET latin1", "mediumtext", "latin1"},
	{"LONG CHAR VARYING", "mediumtext", "utf8mb4"},
	{"LONG CHARACTER VARYING", "mediumtext", "utf8mb4"},
	{"LONG VARCHARACTER", "mediumtext", "utf8mb4"},
	{"LONG", "mediumtext", "utf8mb4"},
	{"LONG BINARY", "mediumtext", "utf8mb4"},
	{"LONG VARBINARY", "mediumblob", ""},
	{"LONG BYTE", "mediumblob", ""},
	{"CHAR(3) BYTE", "binary(3)", ""},
	{"CHAR BYTE", "binary(1)", ""},
	{"INTEGER", "int", ""},
	{"INT1", "tinyint", ""},
	{"INT1 UNSIGNED", "tinyint unsigned", ""},
	{"INT2", "smallint", ""},
	{"INT3", "mediumint", ""},
	{"MIDDLEINT", "mediumint", ""},
	{"INT4", "int", ""},
	{"INT8", "bigint", ""},
	{"BOOL", "tinyint(1)", ""},
	{"BOOLEAN", "tinyint(1)", ""},
	{"REAL", "double", ""},
	{"DOUBLE PRECISION", "double", ""},
	{"FLOAT4", "float", ""},
	{"FLOAT8", "double", ""},
	{"FLOAT(30)", "double", ""},
}

// TestTypeSynonyms: a column declared with another spelling of a type is the column the
// server's information_schema describes (what a snapshot reads), and the column its canonical
// spelling gives. Before, the grammar refused DEC, FIXED, NCHAR, NATIONAL …, NVARCHAR,
// CHARACTER [VARYING], LONG …, INT1–INT8 and MIDDLEINT, and BOOL became a boolean that the
// snapshot reads as tinyint(1).
func TestTypeSynonyms(t *testing.T) {
	for _, v := range []string{"9.7.0", "11.4.5-MariaDB"} {
		for _, tc := range synonymCases {
			t.Run(v+"/"+tc.synonym, func(t *testing.T) {
				got := synonymColumn(t, v, tc.synonym)
				want, err := ParseColumnType(tc.columnType)
				if err != nil {
					t.Fatal(err)
				}
				want.Name, want.Charset = "x", tc.charset
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s:\ngot  %+v\nwant %+v (information_schema: %s)", tc.synonym, got, want, tc.columnType)
				}
				canon := tc.columnType
				if tc.charset != "" {
					canon += " CHARACTER SET " + tc.charset
				}
				if c := synonymColumn(t, v, canon); !reflect.DeepEqual(got, c) {
					t.Errorf("%s reads differently from %s:\n%+v\n%+v", tc.synonym, canon, got, c)
				}
			})
		}
	}
}

// synonymColumn is column x of CREATE TABLE t (id int PRIMARY KEY, x <typ>), created and
// then added again with ALTER TABLE ADD and MODIFY: every path must give the same column.
func synonymColumn(t *testing.T, version, typ string) schema.Column {
	t.Helper()
	c := NewCatalog(version)
	apply(t, c, "d", "CREATE DATABASE d CHARACTER SET utf8mb4")
	r := apply(t, c, "d", "CREATE TABLE t (id int PRIMARY KEY, x "+typ+") DEFAULT CHARSET=utf8mb4")
	col := r.Changes[0].Table.Columns[1]
	for _, alter := range []string{"ALTER TABLE t2 ADD COLUMN x " + typ, "ALTER TABLE t2 MODIFY x " + typ, "ALTER TABLE t2 CHANGE x x " + typ} {
		apply(t, c, "d", "CREATE TABLE t2 (id int PRIMARY KEY, x int) DEFAULT CHARSET=utf8mb4")
		if alter[len("ALTER TABLE t2 "):][0] == 'A' {
			apply(t, c, "d", "ALTER TABLE t2 DROP COLUMN x")
		}
		r := apply(t, c, "d", alter)
		if a := r.Changes[0].Table.Columns[1]; !reflect.DeepEqual(a, col) {
			t.Errorf("%s gives %+v, CREATE TABLE %+v", alter, a, col)
		}
		apply(t, c, "d", "DROP TABLE t2")
	}
	return col
}

// TestTypeSynonymWordsElsewhere: the words of the synonyms keep their meaning where they are
// not a column type.
func TestTypeSynonymWordsElsewhere(t *testing.T) {
	c := NewCatalog("9.7.0")
	apply(t, c, "d", "CREATE TABLE t (id int PRIMARY KEY, national int, fixed varchar(3) CHARACTER SET latin1, `long` text CHARACTER SET latin1) ROW_FORMAT FIXED DEFAULT CHARACTER SET utf8mb4")
	apply(t, c, "d", "ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4", "ALTER TABLE t CHANGE national nchar NCHAR(2)")
	got := cols(c.Table(schema.TableID{DB: "d", Table: "t"}))
	want := "id int nn key; nchar char(2) cs=utf8mb3; fixed varchar(3) cs=utf8mb4; long text cs=utf8mb4"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
