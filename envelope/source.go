package envelope

import (
	"bytes"
	"strconv"

	"github.com/sluicecdc/sluice/capture"
)

// buildSource returns connector i's source schema (SchemaFactory.sourceInfoSchemaBuilder plus the
// connector's fields) and the constant head of its payload.
func (e *Encoder) buildSource(i int) srcConn {
	allowed := "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"
	version := 1
	if e.compat < Compat31 {
		allowed = "true,last,false,incremental"
		version = 0
	}
	snap := &Connect{Type: String, Optional: true, Name: "io.debezium.data.Enum", Version: 1,
		Params: []Param{{Key: "allowed", Value: allowed}}, Default: []byte(`"false"`)}
	fields := []Field{
		fl("version", String, false),
		fl("connector", String, false),
		fl("name", String, false),
		fl("ts_ms", Int64, false),
		fs("snapshot", snap),
		fl("db", String, false),
		fl("sequence", String, true),
		fl("ts_us", Int64, true),
		fl("ts_ns", Int64, true),
	}
	if i == connPostgres {
		fields = append(fields,
			fl("schema", String, false),
			fl("table", String, false),
			fl("txId", Int64, true),
			fl("lsn", Int64, true),
			fl("xmin", Int64, true))
		if e.compat >= Compat35 {
			fields = append(fields, fl("origin", String, true), fl("origin_lsn", Int64, true))
		}
	} else {
		fields = append(fields,
			fl("table", String, true),
			fl("server_id", Int64, false),
			fl("gtid", String, true),
			fl("file", String, false),
			fl("pos", Int64, false),
			fl("row", Int32, false),
			fl("thread", Int64, true),
			fl("query", String, true))
	}
	sc := st("io.debezium.connector."+connNames[i]+".Source", version, false, fields...)
	head := []byte(`{"version":`)
	head = AppendJSONString(head, e.cfg.ConnectorVersion)
	head = append(head, `,"connector":"`...)
	head = append(head, connNames[i]...)
	head = append(head, `","name":`...)
	head = AppendJSONString(head, e.cfg.TopicPrefix)
	head = append(head, `,"ts_ms":`...)
	return srcConn{schema: sc, head: head}
}

// strCache remembers the JSON form of the last string it encoded: source fields like db, table,
// gtid and file repeat from event to event.
type strCache struct {
	s   string
	enc []byte
}

func (c *strCache) append(dst []byte, s string) []byte {
	if s != c.s || c.enc == nil {
		c.s = s
		c.enc = AppendJSONString(c.enc[:0], s)
	}
	return append(dst, c.enc...)
}

func (c *strCache) appendOpt(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return c.append(dst, s)
}

// srcStrings caches the source block's repeating strings.
type srcStrings struct{ db, schema, table, gtid, file strCache }

func appendOptString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return AppendJSONString(dst, s)
}

// binlogSrcCache holds the rendered MySQL/MariaDB source block of the last event around its
// per-row fields: the rows of one binlog event, and the events of one transaction, differ only in
// pos and row.
type binlogSrcCache struct {
	ok   bool
	conn int
	key  capture.Source // Pos and Row zeroed
	head []byte         // … ,"pos":
	tail []byte         // ,"thread":…}
	last lastBlock      // the whole block of the last pos and row
}

// lastBlock is the whole source block of the last event, kept once two events in a row had the
// same per-row fields (snapshot reads all do: one block for a whole table), so that a run of
// them copies one block instead of formatting its numbers each time. A stream, whose LSN or
// row changes with every event, never keeps it and pays nothing for it.
type lastBlock struct {
	a, b  uint64 // the per-row fields it was written for (pos and row; LSN)
	seen  bool   // a, b were the last event's
	valid bool   // text is the block for a, b
	text  []byte
}

