package testkit

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"strings"
)

// Binlog event type codes used by the builders (the server's Log_event_type numbers).
const (
	BinlogQuery                      byte = 2
	BinlogStop                       byte = 3
	BinlogRotate                     byte = 4
	BinlogFormatDescription          byte = 15
	BinlogXID                        byte = 16
	BinlogTableMap                   byte = 19
	BinlogWriteRowsV1                byte = 23
	BinlogUpdateRowsV1               byte = 24
	BinlogDeleteRowsV1               byte = 25
	BinlogHeartbeat                  byte = 27
	BinlogRowsQuery                  byte = 29
	BinlogWriteRowsV2                byte = 30
	BinlogUpdateRowsV2               byte = 31
	BinlogDeleteRowsV2               byte = 32
	BinlogGTID                       byte = 33
	BinlogAnonymousGTID              byte = 34
	BinlogPreviousGTIDs              byte = 35
	BinlogPartialUpdateRows          byte = 39
	BinlogTransactionPayload         byte = 40
	BinlogMariaAnnotateRows          byte = 160
	BinlogMariaCheckpoint            byte = 161
	BinlogMariaGTID                  byte = 162
	BinlogMariaGTIDList              byte = 163
	BinlogMariaQueryCompressed       byte = 165
	BinlogMariaWriteRowsCompressedV1 byte = 166
)

// BinlogStream builds whole events (header, body, optional CRC32) with increasing positions.
type BinlogStream struct {
	ServerID  uint32
	Timestamp uint32
	Checksum  bool   // append CRC32 to every event (FORMAT_DESCRIPTION always has the slot)
	Pos       uint32 // end position of the last event; starts at 4 (after the magic)
}

// NewBinlogStream returns a stream at position 4 with CRC32 checksums.
func NewBinlogStream(serverID uint32) *BinlogStream {
	return &BinlogStream{ServerID: serverID, Timestamp: 1700000000, Checksum: true, Pos: 4}
}

// Event returns the whole event of type typ with body; LogPos is the new end position.
func (s *BinlogStream) Event(typ byte, body []byte) []byte {
	size := 19 + len(body)
	if s.Checksum && typ != BinlogFormatDescription {
		size += 4
	}
	s.Pos += uint32(size)
	return EncodeEvent(s.Timestamp, typ, s.ServerID, s.Pos, 0, body, s.Checksum && typ != BinlogFormatDescription)
}

// EncodeEvent encodes header + body, appending a CRC32 of both when crc is set.
func EncodeEvent(ts uint32, typ byte, serverID, logPos uint32, flags uint16, body []byte, crc bool) []byte {
	size := 19 + len(body)
	if crc {
		size += 4
	}
	b := make([]byte, 0, size)
	b = binary.LittleEndian.AppendUint32(b, ts)
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint32(b, serverID)
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = binary.LittleEndian.AppendUint32(b, logPos)
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = append(b, body...)
	if crc {
		b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	}
	return b
}

// FormatDescription returns a whole FORMAT_DESCRIPTION event for serverVersion (e.g.
// "8.0.36" or "10.11.6-MariaDB-log"), with the checksum algorithm byte (1 = CRC32, 0 = none)
// and, for CRC32, a valid checksum.
func (s *BinlogStream) FormatDescription(serverVersion string) []byte {
	body := FormatDescriptionBody(serverVersion, s.Checksum)
	if s.Checksum {
		body = append(body, 0, 0, 0, 0)
	}
	ev := s.Event(BinlogFormatDescription, body)
	if s.Checksum {
		n := len(ev) - 4
		binary.LittleEndian.PutUint32(ev[n:], crc32.ChecksumIEEE(ev[:n]))
	} else {
		ev = append(ev, 0, 0, 0, 0)
		binary.LittleEndian.PutUint32(ev[9:], uint32(len(ev)))
		s.Pos += 4
		binary.LittleEndian.PutUint32(ev[13:], s.Pos)
	}
	return ev
}

// FormatDescriptionBody returns the FORMAT_DESCRIPTION body up to and including the checksum
// algorithm byte (without the 4-byte checksum).
func FormatDescriptionBody(serverVersion string, crc bool) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 4)
	var sv [50]byte
	copy(sv[:], serverVersion)
	b = append(b, sv[:]...)
	b = binary.LittleEndian.AppendUint32(b, 1700000000)
	b = append(b, 19)
	b = append(b, PostHeaderLengths()...)
	if crc {
		return append(b, 1)
	}
	return append(b, 0)
}

