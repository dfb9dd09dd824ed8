package envelope

import (
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// messageValueSchema is PostgresSchemaFactory's logical-message value schema (spec §5.6): op,
// ts_ms, source, transaction, message; no ts_us/ts_ns.
func (e *Encoder) messageValueSchema(conn int) *Connect {
	content := &Connect{Type: Bytes, Optional: true}
	if e.cfg.Options.Binary != BinaryBytes {
		content = &Connect{Type: String, Optional: true}
	}
	msg := st("io.debezium.connector.postgresql.Message", 1, false,
		fl("prefix", String, true), fs("content", content))
	return st("io.debezium.connector.postgresql.MessageValue", 1, false,
		fl("op", String, false),
		fl("ts_ms", Int64, true),
		fs("source", e.src[conn].schema),
		fs("transaction", e.fixed.txBlock),
		fs("message", msg))
}

// messageCollection is the data collection Debezium counts logical messages under.
const messageCollection = "LOGICAL_DECODING_MESSAGE"

func (e *Encoder) encodeMessage(dst []Record, ev *capture.Event) ([]Record, error) {
	conn, err := e.connIndex(ev)
	if err != nil {
		conn = connPostgres
	}
	m := ev.Message
	if m == nil {
		m = &capture.Message{}
	}
	key := e.appendWrapped(e.fixed.msgKey, func(b []byte) []byte {
		b = append(b, `{"prefix":`...)
		b = AppendJSONString(b, m.Prefix)
		return append(b, '}')
	})
	ns := e.nowNS()
	// Transactional messages count in the transaction under Debezium's data collection id
	// LOGICAL_DECODING_MESSAGE; non-transactional ones have no transaction id.
	var inTx bool
	if m.Transactional && e.cfg.TransactionMetadata {
		dst = e.beginIfNeeded(dst, ev)
	}
	if m.Transactional && e.cfg.TransactionMetadata && e.tx.active {
		e.countCollection(messageCollection)
		inTx = true
	}
	val := e.appendWrapped(e.fixed.msgValue[conn], func(b []byte) []byte {
		b = append(b, `{"op":"m","ts_ms":`...)
		b = strconv.AppendInt(b, FloorDiv(ns, 1_000_000), 10)
		b = append(b, `,"source":`...)
		b = e.appendSource(b, conn, &ev.Source)
		b = append(b, `,"transaction":`...)
		if inTx {
			b = e.appendTxBlock(b)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"message":{"prefix":`...)
		b = AppendJSONString(b, m.Prefix)
		b = append(b, `,"content":`...)
		if e.cfg.Options.Binary == BinaryBytes {
			b = AppendBase64(b, m.Content)
		} else {
			conv := [...]Conv{BinaryBase64: ConvBytesBase64,
				BinaryBase64URLSafe: ConvBytesBase64URL, BinaryHex: ConvBytesHex}[e.cfg.Options.Binary]
			b = AppendBinaryString(b, conv, m.Content)
		}
		return append(b, "}}"...)
	})
	return append(dst, Record{Compact: true, Topic: e.msgTop, Key: key, Value: val}), nil
}

// schemaChangeValueSchema is SchemaFactory.schemaHistoryConnectorValueSchema (spec §6.4).
func (e *Encoder) schemaChangeValueSchema(conn int) *Connect {
	optStr := func(n string) Field { return fl(n, String, true) }
	strArr := func(n string) Field {
		return fs(n, &Connect{Type: Array, Optional: true, Items: &Connect{Type: String}})
	}
	col := st("io.debezium.connector.schema.Column", 1, false,
		fl("name", String, false),
		fl("jdbcType", Int32, false),
		fl("nativeType", Int32, true),
		fl("typeName", String, false),
		optStr("typeExpression"),
		optStr("charsetName"),
		fl("length", Int32, true),
		fl("scale", Int32, true),
		fl("position", Int32, false),
		fl("optional", Boolean, true),
		fl("autoIncremented", Boolean, true),
		fl("generated", Boolean, true),
		optStr("comment"),
		optStr("defaultValueExpression"),
		strArr("enumValues"))
	tbl := st("io.debezium.connector.schema.Table", 1, true,
		optStr("defaultCharsetName"),
		strArr("primaryKeyColumnNames"),
		fs("columns", &Connect{Type: Array, Items: col}),
		optStr("comment"))
	change := st("io.debezium.connector.schema.Change", 1, false,
		fl("type", String, false),
		fl("id", String, false),
		fs("table", tbl))
	return st("io.debezium.connector."+connNames[conn]+".SchemaChangeValue", 1, false,
		fs("source", e.src[conn].schema),
		fl("ts_ms", Int64, false),
		optStr("databaseName"),
		optStr("schemaName"),
		optStr("ddl"),
		fs("tableChanges", &Connect{Type: Array, Items: change}))
}

// jdbcType returns the java.sql.Types code Debezium's MySQL DDL parser gives a column type.
func jdbcType(c *schema.Column) int {
	switch c.Type {
	case "bit":
		return -7
	case "bool", "boolean":
		return 16
	case "tinyint":
		return -6
	case "smallint":
		return 5
	case "mediumint", "int", "integer", "year":
		return 4
	case "bigint":
		return -5
	case "float":
		return 6
	case "real":
		return 7
	case "double", "double precision":
		return 8
	case "decimal", "dec", "fixed":
		return 3
	case "numeric":
		return 2
	case "char", "nchar", "enum", "set":
		return 1
	case "varchar", "nvarchar", "tinytext", "text", "mediumtext", "longtext":
		return 12
	case "binary":
		return -2
	case "varbinary":
		return -3
	case "tinyblob", "blob", "mediumblob", "longblob":
		return 2004
	case "date":
		return 91
	case "time":
		return 92
	case "datetime":
		return 93
	case "timestamp":
		return 2014
	}
	return 1111 // OTHER: json, geometry, vector
}

func typeName(c *schema.Column) string {
	n := strings.ToUpper(c.Type)
	if c.Unsigned {
		n += " UNSIGNED"
	}
	return n
}

func appendOptInt(dst []byte, v int, ok bool) []byte {
	if !ok {
		return append(dst, "null"...)
	}
	return strconv.AppendInt(dst, int64(v), 10)
}

func appendStrArray(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, s)
	}
	return append(dst, ']')
}

func appendTableStruct(dst []byte, t *schema.Table) []byte {
	if t == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"defaultCharsetName":`...)
	dst = appendOptString(dst, t.DefaultCharset)
	dst = append(dst, `,"primaryKeyColumnNames":`...)
	dst = appendStrArray(dst, t.PrimaryKeyNames())
	dst = append(dst, `,"columns":[`...)
	for i := range t.Columns {
		c := &t.Columns[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = AppendJSONString(dst, c.Name)
		dst = append(dst, `,"jdbcType":`...)
		dst = strconv.AppendInt(dst, int64(jdbcType(c)), 10)
		dst = append(dst, `,"nativeType":null,"typeName":`...)
		tn := typeName(c)
		dst = AppendJSONString(dst, tn)
		dst = append(dst, `,"typeExpression":`...)
		dst = AppendJSONString(dst, tn)
		dst = append(dst, `,"charsetName":`...)
		dst = appendOptString(dst, c.Charset)
		dst = append(dst, `,"length":`...)
		dst = appendOptInt(dst, c.Length, c.Length >= 0)
		dst = append(dst, `,"scale":`...)
		dst = appendOptInt(dst, c.Scale, c.Scale >= 0)
		dst = append(dst, `,"position":`...)
		dst = strconv.AppendInt(dst, int64(i+1), 10)
		dst = append(dst, `,"optional":`...)
		dst = strconv.AppendBool(dst, c.Nullable)
		dst = append(dst, `,"autoIncremented":`...)
		dst = strconv.AppendBool(dst, c.AutoIncrement)
		dst = append(dst, `,"generated":`...)
		dst = strconv.AppendBool(dst, c.Generated)
		dst = append(dst, `,"comment":`...)
		dst = appendOptString(dst, c.Comment)
		dst = append(dst, `,"defaultValueExpression":`...)
		if c.HasDefault {
			dst = AppendJSONString(dst, c.Default)
		} else {
			dst = append(dst, "null"...)
		}
		dst = append(dst, `,"enumValues":`...)
		if len(c.Enum) > 0 {
			dst = appendStrArray(dst, c.Enum)
		} else {
			dst = append(dst, "null"...)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `],"comment":`...)
	dst = appendOptString(dst, t.Comment)
	return append(dst, '}')
}

func (e *Encoder) encodeSchemaChange(dst []Record, ev *capture.Event) ([]Record, error) {
	conn, err := e.connIndex(ev)
	if err != nil {
		return dst, err
	}
	if conn == connPostgres || e.cfg.NoSchemaChanges {
		return dst, nil // PostgreSQL has no schema-change topic
	}
	key := e.appendWrapped(e.fixed.scKey[conn], func(b []byte) []byte {
		b = append(b, `{"databaseName":`...)
		b = AppendJSONString(b, ev.DDLDatabase)
		return append(b, '}')
	})
	ns := e.nowNS()
	val := e.appendWrapped(e.fixed.scValue[conn], func(b []byte) []byte {
		b = append(b, `{"source":`...)
		b = e.appendSource(b, conn, &ev.Source)
		b = append(b, `,"ts_ms":`...)
		b = strconv.AppendInt(b, FloorDiv(ns, 1_000_000), 10)
		b = append(b, `,"databaseName":`...)
		b = AppendJSONString(b, ev.DDLDatabase)
		b = append(b, `,"schemaName":null,"ddl":`...)
		b = appendOptString(b, ev.DDL)
		b = append(b, `,"tableChanges":[`...)
		for i := range ev.Changes {
			ch := &ev.Changes[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = AppendJSONString(b, ch.Type)
			b = append(b, `,"id":`...)
			var id schema.TableID
			if ch.Table != nil {
				id = ch.Table.ID
			}
			b = AppendJSONString(b, `"`+id.DB+`"."`+id.Table+`"`)
			b = append(b, `,"table":`...)
			b = appendTableStruct(b, ch.Table)
			b = append(b, '}')
		}
		return append(b, "]}"...)
	})
	return append(dst, Record{Compact: true, Topic: e.cfg.TopicPrefix, Key: key, Value: val}), nil
}