// append appends the cached block if a, b are the ones it holds and reports whether it did.
func (l *lastBlock) append(dst []byte, a, b uint64) ([]byte, bool) {
	if l.valid && l.a == a && l.b == b {
		return append(dst, l.text...), true
	}
	return dst, false
}

// note records that block (just written) is the one for a, b: kept when the last event's were
// the same.
func (l *lastBlock) note(block []byte, a, b uint64) {
	if l.seen && l.a == a && l.b == b {
		l.text = append(l.text[:0], block...)
		l.valid = true
		return
	}
	l.a, l.b, l.seen, l.valid = a, b, true, false
}

// appendSource appends the source block payload.
func (e *Encoder) appendSource(dst []byte, conn int, s *capture.Source) []byte {
	if conn == connPostgres {
		return e.appendPGSource(dst, s)
	}
	c := &e.binlogSrc
	k := *s
	k.Pos, k.Row = 0, 0
	if !c.ok || c.conn != conn || c.key != k {
		full := e.appendSourceFull(nil, conn, &k)
		i := bytes.LastIndex(full, []byte(`,"pos":0,"row":0,"thread":`))
		c.head = append(c.head[:0], full[:i+len(`,"pos":`)]...)
		c.tail = append(c.tail[:0], full[i+len(`,"pos":0,"row":0`):]...)
		c.ok, c.conn, c.key = true, conn, k
		c.last = lastBlock{text: c.last.text[:0]}
	}
	row := uint64(uint32(s.Row))
	dst, ok := c.last.append(dst, s.Pos, row)
	if ok {
		return dst
	}
	start := len(dst)
	dst = append(dst, c.head...)
	dst = strconv.AppendUint(dst, s.Pos, 10)
	dst = append(dst, `,"row":`...)
	dst = strconv.AppendInt(dst, int64(s.Row), 10)
	dst = append(dst, c.tail...)
	c.last.note(dst[start:], s.Pos, row)
	return dst
}

// pgSrcCache holds the rendered PostgreSQL source block of the last event around its LSN, which
// is the only field that changes between the events of one transaction and table.
type pgSrcCache struct {
	ok   bool
	key  capture.Source // LSN zeroed
	head []byte         // … "sequence":"[…,
	mid  []byte         // ]",…,"lsn":
	tail []byte         // ,"xmin":…}
	last lastBlock      // the whole block of the last LSN
}

func (e *Encoder) appendPGSource(dst []byte, s *capture.Source) []byte {
	if !s.HasLSN {
		return e.appendSourceFull(dst, connPostgres, s)
	}
	c := &e.pgSrc
	k := *s
	k.LSN = 0
	if !c.ok || c.key != k {
		full := e.appendSourceFull(nil, connPostgres, &k)
		i := bytes.Index(full, []byte(`\"0\"]"`))
		j := bytes.LastIndex(full, []byte(`,"lsn":0,"xmin":`))
		if i < 0 || j < 0 {
			return e.appendSourceFull(dst, connPostgres, s)
		}
		c.head = append(c.head[:0], full[:i]...)
		c.mid = append(c.mid[:0], full[i+len(`\"0\"`):j+len(`,"lsn":`)]...)
		c.tail = append(c.tail[:0], full[j+len(`,"lsn":0`):]...)
		c.ok, c.key = true, k
		c.last = lastBlock{text: c.last.text[:0]}
	}
	dst, ok := c.last.append(dst, s.LSN, 0)
	if ok {
		return dst
	}
	start := len(dst)
	dst = append(dst, c.head...)
	dst = append(dst, '\\', '"')
	dst = strconv.AppendUint(dst, s.LSN, 10)
	dst = append(dst, '\\', '"')
	dst = append(dst, c.mid...)
	dst = strconv.AppendInt(dst, int64(s.LSN), 10)
	dst = append(dst, c.tail...)
	c.last.note(dst[start:], s.LSN, 0)
	return dst
}

