package envelope

import (
	"strconv"

	"github.com/sluicecdc/sluice/capture"
)

// txState counts the events of the open transaction for transaction metadata (spec §7).
type txState struct {
	active bool // between Begin and Commit
	id     string
	total  int64
	// per-table counters in order of first appearance (Debezium keeps a HashMap, so its END
	// lists them in hash order; first appearance is the stable choice).
	colls  []string
	counts []int64
	cur    int // index of the counter last incremented
}

// fixedSchemas are the JSON schemas of the non-table records, built once.
type fixedSchemas struct {
	txBlock  *Connect
	hbKey    []byte
	hbValue  []byte
	txKey    []byte
	txValue  []byte
	msgKey   []byte
	msgValue [numConn][]byte
	scKey    [numConn][]byte
	scValue  [numConn][]byte
}

func (e *Encoder) buildFixedSchemas() fixedSchemas {
	var f fixedSchemas
	f.txBlock = st("event.block", 1, true,
		fl("id", String, false),
		fl("total_order", Int64, false),
		fl("data_collection_order", Int64, false))
	e.fixed.txBlock = f.txBlock // the message schema below refers to it
	f.hbKey = appendConnect(nil, st("io.debezium.connector.common.ServerNameKey", 1, false,
		fl("serverName", String, false)), "")
	f.hbValue = appendConnect(nil, st("io.debezium.connector.common.Heartbeat", 1, false,
		fl("ts_ms", Int64, false)), "")
	f.txKey = appendConnect(nil, st("io.debezium.connector.common.TransactionMetadataKey", 1, false,
		fl("id", String, false)), "")
	coll := st("event.collection", 1, true,
		fl("data_collection", String, false),
		fl("event_count", Int64, false))
	f.txValue = appendConnect(nil, st("io.debezium.connector.common.TransactionMetadataValue", 1, false,
		fl("status", String, false),
		fl("id", String, false),
		fl("event_count", Int64, true),
		fs("data_collections", &Connect{Type: Array, Optional: true, Items: coll}),
		fl("ts_ms", Int64, false)), "")
	f.msgKey = appendConnect(nil, st("io.debezium.connector.postgresql.MessageKey", 1, false,
		fl("prefix", String, true)), "")
	for i := range f.msgValue {
		f.msgValue[i] = appendConnect(nil, e.messageValueSchema(i), "")
		f.scKey[i] = appendConnect(nil, st("io.debezium.connector."+connNames[i]+".SchemaChangeKey", 1, false,
			fl("databaseName", String, false)), "")
		f.scValue[i] = appendConnect(nil, e.schemaChangeValueSchema(i), "")
	}
	return f
}

// countTx counts one data event of te in the open transaction.
func (e *Encoder) countTx(te *tableEnc) {
	if !e.cfg.TransactionMetadata || !e.tx.active {
		return
	}
	e.countCollection(te.collection)
}

func (e *Encoder) countCollection(coll string) {
	e.tx.total++
	for i, c := range e.tx.colls {
		if c == coll {
			e.tx.counts[i]++
			e.tx.cur = i
			return
		}
	}
	e.tx.colls = append(e.tx.colls, coll)
	e.tx.counts = append(e.tx.counts, 1)
	e.tx.cur = len(e.tx.colls) - 1
}

