package binlog

import "fmt"

func truncated(what string) error { return fmt.Errorf("%w: %s", ErrTruncated, what) }

// parseRotate decodes a ROTATE body; postLen is its post-header length (8).
func parseRotate(body []byte, postLen int, ev *Rotate) error {
	r := reader{b: body}
	if postLen >= 8 {
		ev.Position = r.u64()
		r.skip(postLen - 8)
	}
	ev.NextFile = r.rest()
	if r.bad {
		return truncated("ROTATE")
	}
	return nil
}

func parseXID(body []byte, ev *XID) error {
	r := reader{b: body}
	ev.XID = r.u64()
	if r.bad {
		return truncated("XID")
	}
	return nil
}

// parseHeartbeatV2 decodes HEARTBEAT_LOG_EVENT_V2: a sequence of (type, length, value) fields
// with length-encoded type and length; type 0 is the file name and 1 the position (itself a
// length-encoded integer), 2 ends the list.
func parseHeartbeatV2(body []byte, ev *Heartbeat) error {
	r := reader{b: body}
	for r.rem() > 0 {
		typ := r.lenenc()
		if typ == 2 {
			break
		}
		n := r.lenencInt()
		v := r.bytes(n)
		switch typ {
		case 0:
			ev.File = v
		case 1:
			vr := reader{b: v}
			if len(v) > 0 && v[0] >= 0xfb {
				ev.Position = vr.lenenc()
			} else {
				ev.Position = vr.uintN(len(v))
			}
			if vr.bad {
				return truncated("HEARTBEAT_V2 position")
			}
		}
		if r.bad {
			return truncated("HEARTBEAT_V2")
		}
	}
	return nil
}

// parseQuery decodes a QUERY body (post-header length postLen, 13 for v4). query, when not
// nil, replaces the statement (compressed query events decompress it separately).
func parseQuery(body []byte, postLen int, ev *Query, compressed bool) (queryPart []byte, err error) {
	*ev = Query{Microseconds: -1, ExplicitDefaultsForTimestamp: -1, SQLRequirePrimaryKey: -1,
		DefaultTableEncryption: -1, SQLMode: 0}
	r := reader{b: body}
	ev.ThreadID = r.u32()
	ev.ExecutionTime = r.u32()
	dbLen := int(r.u8())
	ev.ErrorCode = r.u16()
	statusLen := 0
	if postLen >= 13 {
		statusLen = int(r.u16())
		r.skip(postLen - 13)
	} else {
		r.skip(postLen - 11)
	}
	status := r.bytes(statusLen)
	ev.Schema = r.bytes(dbLen)
	r.skip(1) // NUL after the schema
	queryPart = r.rest()
	if r.bad {
		return nil, truncated("QUERY")
	}
	parseQueryStatus(status, ev)
	if !compressed {
		ev.Query = queryPart
	}
	return queryPart, nil
}

// parseQueryStatus reads the status variables it knows; an unknown code ends the walk (its
// length cannot be known), as in the server.
func parseQueryStatus(b []byte, ev *Query) {
	r := reader{b: b}
	for r.rem() > 0 && !r.bad {
		switch code := r.u8(); code {
		case 0: // Q_FLAGS2_CODE
			ev.Flags2, ev.HasFlags2 = r.u32(), true
		case 1: // Q_SQL_MODE_CODE
			ev.SQLMode, ev.HasSQLMode = r.u64(), true
		case 2: // Q_CATALOG_CODE (pre-5.0.4): len, text, NUL
			ev.Catalog = r.bytes(int(r.u8()))
			r.skip(1)
		case 3: // Q_AUTO_INCREMENT
			ev.AutoIncIncrement, ev.AutoIncOffset = r.u16(), r.u16()
		case 4: // Q_CHARSET_CODE
			ev.CharsetClient, ev.CollationConn, ev.CollationServer = r.u16(), r.u16(), r.u16()
			ev.HasCharset = true
		case 5: // Q_TIME_ZONE_CODE
			ev.TimeZone = r.bytes(int(r.u8()))
		case 6: // Q_CATALOG_NZ_CODE
			ev.Catalog = r.bytes(int(r.u8()))
		case 7: // Q_LC_TIME_NAMES_CODE
			ev.LCTimeNames = r.u16()
		case 8: // Q_CHARSET_DATABASE_CODE
			ev.CollationDatabase = r.u16()
		case 9: // Q_TABLE_MAP_FOR_UPDATE_CODE
			ev.TableMapForUpdate = r.u64()
		case 10: // Q_MASTER_DATA_WRITTEN_CODE
			r.skip(4)
		case 11: // Q_INVOKER
			ev.InvokerUser = r.bytes(int(r.u8()))
			ev.InvokerHost = r.bytes(int(r.u8()))
		case 12: // Q_UPDATED_DB_NAMES
			n := int(r.u8())
			if n == 254 { // OVER_MAX_DBS_IN_EVENT_MTS: no names follow
				continue
			}
			ev.UpdatedDBs = ev.UpdatedDBs[:0]
			for i := 0; i < n && !r.bad; i++ {
				s := r.b[r.off:]
				j := 0
				for j < len(s) && s[j] != 0 {
					j++
				}
				ev.UpdatedDBs = append(ev.UpdatedDBs, r.bytes(j))
				r.skip(1)
			}
		case 13: // Q_MICROSECONDS
			ev.Microseconds = int32(r.u24())
		case 14, 15: // Q_COMMIT_TS, Q_COMMIT_TS2 (unused)
			r.skip(8)
		case 16: // Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP
			ev.ExplicitDefaultsForTimestamp = int8(r.u8())
		case 17: // Q_DDL_LOGGED_WITH_XID
			ev.DDLXID = r.u64()
		case 18: // Q_DEFAULT_COLLATION_FOR_UTF8MB4
			ev.DefaultCollationUTF8MB4 = r.u16()
		case 19: // Q_SQL_REQUIRE_PRIMARY_KEY
			ev.SQLRequirePrimaryKey = int8(r.u8())
		case 20: // Q_DEFAULT_TABLE_ENCRYPTION
			ev.DefaultTableEncryption = int8(r.u8())
		case 128: // MariaDB Q_HRNOW: microseconds of the statement time
			ev.Microseconds = int32(r.u24())
		case 129: // MariaDB Q_XID
			ev.MariaXID = r.u64()
		default:
			return
		}
	}
}