// PostHeaderLengths returns a MySQL 8.0-like post-header length table (index = type-1).
func PostHeaderLengths() []byte {
	p := make([]byte, 41)
	set := func(t byte, n byte) { p[t-1] = n }
	set(1, 56)
	set(BinlogQuery, 13)
	set(BinlogRotate, 8)
	set(BinlogFormatDescription, 98)
	set(BinlogTableMap, 8)
	for _, t := range []byte{20, 21, 22, BinlogWriteRowsV1, BinlogUpdateRowsV1, BinlogDeleteRowsV1} {
		set(t, 8)
	}
	for _, t := range []byte{BinlogWriteRowsV2, BinlogUpdateRowsV2, BinlogDeleteRowsV2, BinlogPartialUpdateRows} {
		set(t, 10)
	}
	set(BinlogGTID, 42)
	set(BinlogAnonymousGTID, 42)
	set(BinlogRowsQuery, 1)
	set(BinlogTransactionPayload, 40)
	return p
}

// LenEnc appends a length-encoded integer.
func LenEnc(dst []byte, v uint64) []byte {
	switch {
	case v < 251:
		return append(dst, byte(v))
	case v < 1<<16:
		return binary.LittleEndian.AppendUint16(append(dst, 0xfc), uint16(v))
	case v < 1<<24:
		return append(dst, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xfe), v)
}

// LenEncStr appends a length-encoded string.
func LenEncStr(dst []byte, s string) []byte { return append(LenEnc(dst, uint64(len(s))), s...) }

// RotateBody is a ROTATE body.
func RotateBody(pos uint64, file string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, pos), file...)
}

// XIDBody is an XID body.
func XIDBody(xid uint64) []byte { return binary.LittleEndian.AppendUint64(nil, xid) }

// QueryStatus builds QUERY status variables.
type QueryStatus struct {
	Flags2     *uint32
	SQLMode    *uint64
	Charset    *[3]uint16 // client, connection collation, server collation
	TimeZone   string
	Catalog    string
	UpdatedDBs []string
	Micros     *uint32
	DDLXID     *uint64
	Raw        []byte // appended as is (e.g. an unknown code)
}

// Bytes encodes the status variables.
func (q QueryStatus) Bytes() []byte {
	var b []byte
	if q.Flags2 != nil {
		b = binary.LittleEndian.AppendUint32(append(b, 0), *q.Flags2)
	}
	if q.SQLMode != nil {
		b = binary.LittleEndian.AppendUint64(append(b, 1), *q.SQLMode)
	}
	if q.Catalog != "" {
		b = append(append(b, 6, byte(len(q.Catalog))), q.Catalog...)
	}
	if q.Charset != nil {
		b = append(b, 4)
		for _, c := range q.Charset {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
	}
	if q.TimeZone != "" {
		b = append(append(b, 5, byte(len(q.TimeZone))), q.TimeZone...)
	}
	if q.UpdatedDBs != nil {
		b = append(b, 12, byte(len(q.UpdatedDBs)))
		for _, s := range q.UpdatedDBs {
			b = append(append(b, s...), 0)
		}
	}
	if q.Micros != nil {
		b = append(b, 13, byte(*q.Micros), byte(*q.Micros>>8), byte(*q.Micros>>16))
	}
	if q.DDLXID != nil {
		b = binary.LittleEndian.AppendUint64(append(b, 17), *q.DDLXID)
	}
	return append(b, q.Raw...)
}

// QueryBody is a QUERY body (post-header 13).
func QueryBody(threadID, execTime uint32, errCode uint16, schema string, status []byte, query string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, threadID)
	b = binary.LittleEndian.AppendUint32(b, execTime)
	b = append(b, byte(len(schema)))
	b = binary.LittleEndian.AppendUint16(b, errCode)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(status)))
	b = append(b, status...)
	b = append(append(b, schema...), 0)
	return append(b, query...)
}

// GTIDBody is a MySQL 8.0 GTID_LOG_EVENT body with logical clock, commit timestamps (original
// written only when it differs), transaction length and server version.
func GTIDBody(flags byte, sid [16]byte, gno int64, lastCommitted, seq int64, immediateTS, originalTS uint64, trxLen uint64, serverVersion uint32) []byte {
	b := append([]byte{flags}, sid[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(gno))
	b = append(b, 2)
	b = binary.LittleEndian.AppendUint64(b, uint64(lastCommitted))
	b = binary.LittleEndian.AppendUint64(b, uint64(seq))
	put7 := func(v uint64) {
		for i := 0; i < 7; i++ {
			b = append(b, byte(v>>(8*i)))
		}
	}
	if originalTS != immediateTS {
		put7(immediateTS | 1<<55)
		put7(originalTS)
	} else {
		put7(immediateTS)
	}
	b = LenEnc(b, trxLen)
	return binary.LittleEndian.AppendUint32(b, serverVersion)
}

// MariaGTIDBody is a MariaDB GTID_EVENT body.
func MariaGTIDBody(seq uint64, domain uint32, flags byte, commitID uint64) []byte {
	b := binary.LittleEndian.AppendUint64(nil, seq)
	b = binary.LittleEndian.AppendUint32(b, domain)
	b = append(b, flags)
	if flags&2 != 0 {
		b = binary.LittleEndian.AppendUint64(b, commitID)
	} else {
		b = append(b, 0, 0, 0, 0, 0, 0)
	}
	return b
}

// MariaGTIDListBody is a MariaDB GTID_LIST body; each entry is {domain, server, seq}.
func MariaGTIDListBody(entries ...[3]uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(entries)))
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint32(b, uint32(e[0]))
		b = binary.LittleEndian.AppendUint32(b, uint32(e[1]))
		b = binary.LittleEndian.AppendUint64(b, e[2])
	}
	return b
}

