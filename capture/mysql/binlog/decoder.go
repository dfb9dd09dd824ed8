package binlog

import (
	"bytes"
	"fmt"
)

// Config configures a Decoder. The zero value is usable.
type Config struct {
	// Checksum is the algorithm of the events that come before the first FORMAT_DESCRIPTION
	// (the artificial ROTATE at the start of a dump). The replication client knows it from
	// @@global.binlog_checksum after setting @source_binlog_checksum. Zero means ChecksumOff.
	// Every FORMAT_DESCRIPTION then sets the algorithm for the events after it.
	Checksum ChecksumAlg
	// SkipVerify strips checksums without verifying them.
	SkipVerify bool
	// MaxDecompressed bounds the size of a decompressed TRANSACTION_PAYLOAD or MariaDB
	// compressed event; 0 means 1 GiB.
	MaxDecompressed int
	// EscapeJSON decodes MySQL JSON columns as capture.EscapedJSON (AppendJSONEscaped), for a
	// consumer that writes them as JSON strings, instead of capture.JSON text.
	EscapeJSON bool
}

// Event is one decoded binlog event. Data holds the decoded body as a pointer into the
// Decoder's reused storage, by type:
//
//	FORMAT_DESCRIPTION                 *FormatDescription
//	ROTATE                             *Rotate
//	QUERY, QUERY_COMPRESSED            *Query
//	XID                                *XID
//	XA_PREPARE                         *XAPrepare
//	GTID, ANONYMOUS_GTID, GTID_TAGGED  *GTID
//	PREVIOUS_GTIDS                     *PreviousGTIDs
//	ROWS_QUERY, ANNOTATE_ROWS          *RowsQuery
//	TABLE_MAP                          *TableMap
//	WRITE/UPDATE/DELETE_ROWS (all), PARTIAL_UPDATE_ROWS   *RowsEvent
//	HEARTBEAT, HEARTBEAT_V2            *Heartbeat
//	TRANSACTION_PAYLOAD                *TransactionPayload (then call Decoder.NextInPayload)
//	MariaDB GTID                       *MariaGTID
//	MariaDB GTID_LIST                  *MariaGTIDList
//	MariaDB BINLOG_CHECKPOINT          *BinlogCheckpoint
//	STOP and every other type          nil
//
// Everything reachable from an Event is valid until the next Decode or NextInPayload call,
// except *TableMap, which lives as long as the decoder keeps that table id (see TableMap).
type Event struct {
	Header Header
	// Body is the event body after the header, without the checksum.
	Body []byte
	Data any
	// Skipped is set for types this package does not decode (Data is nil): unknown types and
	// ones without meaning for change capture (INTVAR, RAND, USER_VAR, INCIDENT, …). The
	// caller may log each type once.
	Skipped bool
}

// Decoder decodes a stream of raw events (as the source sends them after the OK byte). It
// keeps the stream's state: the current FORMAT_DESCRIPTION and checksum algorithm and the
// TABLE_MAPs by table id. It is not safe for concurrent use.
type Decoder struct {
	cfg      Config
	fd       FormatDescription
	haveFD   bool
	checksum ChecksumAlg
	tables   map[uint64]*TableMap

	rotate  Rotate
	query   Query
	xid     XID
	xa      XAPrepare
	gtid    GTID
	prev    PreviousGTIDs
	rq      RowsQuery
	hb      Heartbeat
	mgtid   MariaGTID
	mlist   MariaGTIDList
	cp      BinlogCheckpoint
	rows    RowsEvent
	payload TransactionPayload
	inflate inflater

	zbuf []byte // MariaDB compressed query/rows events, decompressed
}

// NewDecoder returns a Decoder.
func NewDecoder(cfg Config) *Decoder {
	if cfg.MaxDecompressed <= 0 {
		cfg.MaxDecompressed = 1 << 30
	}
	return &Decoder{cfg: cfg, checksum: cfg.Checksum, tables: make(map[uint64]*TableMap)}
}

// Format returns the current FORMAT_DESCRIPTION, or nil before the first one.
func (d *Decoder) Format() *FormatDescription {
	if !d.haveFD {
		return nil
	}
	return &d.fd
}

// Checksum returns the checksum algorithm currently applied to events.
func (d *Decoder) Checksum() ChecksumAlg { return d.checksum }

// Table returns the TABLE_MAP last seen for id, or nil.
func (d *Decoder) Table(id uint64) *TableMap { return d.tables[id] }

// Decode decodes one whole event: header, body and (when the algorithm says so) the CRC32
// checksum, which it verifies and strips. raw may be longer than the event (the rest is
// ignored). On error the returned Event still has its Header when it could be read; errors
// are *EventError wrapping ErrTruncated, ErrChecksum, ErrUnknownTable, ErrUnsupported, ….
func (d *Decoder) Decode(raw []byte) (Event, error) {
	d.payload.reset()
	ev, err := d.decode(raw, true)
	if err != nil {
		return ev, &EventError{Header: ev.Header, Err: err, Data: bytes.Clone(raw)}
	}
	return ev, nil
}