// parseGTID decodes GTID_LOG_EVENT / ANONYMOUS_GTID_LOG_EVENT.
func parseGTID(body []byte, ev *GTID) error {
	anon := ev.Anonymous
	*ev = GTID{Anonymous: anon}
	r := reader{b: body}
	ev.Flags = r.u8()
	copy(ev.SID[:], r.bytes(16))
	ev.GNO = int64(r.u64())
	if r.bad {
		return truncated("GTID")
	}
	if r.rem() == 0 {
		return nil
	}
	if r.u8() == 2 { // LOGICAL_TIMESTAMP_TYPECODE
		ev.LastCommitted = int64(r.u64())
		ev.SequenceNumber = int64(r.u64())
	}
	if r.rem() >= 7 {
		// 7 bytes each; the top bit of the immediate timestamp says an original one follows.
		ts := r.uintN(7)
		if ts&(1<<55) != 0 {
			ts &^= 1 << 55
			ev.OriginalCommitTimestamp = r.uintN(7)
		} else {
			ev.OriginalCommitTimestamp = ts
		}
		ev.ImmediateCommitTimestamp = ts
		if r.rem() > 0 {
			ev.TransactionLength = r.lenenc()
		}
		if r.rem() >= 4 {
			v := r.u32()
			if v&(1<<31) != 0 {
				v &^= 1 << 31
				ev.OriginalServerVersion = r.u32()
			} else {
				ev.OriginalServerVersion = v
			}
			ev.ImmediateServerVersion = v
		}
		if r.rem() >= 8 {
			ev.CommitGroupTicket = r.u64()
		}
	}
	if r.bad {
		return truncated("GTID")
	}
	return nil
}

// parseTaggedGTID decodes GTID_TAGGED_LOG_EVENT (MySQL 8.4+), written with the server's
// serialization library: a format version byte, the payload size (counting from the version
// byte), the last non-ignorable field id, then (field id, value) pairs with variable-length
// integers: 0 flags, 1 source UUID (16 integers), 2 gno (signed), 3 tag (length + text),
// 4 last_committed and 5 sequence_number (signed), 6/7 immediate/original commit timestamp,
// 8 transaction length, 9/10 immediate/original server version, 11 commit group ticket.
func parseTaggedGTID(body []byte, ev *GTID) error {
	*ev = GTID{}
	r := reader{b: body}
	r.u8() // serialization format version
	size := r.varUint()
	lastNonIgnorable := r.varUint()
	if r.bad || size < uint64(r.off) || size > uint64(len(body)) {
		return truncated("GTID_TAGGED")
	}
	r.b = body[:size]
	origTS, origVer := false, false
	for r.rem() > 0 && !r.bad {
		switch id := r.varUint(); id {
		case 0:
			ev.Flags = uint8(r.varUint())
		case 1:
			for i := range ev.SID {
				ev.SID[i] = byte(r.varUint())
			}
		case 2:
			ev.GNO = r.varInt()
		case 3:
			n := r.varUint()
			if n > uint64(r.rem()) {
				return truncated("GTID_TAGGED tag")
			}
			ev.Tag = r.bytes(int(n))
		case 4:
			ev.LastCommitted = r.varInt()
		case 5:
			ev.SequenceNumber = r.varInt()
		case 6:
			ev.ImmediateCommitTimestamp = r.varUint()
		case 7:
			ev.OriginalCommitTimestamp, origTS = r.varUint(), true
		case 8:
			ev.TransactionLength = r.varUint()
		case 9:
			ev.ImmediateServerVersion = uint32(r.varUint())
		case 10:
			ev.OriginalServerVersion, origVer = uint32(r.varUint()), true
		case 11:
			ev.CommitGroupTicket = r.varUint()
		default:
			if id <= lastNonIgnorable {
				return fmt.Errorf("%w: GTID_TAGGED field %d the server marks as needed", ErrUnsupported, id)
			}
			r.off = len(r.b) // an ignorable field of unknown size ends what can be read
		}
	}
	if r.bad {
		return truncated("GTID_TAGGED")
	}
	if !origTS {
		ev.OriginalCommitTimestamp = ev.ImmediateCommitTimestamp
	}
	if !origVer {
		ev.OriginalServerVersion = ev.ImmediateServerVersion
	}
	return nil
}