// appendTxBlock appends the per-event transaction block, or null outside transactions.
func (e *Encoder) appendTxBlock(dst []byte) []byte {
	if !e.cfg.TransactionMetadata || !e.tx.active {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"id":`...)
	dst = AppendJSONString(dst, e.tx.id)
	dst = append(dst, `,"total_order":`...)
	dst = strconv.AppendInt(dst, e.tx.total, 10)
	dst = append(dst, `,"data_collection_order":`...)
	dst = strconv.AppendInt(dst, e.tx.counts[e.tx.cur], 10)
	return append(dst, '}')
}

func (e *Encoder) appendWrapped(schemaJSON []byte, payload func([]byte) []byte) []byte {
	start := len(e.buf)
	if e.cfg.SchemasEnable {
		e.buf = append(e.buf, `{"schema":`...)
		e.buf = append(e.buf, schemaJSON...)
		e.buf = append(e.buf, `,"payload":`...)
	}
	e.buf = payload(e.buf)
	if e.cfg.SchemasEnable {
		e.buf = append(e.buf, '}')
	}
	return e.buf[start:len(e.buf):len(e.buf)]
}

func (e *Encoder) txKeyRecord(id string) []byte {
	return e.appendWrapped(e.fixed.txKey, func(b []byte) []byte {
		b = append(b, `{"id":`...)
		b = AppendJSONString(b, id)
		return append(b, '}')
	})
}

// encodeBegin opens a transaction and writes its BEGIN record at once, as Debezium's MySQL and
// PostgreSQL streaming sources do (dispatchTransactionStartedEvent on the binlog BEGIN / pgoutput
// BEGIN), so transactions without captured changes get BEGIN and an END with event_count 0.
func (e *Encoder) encodeBegin(dst []Record, ev *capture.Event) ([]Record, error) {
	if !e.cfg.TransactionMetadata {
		return dst, nil
	}
	return e.startTx(dst, ev.TxID, ev.Source.TsMicros), nil
}

func (e *Encoder) startTx(dst []Record, id string, tsMicros int64) []Record {
	e.tx.active = true
	e.tx.id = id
	e.tx.total = 0
	e.tx.colls = e.tx.colls[:0]
	e.tx.counts = e.tx.counts[:0]
	key := e.txKeyRecord(id)
	val := e.appendWrapped(e.fixed.txValue, func(b []byte) []byte {
		b = append(b, `{"status":"BEGIN","id":`...)
		b = AppendJSONString(b, id)
		b = append(b, `,"event_count":null,"data_collections":null,"ts_ms":`...)
		b = strconv.AppendInt(b, FloorDiv(tsMicros, 1000), 10)
		return append(b, '}')
	})
	return append(dst, Record{Compact: true, Topic: e.txTopic, Key: key, Value: val})
}

// beginIfNeeded starts a transaction for a data event that carries a transaction id when none is
// open (Debezium's TransactionMonitor.dataEvent does the same), writing its BEGIN record first.
func (e *Encoder) beginIfNeeded(dst []Record, ev *capture.Event) []Record {
	if !e.cfg.TransactionMetadata || e.tx.active || ev.TxID == "" {
		return dst
	}
	return e.startTx(dst, ev.TxID, ev.Source.TsMicros)
}

func (e *Encoder) encodeCommit(dst []Record, ev *capture.Event) ([]Record, error) {
	if !e.cfg.TransactionMetadata || !e.tx.active {
		return dst, nil
	}
	// Debezium keys and names END with the transaction context's id, the one BEGIN had.
	id := e.tx.id
	key := e.txKeyRecord(id)
	val := e.appendWrapped(e.fixed.txValue, func(b []byte) []byte {
		b = append(b, `{"status":"END","id":`...)
		b = AppendJSONString(b, id)
		b = append(b, `,"event_count":`...)
		b = strconv.AppendInt(b, e.tx.total, 10)
		b = append(b, `,"data_collections":[`...)
		for i, c := range e.tx.colls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"data_collection":`...)
			b = AppendJSONString(b, c)
			b = append(b, `,"event_count":`...)
			b = strconv.AppendInt(b, e.tx.counts[i], 10)
			b = append(b, '}')
		}
		b = append(b, `],"ts_ms":`...)
		b = strconv.AppendInt(b, FloorDiv(ev.Source.TsMicros, 1000), 10)
		return append(b, '}')
	})
	e.tx.active = false
	return append(dst, Record{Compact: true, Topic: e.txTopic, Key: key, Value: val}), nil
}