// BinlogColumn is one column of a TABLE_MAP: its binlog type code, the raw metadata bytes
// the TABLE_MAP carries for it, and nullability.
type BinlogColumn struct {
	Type     byte
	Meta     []byte
	Nullable bool
}

// BinlogTable builds TABLE_MAP bodies.
type BinlogTable struct {
	ID       uint64
	Schema   string
	Name     string
	Columns  []BinlogColumn
	Optional []byte // optional metadata TLVs (see OptionalMeta)
}

// Body returns the TABLE_MAP body (6-byte table id, post-header 8).
func (t BinlogTable) Body() []byte {
	b := make([]byte, 0, 64)
	for i := 0; i < 6; i++ {
		b = append(b, byte(t.ID>>(8*i)))
	}
	b = append(b, 1, 0) // flags
	b = append(append(append(b, byte(len(t.Schema))), t.Schema...), 0)
	b = append(append(append(b, byte(len(t.Name))), t.Name...), 0)
	b = LenEnc(b, uint64(len(t.Columns)))
	var meta []byte
	for _, c := range t.Columns {
		b = append(b, c.Type)
		meta = append(meta, c.Meta...)
	}
	b = LenEnc(b, uint64(len(meta)))
	b = append(b, meta...)
	nb := make([]byte, (len(t.Columns)+7)/8)
	for i, c := range t.Columns {
		if c.Nullable {
			nb[i/8] |= 1 << (i % 8)
		}
	}
	b = append(b, nb...)
	return append(b, t.Optional...)
}

// OptionalMeta appends one optional-metadata TLV.
func OptionalMeta(dst []byte, typ byte, value []byte) []byte {
	dst = append(dst, typ)
	dst = LenEnc(dst, uint64(len(value)))
	return append(dst, value...)
}