func (d *Decoder) decode(raw []byte, checksummed bool) (Event, error) {
	var ev Event
	h, err := ParseHeader(raw)
	if err != nil {
		return ev, err
	}
	ev.Header = h
	if int(h.EventSize) > len(raw) {
		return ev, fmt.Errorf("%w: event_size %d, have %d bytes", ErrTruncated, h.EventSize, len(raw))
	}
	raw = raw[:h.EventSize]
	if h.Type == FormatDescriptionEvent {
		fd, err := ParseFormatDescription(raw[HeaderSize:])
		if err != nil {
			return ev, err
		}
		alg := fd.Checksum
		if alg == ChecksumUndefined {
			alg = ChecksumOff
		}
		if checksummed && alg == ChecksumCRC32 && !d.cfg.SkipVerify {
			if err := verifyFormatChecksum(raw); err != nil {
				return ev, err
			}
		}
		d.fd, d.haveFD, d.checksum = fd, true, alg
		// A new binlog file: table ids of the old one are not reused across it, and
		// dropping them bounds the cache.
		clear(d.tables)
		ev.Body = raw[HeaderSize:]
		ev.Data = &d.fd
		return ev, nil
	}
	if checksummed && d.checksum == ChecksumCRC32 {
		if !d.cfg.SkipVerify {
			if err := VerifyChecksum(raw); err != nil {
				return ev, err
			}
		}
		if len(raw) < HeaderSize+ChecksumSize {
			return ev, ErrTruncated
		}
		raw = raw[:len(raw)-ChecksumSize]
	}
	hl := HeaderSize
	if d.haveFD {
		hl = int(d.fd.HeaderLength)
	}
	if hl > len(raw) {
		return ev, fmt.Errorf("%w: header length %d, event %d bytes", ErrTruncated, hl, len(raw))
	}
	body := raw[hl:]
	ev.Body = body
	post := func(def int) int {
		if d.haveFD {
			return d.fd.postHeaderLen(h.Type, def)
		}
		return def
	}

	switch t := h.Type; t {
	case RotateEvent:
		err = parseRotate(body, post(8), &d.rotate)
		ev.Data = &d.rotate
	case StopEvent:
	case QueryEvent, MariaQueryCompressedEvent:
		err = d.decodeQuery(body, post(13), t == MariaQueryCompressedEvent)
		ev.Data = &d.query
	case XIDEvent:
		err = parseXID(body, &d.xid)
		ev.Data = &d.xid
	case XAPrepareEvent:
		err = parseXAPrepare(body, &d.xa)
		ev.Data = &d.xa
	case GTIDEvent, AnonymousGTIDEvent:
		d.gtid.Anonymous = t == AnonymousGTIDEvent
		err = parseGTID(body, &d.gtid)
		ev.Data = &d.gtid
	case GTIDTaggedEvent:
		err = parseTaggedGTID(body, &d.gtid)
		ev.Data = &d.gtid
	case PreviousGTIDsEvent:
		err = parsePreviousGTIDs(body, &d.prev)
		ev.Data = &d.prev
	case RowsQueryEvent:
		err = parseRowsQuery(body, &d.rq)
		ev.Data = &d.rq
	case MariaAnnotateRowsEvent:
		d.rq.Query = body
		ev.Data = &d.rq
	case HeartbeatEvent:
		d.hb = Heartbeat{File: body, Position: uint64(h.LogPos)}
		ev.Data = &d.hb
	case HeartbeatEventV2:
		d.hb = Heartbeat{}
		err = parseHeartbeatV2(body, &d.hb)
		ev.Data = &d.hb
	case TableMapEvent:
		var tm *TableMap
		tm, err = d.decodeTableMap(body, post(8))
		if err == nil {
			ev.Data = tm
		}
	case TransactionPayloadEvent:
		err = d.payload.parse(body, d.cfg.MaxDecompressed)
		ev.Data = &d.payload
	case MariaGTIDEvent:
		err = parseMariaGTID(body, h.ServerID, &d.mgtid)
		ev.Data = &d.mgtid
	case MariaGTIDListEvent:
		err = parseMariaGTIDList(body, &d.mlist)
		ev.Data = &d.mlist
	case MariaBinlogCheckpointEvent:
		err = parseBinlogCheckpoint(body, &d.cp)
		ev.Data = &d.cp
	default:
		if t.IsRows() {
			err = d.decodeRows(t, body, post(-1))
			if err == nil {
				ev.Data = &d.rows
			}
			break
		}
		ev.Skipped = true
	}
	return ev, err
}

// NextInPayload returns the next event inside the TRANSACTION_PAYLOAD that the last Decode
// returned; ok is false after the last one (or when the last event was not a payload). Inner
// events carry no checksum and their headers have LogPos 0: the position of every inner event
// is the payload event's. Each inner event is valid until the next call to NextInPayload or
// Decode.
func (d *Decoder) NextInPayload() (ev Event, ok bool, err error) {
	raw, ok, err := d.payload.next()
	if !ok || err != nil {
		return ev, false, err
	}
	ev, err = d.decode(raw, false)
	if err != nil {
		return ev, false, &EventError{Header: ev.Header, Err: err, Data: bytes.Clone(raw)}
	}
	return ev, true, nil
}

func (d *Decoder) decodeQuery(body []byte, postLen int, compressed bool) error {
	q, err := parseQuery(body, postLen, &d.query, compressed)
	if err != nil || !compressed {
		return err
	}
	d.zbuf, err = d.inflate.mariaDecompress(d.zbuf[:0], q, d.cfg.MaxDecompressed)
	if err != nil {
		return err
	}
	d.query.Query = d.zbuf
	return nil
}
