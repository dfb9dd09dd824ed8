package testkit

import "encoding/binary"

// pgoutput message builders (PostgreSQL documentation, "Logical Replication Message
// Formats"), to be decoded by capture/postgres/pgoutput. LSNs are plain uint64 and times are
// the wire's microseconds since 2000-01-01 UTC. An xid argument of 0 leaves the transaction id
// out, as the server does outside Stream Start/Stop blocks; any other value is written first,
// as inside a block.

// PgoutputColumn is one column of a Relation message.
type PgoutputColumn struct {
	Flags   byte // 1: part of the replica identity
	Name    string
	TypeOID uint32
	TypeMod int32
}

// PgoutputValue is one column of a tuple: Kind 'n' (NULL), 'u' (unchanged TOAST), 't' or 'b'
// with Data.
type PgoutputValue struct {
	Kind byte
	Data []byte
}

// PgoutputText is a column in text format.
func PgoutputText(s string) PgoutputValue { return PgoutputValue{Kind: 't', Data: []byte(s)} }

// PgoutputTuple builds TupleData.
func PgoutputTuple(vals ...PgoutputValue) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(vals)))
	for _, v := range vals {
		b = append(b, v.Kind)
		if v.Kind == 't' || v.Kind == 'b' {
			b = binary.BigEndian.AppendUint32(b, uint32(len(v.Data)))
			b = append(b, v.Data...)
		}
	}
	return b
}

// PgoutputTextTuple builds TupleData of text columns; a nil column is NULL.
func PgoutputTextTuple(cols ...[]byte) []byte {
	vals := make([]PgoutputValue, len(cols))
	for i, c := range cols {
		vals[i] = PgoutputValue{Kind: 'n'}
		if c != nil {
			vals[i] = PgoutputValue{Kind: 't', Data: c}
		}
	}
	return PgoutputTuple(vals...)
}

func pgMsg(typ byte, xid uint32) []byte {
	b := []byte{typ}
	if xid != 0 {
		b = binary.BigEndian.AppendUint32(b, xid)
	}
	return b
}

func pgU64(b []byte, vs ...uint64) []byte {
	for _, v := range vs {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func pgStr(b []byte, s string) []byte { return append(append(b, s...), 0) }

// PgoutputBegin builds a Begin message.
func PgoutputBegin(finalLSN uint64, commitTime int64, xid uint32) []byte {
	return binary.BigEndian.AppendUint32(pgU64([]byte{'B'}, finalLSN, uint64(commitTime)), xid)
}

// PgoutputCommit builds a Commit message.
func PgoutputCommit(commitLSN, endLSN uint64, commitTime int64) []byte {
	return pgU64([]byte{'C', 0}, commitLSN, endLSN, uint64(commitTime))
}

// PgoutputOrigin builds an Origin message.
func PgoutputOrigin(commitLSN uint64, name string) []byte {
	return pgStr(pgU64([]byte{'O'}, commitLSN), name)
}

// PgoutputRelation builds a Relation message; identity is 'd', 'n', 'f' or 'i'.
func PgoutputRelation(xid, relID uint32, namespace, name string, identity byte, cols ...PgoutputColumn) []byte {
	b := binary.BigEndian.AppendUint32(pgMsg('R', xid), relID)
	b = append(pgStr(pgStr(b, namespace), name), identity)
	b = binary.BigEndian.AppendUint16(b, uint16(len(cols)))
	for _, c := range cols {
		b = pgStr(append(b, c.Flags), c.Name)
		b = binary.BigEndian.AppendUint32(b, c.TypeOID)
		b = binary.BigEndian.AppendUint32(b, uint32(c.TypeMod))
	}
	return b
}

// PgoutputType builds a Type message.
func PgoutputType(xid, oid uint32, namespace, name string) []byte {
	return pgStr(pgStr(binary.BigEndian.AppendUint32(pgMsg('Y', xid), oid), namespace), name)
}

// PgoutputInsert builds an Insert message of tuple (see PgoutputTuple).
func PgoutputInsert(xid, relID uint32, tuple []byte) []byte {
	return append(append(binary.BigEndian.AppendUint32(pgMsg('I', xid), relID), 'N'), tuple...)
}

// PgoutputUpdate builds an Update message; oldKind is 0 (no old tuple), 'K' or 'O'.
func PgoutputUpdate(xid, relID uint32, oldKind byte, oldTuple, newTuple []byte) []byte {
	b := binary.BigEndian.AppendUint32(pgMsg('U', xid), relID)
	if oldKind != 0 {
		b = append(append(b, oldKind), oldTuple...)
	}
	return append(append(b, 'N'), newTuple...)
}

// PgoutputDelete builds a Delete message; oldKind is 'K' or 'O'.
func PgoutputDelete(xid, relID uint32, oldKind byte, oldTuple []byte) []byte {
	return append(append(binary.BigEndian.AppendUint32(pgMsg('D', xid), relID), oldKind), oldTuple...)
}

// PgoutputTruncate builds a Truncate message; option bits are 1 CASCADE, 2 RESTART IDENTITY.
func PgoutputTruncate(xid uint32, option byte, relIDs ...uint32) []byte {
	b := append(binary.BigEndian.AppendUint32(pgMsg('T', xid), uint32(len(relIDs))), option)
	for _, id := range relIDs {
		b = binary.BigEndian.AppendUint32(b, id)
	}
	return b
}

// PgoutputMessage builds a logical decoding message (pg_logical_emit_message).
func PgoutputMessage(xid uint32, transactional bool, lsn uint64, prefix string, content []byte) []byte {
	var flags byte
	if transactional {
		flags = 1
	}
	b := pgStr(pgU64(append(pgMsg('M', xid), flags), lsn), prefix)
	return append(binary.BigEndian.AppendUint32(b, uint32(len(content))), content...)
}

// PgoutputStreamStart builds a Stream Start message.
func PgoutputStreamStart(xid uint32, first bool) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'S'}, xid)
	if first {
		return append(b, 1)
	}
	return append(b, 0)
}