// MSBBitmap packs bits most-significant first (SIGNEDNESS, COLUMN_VISIBILITY).
func MSBBitmap(bits ...bool) []byte {
	b := make([]byte, (len(bits)+7)/8)
	for i, v := range bits {
		if v {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	return b
}

// LSBBitmap packs bits least-significant first (rows events' column and NULL bitmaps).
func LSBBitmap(bits ...bool) []byte {
	b := make([]byte, (len(bits)+7)/8)
	for i, v := range bits {
		if v {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return b
}

// StrValues encodes ENUM/SET member lists for OptionalMeta types 5/6: per column a count then
// the strings.
func StrValues(cols ...[]string) []byte {
	var b []byte
	for _, c := range cols {
		b = LenEnc(b, uint64(len(c)))
		for _, s := range c {
			b = LenEncStr(b, s)
		}
	}
	return b
}

// Names encodes COLUMN_NAME metadata.
func Names(names ...string) []byte {
	var b []byte
	for _, s := range names {
		b = LenEncStr(b, s)
	}
	return b
}

// Cell is one encoded column value of a row image; nil means NULL.
type Cell []byte

// RowImage encodes one image: the NULL bitmap over the cells, then the non-NULL cells. cells
// holds only the columns present in the image.
func RowImage(cells ...Cell) []byte {
	nulls := make([]bool, len(cells))
	for i, c := range cells {
		nulls[i] = c == nil
	}
	b := LSBBitmap(nulls...)
	for _, c := range cells {
		b = append(b, c...)
	}
	return b
}

// RowsBody builds a rows event body. version 1 or 2; present lists the columns of the (first)
// image, present2 those of the after image of an update (nil otherwise); images are the
// encoded row images in order (for updates: before, after, before, after, …).
func RowsBody(version int, tableID uint64, flags uint16, ncols int, present, present2 []bool, images ...[]byte) []byte {
	var b []byte
	for i := 0; i < 6; i++ {
		b = append(b, byte(tableID>>(8*i)))
	}
	b = binary.LittleEndian.AppendUint16(b, flags)
	if version == 2 {
		b = binary.LittleEndian.AppendUint16(b, 2)
	}
	b = LenEnc(b, uint64(ncols))
	b = append(b, LSBBitmap(present...)...)
	if present2 != nil {
		b = append(b, LSBBitmap(present2...)...)
	}
	for _, im := range images {
		b = append(b, im...)
	}
	return b
}

// All returns n true values (every column present).
func All(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// Cell encoders.

// Int encodes a little-endian integer of size bytes (1, 2, 3, 4, 8).
func Int(v int64, size int) Cell {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

// Float encodes a FLOAT.
func Float(f float32) Cell { return binary.LittleEndian.AppendUint32(nil, math.Float32bits(f)) }

// Double encodes a DOUBLE.
func Double(f float64) Cell { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)) }

// VarString encodes a VARCHAR/STRING value with a 1- or 2-byte length.
func VarString(s string, lenBytes int) Cell {
	return append(Int(int64(len(s)), lenBytes), s...)
}

// Blob encodes a BLOB/TEXT/JSON/GEOMETRY/VECTOR value with a lenBytes (1–4) length.
func Blob(b []byte, lenBytes int) Cell {
	return append(Int(int64(len(b)), lenBytes), b...)
}

// Date encodes a DATE (3 bytes: day | month<<5 | year<<9).
func Date(y, m, d int) Cell { return Int(int64(d|m<<5|y<<9), 3) }

func fracBytes(us int64, fsp int) []byte {
	switch fsp {
	case 1, 2:
		return []byte{byte(us / 10000)}
	case 3, 4:
		v := us / 100
		return []byte{byte(v >> 8), byte(v)}
	case 5, 6:
		return []byte{byte(us >> 16), byte(us >> 8), byte(us)}
	}
	return nil
}

// DateTime2 encodes DATETIME2(fsp); us is the fraction in microseconds (already truncated to
// fsp digits).
func DateTime2(y, mo, d, h, mi, s int, us int64, fsp int) Cell {
	ym := int64(y*13 + mo)
	v := (ym<<5|int64(d))<<17 | int64(h<<12|mi<<6|s)
	v += 0x8000000000
	b := []byte{byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	return append(b, fracBytes(us, fsp)...)
}

// Timestamp2 encodes TIMESTAMP2(fsp): seconds big-endian, then the fraction.
func Timestamp2(sec int64, us int64, fsp int) Cell {
	b := binary.BigEndian.AppendUint32(nil, uint32(sec))
	return append(b, fracBytes(us, fsp)...)
}

// Time2 encodes TIME2(fsp) of a signed duration in microseconds.
func Time2(micros int64, fsp int) Cell {
	neg := micros < 0
	if neg {
		micros = -micros
	}
	sec := micros / 1e6
	us := micros % 1e6
	h, m, s := sec/3600, sec/60%60, sec%60
	hms := h<<12 | m<<6 | s
	var packed int64 // (hms << 24) + us, negated for negative times
	packed = hms<<24 + us
	if neg {
		packed = -packed
	}
	switch fsp {
	case 0:
		ip := packed >> 24
		v := ip + 0x800000
		return []byte{byte(v >> 16), byte(v >> 8), byte(v)}
	case 1, 2:
		ip := packed >> 24
		fr := (packed % (1 << 24)) / 10000 // C remainder: negative for negative times
		v := ip + 0x800000
		return []byte{byte(v >> 16), byte(v >> 8), byte(v), byte(fr)}
	case 3, 4:
		ip := packed >> 24
		fr := (packed % (1 << 24)) / 100
		v := ip + 0x800000
		return []byte{byte(v >> 16), byte(v >> 8), byte(v), byte(fr >> 8), byte(fr)}
	}
	v := packed + 0x800000000000
	return []byte{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

var dig2bytes = [10]int{0, 1, 1, 2, 2, 3, 3, 4, 4, 4}

// Decimal encodes the decimal text s ("-1234.50") as a packed DECIMAL(precision, scale); s
// must have exactly scale fraction digits.
func Decimal(s string, precision, scale int) Cell {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	intg := precision - scale
	for len(ip) < intg {
		ip = "0" + ip
	}
	for len(fp) < scale {
		fp += "0"
	}
	var b []byte
	put := func(d string, n int) {
		var v uint64
		for i := 0; i < len(d); i++ {
			v = v*10 + uint64(d[i]-'0')
		}
		for i := n - 1; i >= 0; i-- {
			b = append(b, byte(v>>(8*i)))
		}
	}
	if x := intg % 9; x > 0 {
		put(ip[:x], dig2bytes[x])
		ip = ip[x:]
	}
	for ; len(ip) >= 9; ip = ip[9:] {
		put(ip[:9], 4)
	}
	for ; len(fp) >= 9; fp = fp[9:] {
		put(fp[:9], 4)
	}
	if len(fp) > 0 {
		put(fp, dig2bytes[len(fp)])
	}
	b[0] ^= 0x80
	if neg {
		for i := range b {
			b[i] ^= 0xff
		}
	}
	return b
}