// parsePreviousGTIDs decodes PREVIOUS_GTIDS_LOG_EVENT into ev.Set (reusing its storage).
func parsePreviousGTIDs(body []byte, ev *PreviousGTIDs) error {
	set, err := DecodeMySQLGTIDSet(body)
	if err != nil {
		return err
	}
	ev.Set = set
	return nil
}

// parseMariaGTID decodes MariaDB GTID_EVENT; serverID comes from the header.
func parseMariaGTID(body []byte, serverID uint32, ev *MariaGTID) error {
	*ev = MariaGTID{}
	r := reader{b: body}
	ev.GTID.Sequence = r.u64()
	ev.GTID.Domain = r.u32()
	ev.GTID.Server = serverID
	ev.Flags = r.u8()
	if r.bad {
		return truncated("MariaDB GTID")
	}
	if ev.Flags&MariaGTIDGroupCommitID != 0 {
		ev.CommitID = r.u64()
	} else if ev.Flags&(MariaGTIDPreparedXA|MariaGTIDCompletedXA) != 0 {
		ev.XAFormatID = r.u32()
		ev.GTRIDLen = r.u8()
		ev.BQualLen = r.u8()
		ev.XID = r.bytes(int(ev.GTRIDLen) + int(ev.BQualLen))
	}
	if r.bad {
		return truncated("MariaDB GTID")
	}
	return nil
}

// parseMariaGTIDList decodes MariaDB GTID_LIST_EVENT.
func parseMariaGTIDList(body []byte, ev *MariaGTIDList) error {
	r := reader{b: body}
	v := r.u32()
	n := int(v & 0x0fffffff)
	ev.Flags = uint8(v >> 28)
	if n > r.rem()/16 {
		return truncated("GTID_LIST count")
	}
	ev.List = ev.List[:0]
	for i := 0; i < n; i++ {
		var g MariaDBGTID
		g.Domain = r.u32()
		g.Server = r.u32()
		g.Sequence = r.u64()
		ev.List = append(ev.List, g)
	}
	if r.bad {
		return truncated("GTID_LIST")
	}
	return nil
}

func parseBinlogCheckpoint(body []byte, ev *BinlogCheckpoint) error {
	r := reader{b: body}
	n := r.u32()
	ev.File = r.bytes(int(n & 0x7fffffff))
	if r.bad {
		return truncated("BINLOG_CHECKPOINT")
	}
	return nil
}

func parseRowsQuery(body []byte, ev *RowsQuery) error {
	r := reader{b: body}
	r.skip(1) // length byte, truncated to 255: the real text is the rest
	ev.Query = r.rest()
	if r.bad {
		return truncated("ROWS_QUERY")
	}
	return nil
}

// parseXAPrepare decodes XA_PREPARE_LOG_EVENT: one_phase(1) format_id(4) gtrid_length(4)
// bqual_length(4) then the gtrid and bqual bytes.
func parseXAPrepare(body []byte, ev *XAPrepare) error {
	r := reader{b: body}
	ev.OnePhase = r.u8() != 0
	ev.FormatID = r.u32()
	gl, bl := r.u32(), r.u32()
	if gl > 64 || bl > 64 {
		return truncated("XA_PREPARE xid lengths")
	}
	ev.GTRID = r.bytes(int(gl))
	ev.BQual = r.bytes(int(bl))
	if r.bad {
		return truncated("XA_PREPARE")
	}
	return nil
}
