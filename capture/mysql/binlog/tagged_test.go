package binlog

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// putVarUint encodes the serialization library's variable-length unsigned integer.
func putVarUint(dst []byte, v uint64) []byte {
	for n := 1; n <= 8; n++ {
		if v < 1<<(7*n) {
			x := v<<n | (1<<(n-1) - 1)
			for i := 0; i < n; i++ {
				dst = append(dst, byte(x>>(8*i)))
			}
			return dst
		}
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xff), v)
}

func putVarInt(dst []byte, v int64) []byte {
	if v < 0 {
		return putVarUint(dst, uint64(-(v+1))<<1|1)
	}
	return putVarUint(dst, uint64(v)<<1)
}

func TestVarUint(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 16383, 16384, 1 << 40, 1<<56 - 1, 1 << 56, ^uint64(0)} {
		b := putVarUint(nil, v)
		r := reader{b: b}
		if got := r.varUint(); got != v || r.bad || r.rem() != 0 {
			t.Errorf("varUint(%x) = %d (bad %v, rem %d), want %d", b, got, r.bad, r.rem(), v)
		}
	}
	for _, v := range []int64{0, -1, 1, -64, 64, -1 << 62, 1<<63 - 1, -1 << 63} {
		r := reader{b: putVarInt(nil, v)}
		if got := r.varInt(); got != v || r.bad {
			t.Errorf("varInt = %d, want %d", got, v)
		}
	}
}

func TestTaggedGTID(t *testing.T) {
	// SET gtid_next = 'AUTOMATIC:sluice_tag'; DELETE … on MySQL 9.7 (GTID_TAGGED_LOG_EVENT).
	var f []byte
	f = putVarUint(f, 0)
	f = putVarUint(f, 0)
	f = putVarUint(f, 1)
	for _, c := range sid {
		f = putVarUint(f, uint64(c))
	}
	f = putVarUint(f, 2)
	f = putVarInt(f, 42)
	f = putVarUint(f, 3)
	f = putVarUint(f, 10)
	f = append(f, "sluice_tag"...)
	f = putVarUint(f, 4)
	f = putVarInt(f, 7)
	f = putVarUint(f, 5)
	f = putVarInt(f, 8)
	f = putVarUint(f, 6)
	f = putVarUint(f, 1700000000123456)
	f = putVarUint(f, 8)
	f = putVarUint(f, 999)
	f = putVarUint(f, 9)
	f = putVarUint(f, 90700)
	lnif := putVarUint(nil, 5)
	size := 1 + 1 + len(lnif) + len(f) // version, size (one byte here), lnif, fields
	body := append([]byte{2}, putVarUint(nil, uint64(size))...)
	body = append(append(body, lnif...), f...)
	var g GTID
	if err := parseTaggedGTID(body, &g); err != nil {
		t.Fatal(err)
	}
	if g.String() != "3e11fa47-71ca-11e1-9e33-c80aa9429562:sluice_tag:42" || g.LastCommitted != 7 || g.SequenceNumber != 8 ||
		g.ImmediateCommitTimestamp != 1700000000123456 || g.OriginalCommitTimestamp != 1700000000123456 ||
		g.TransactionLength != 999 || g.OriginalServerVersion != 90700 {
		t.Errorf("gtid = %+v (%s)", g, g.String())
	}
	// An unknown field the server marks as needed is an error.
	bad := append([]byte{2}, putVarUint(nil, uint64(1+1+1+2))...)
	bad = append(bad, putVarUint(nil, 20)...)
	bad = append(bad, putVarUint(nil, 12)...)
	bad = append(bad, 0)
	if err := parseTaggedGTID(bad, &g); err == nil {
		t.Error("unknown non-ignorable field accepted")
	}
	// Tagged PREVIOUS_GTIDS: format byte 1 at the top and bottom, count in between.
	pg := binary.LittleEndian.AppendUint64(nil, 1<<56|1<<8|1)
	pg = append(pg, sid[:]...)
	pg = putVarUint(pg, 3)
	pg = append(pg, "abc"...)
	pg = binary.LittleEndian.AppendUint64(pg, 1)
	pg = binary.LittleEndian.AppendUint64(pg, 1)
	pg = binary.LittleEndian.AppendUint64(pg, 3)
	set, err := DecodeMySQLGTIDSet(pg)
	if err != nil || set.String() != "3e11fa47-71ca-11e1-9e33-c80aa9429562:abc:1-2" {
		t.Errorf("tagged set = %s, %v", set, err)
	}
}

func TestFormatDescriptionInUse(t *testing.T) {
	// A binlog file the server still writes has LOG_EVENT_BINLOG_IN_USE_F in its
	// FORMAT_DESCRIPTION header; the checksum was computed without it.
	s := testkit.NewBinlogStream(1)
	fde := s.FormatDescription("9.7.4")
	fde[17] |= 1
	if _, err := NewDecoder(Config{}).Decode(fde); err != nil {
		t.Fatal(err)
	}
	n := len(fde) - 4
	binary.LittleEndian.PutUint32(fde[n:], crc32.ChecksumIEEE(fde[:n])^1)
	if _, err := NewDecoder(Config{}).Decode(fde); err == nil {
		t.Fatal("bad checksum accepted")
	}
}