// appendSourceFull renders the source block field by field.
func (e *Encoder) appendSourceFull(dst []byte, conn int, s *capture.Source) []byte {
	dst = append(dst, e.src[conn].head...)
	// ts_ms, ts_us and ts_ns share their leading digits: format the µs once.
	var tmp [20]byte
	us := tmp[:0]
	fast := s.TsMicros >= 1000 && s.TsMicros < 1e18
	if fast {
		us = strconv.AppendInt(us, s.TsMicros, 10)
		dst = append(dst, us[:len(us)-3]...)
	} else {
		dst = strconv.AppendInt(dst, FloorDiv(s.TsMicros, 1000), 10)
	}
	dst = append(dst, `,"snapshot":`...)
	if s.Snapshot == capture.NotSnapshot {
		if e.cfg.KeepNulls {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, `"false"`...)
		}
	} else {
		dst = append(dst, '"')
		dst = append(dst, s.Snapshot.String()...)
		dst = append(dst, '"')
	}
	c := &e.srcCache
	dst = append(dst, `,"db":`...)
	dst = c.db.append(dst, s.DB)
	dst = append(dst, `,"sequence":`...)
	if conn == connPostgres {
		dst = append(dst, `"[`...)
		if s.LastCommitLSN != 0 {
			dst = append(dst, `\"`...)
			dst = strconv.AppendUint(dst, s.LastCommitLSN, 10)
			dst = append(dst, `\"`...)
		} else {
			dst = append(dst, "null"...)
		}
		dst = append(dst, ',')
		if s.HasLSN {
			dst = append(dst, `\"`...)
			dst = strconv.AppendUint(dst, s.LSN, 10)
			dst = append(dst, `\"`...)
		} else {
			dst = append(dst, "null"...)
		}
		dst = append(dst, `]"`...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"ts_us":`...)
	if fast {
		dst = append(dst, us...)
		dst = append(dst, `,"ts_ns":`...)
		dst = append(dst, us...)
		dst = append(dst, "000"...)
	} else {
		dst = strconv.AppendInt(dst, s.TsMicros, 10)
		dst = append(dst, `,"ts_ns":`...)
		dst = strconv.AppendInt(dst, s.TsMicros*1000, 10)
	}
	if conn == connPostgres {
		dst = append(dst, `,"schema":`...)
		dst = c.schema.append(dst, s.Schema)
		dst = append(dst, `,"table":`...)
		dst = c.table.append(dst, s.Table)
		dst = append(dst, `,"txId":`...)
		if s.HasTxID {
			dst = strconv.AppendInt(dst, s.TxID, 10)
		} else {
			dst = append(dst, "null"...)
		}
		dst = append(dst, `,"lsn":`...)
		if s.HasLSN {
			dst = strconv.AppendInt(dst, int64(s.LSN), 10)
		} else {
			dst = append(dst, "null"...)
		}
		dst = append(dst, `,"xmin":null`...)
		if e.compat >= Compat35 {
			dst = append(dst, `,"origin":null,"origin_lsn":null`...)
		}
		return append(dst, '}')
	}
	dst = append(dst, `,"table":`...)
	dst = c.table.appendOpt(dst, s.Table)
	dst = append(dst, `,"server_id":`...)
	dst = strconv.AppendUint(dst, uint64(s.ServerID), 10)
	dst = append(dst, `,"gtid":`...)
	dst = c.gtid.appendOpt(dst, s.GTID)
	dst = append(dst, `,"file":`...)
	dst = c.file.append(dst, s.File)
	dst = append(dst, `,"pos":`...)
	dst = strconv.AppendUint(dst, s.Pos, 10)
	dst = append(dst, `,"row":`...)
	dst = strconv.AppendInt(dst, int64(s.Row), 10)
	dst = append(dst, `,"thread":`...)
	if s.HasThread {
		dst = strconv.AppendInt(dst, s.Thread, 10)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"query":`...)
	dst = appendOptString(dst, s.Query)
	return append(dst, '}')
}