// PgoutputStreamStop builds a Stream Stop message.
func PgoutputStreamStop() []byte { return []byte{'E'} }

// PgoutputStreamCommit builds a Stream Commit message.
func PgoutputStreamCommit(xid uint32, commitLSN, endLSN uint64, commitTime int64) []byte {
	return pgU64(append(binary.BigEndian.AppendUint32([]byte{'c'}, xid), 0), commitLSN, endLSN, uint64(commitTime))
}

// PgoutputStreamAbort builds a Stream Abort message of protocol 2 and 3 (and of 4 without
// parallel streaming).
func PgoutputStreamAbort(xid, subXid uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte{'A'}, xid), subXid)
}

// PgoutputStreamAbortV4 builds a Stream Abort message of protocol 4 with streaming
// 'parallel': with the abort's LSN and time.
func PgoutputStreamAbortV4(xid, subXid uint32, abortLSN uint64, abortTime int64) []byte {
	return pgU64(PgoutputStreamAbort(xid, subXid), abortLSN, uint64(abortTime))
}

// PgoutputBeginPrepare builds a Begin Prepare message.
func PgoutputBeginPrepare(prepareLSN, endLSN uint64, prepareTime int64, xid uint32, gid string) []byte {
	return pgStr(binary.BigEndian.AppendUint32(pgU64([]byte{'b'}, prepareLSN, endLSN, uint64(prepareTime)), xid), gid)
}

// PgoutputPrepare builds a Prepare message ('P'), or a Stream Prepare message ('p') when
// streamed is set: they have the same fields.
func PgoutputPrepare(streamed bool, prepareLSN, endLSN uint64, prepareTime int64, xid uint32, gid string) []byte {
	typ := byte('P')
	if streamed {
		typ = 'p'
	}
	return pgStr(binary.BigEndian.AppendUint32(pgU64([]byte{typ, 0}, prepareLSN, endLSN, uint64(prepareTime)), xid), gid)
}

// PgoutputCommitPrepared builds a Commit Prepared message.
func PgoutputCommitPrepared(commitLSN, endLSN uint64, commitTime int64, xid uint32, gid string) []byte {
	return pgStr(binary.BigEndian.AppendUint32(pgU64([]byte{'K', 0}, commitLSN, endLSN, uint64(commitTime)), xid), gid)
}

// PgoutputRollbackPrepared builds a Rollback Prepared message.
func PgoutputRollbackPrepared(prepareEndLSN, rollbackEndLSN uint64, prepareTime, rollbackTime int64, xid uint32, gid string) []byte {
	b := pgU64([]byte{'r', 0}, prepareEndLSN, rollbackEndLSN, uint64(prepareTime), uint64(rollbackTime))
	return pgStr(binary.BigEndian.AppendUint32(b, xid), gid)
}
