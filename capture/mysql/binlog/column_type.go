package binlog

import "strconv"

// ColumnType is a column's type code in TABLE_MAP (enum_field_types).
type ColumnType uint8

// Column type codes.
const (
	TypeDecimal    ColumnType = 0
	TypeTiny       ColumnType = 1
	TypeShort      ColumnType = 2
	TypeLong       ColumnType = 3
	TypeFloat      ColumnType = 4
	TypeDouble     ColumnType = 5
	TypeNull       ColumnType = 6
	TypeTimestamp  ColumnType = 7
	TypeLongLong   ColumnType = 8
	TypeInt24      ColumnType = 9
	TypeDate       ColumnType = 10
	TypeTime       ColumnType = 11
	TypeDateTime   ColumnType = 12
	TypeYear       ColumnType = 13
	TypeNewDate    ColumnType = 14
	TypeVarchar    ColumnType = 15
	TypeBit        ColumnType = 16
	TypeTimestamp2 ColumnType = 17
	TypeDateTime2  ColumnType = 18
	TypeTime2      ColumnType = 19
	TypeTypedArray ColumnType = 20
	TypeVector     ColumnType = 242
	TypeInvalid    ColumnType = 243
	TypeBool       ColumnType = 244
	TypeJSON       ColumnType = 245
	TypeNewDecimal ColumnType = 246
	TypeEnum       ColumnType = 247
	TypeSet        ColumnType = 248
	TypeTinyBlob   ColumnType = 249
	TypeMediumBlob ColumnType = 250
	TypeLongBlob   ColumnType = 251
	TypeBlob       ColumnType = 252
	TypeVarString  ColumnType = 253
	TypeString     ColumnType = 254
	TypeGeometry   ColumnType = 255
)

var columnTypeNames = map[ColumnType]string{
	TypeDecimal: "DECIMAL", TypeTiny: "TINY", TypeShort: "SHORT", TypeLong: "LONG", TypeFloat: "FLOAT",
	TypeDouble: "DOUBLE", TypeNull: "NULL", TypeTimestamp: "TIMESTAMP", TypeLongLong: "LONGLONG",
	TypeInt24: "INT24", TypeDate: "DATE", TypeTime: "TIME", TypeDateTime: "DATETIME", TypeYear: "YEAR",
	TypeNewDate: "NEWDATE", TypeVarchar: "VARCHAR", TypeBit: "BIT", TypeTimestamp2: "TIMESTAMP2",
	TypeDateTime2: "DATETIME2", TypeTime2: "TIME2", TypeTypedArray: "TYPED_ARRAY", TypeVector: "VECTOR",
	TypeInvalid: "INVALID", TypeBool: "BOOL", TypeJSON: "JSON", TypeNewDecimal: "NEWDECIMAL",
	TypeEnum: "ENUM", TypeSet: "SET", TypeTinyBlob: "TINY_BLOB", TypeMediumBlob: "MEDIUM_BLOB",
	TypeLongBlob: "LONG_BLOB", TypeBlob: "BLOB", TypeVarString: "VAR_STRING", TypeString: "STRING",
	TypeGeometry: "GEOMETRY",
}

// String returns the MYSQL_TYPE_ name without its prefix.
func (t ColumnType) String() string {
	if s, ok := columnTypeNames[t]; ok {
		return s
	}
	return "TYPE_" + strconv.Itoa(int(t))
}

// metaSize is the number of TABLE_MAP metadata bytes for a column of type t.
func (t ColumnType) metaSize() int {
	switch t {
	case TypeFloat, TypeDouble, TypeBlob, TypeTinyBlob, TypeMediumBlob, TypeLongBlob, TypeGeometry,
		TypeJSON, TypeTimestamp2, TypeDateTime2, TypeTime2, TypeVector:
		return 1
	case TypeVarchar, TypeVarString, TypeBit, TypeNewDecimal, TypeString, TypeEnum, TypeSet:
		return 2
	}
	return 0
}

// isNumeric: the columns SIGNEDNESS metadata has a bit for.
func (t ColumnType) isNumeric() bool {
	switch t {
	// YEAR has a bit too (MySQL 9.7 with binlog_row_metadata=MINIMAL): leaving it out shifted
	// every later column's signedness by one, and the history check then refused the table.
	case TypeTiny, TypeShort, TypeInt24, TypeLong, TypeLongLong, TypeNewDecimal, TypeFloat, TypeDouble, TypeDecimal, TypeYear:
		return true
	}
	return false
}
