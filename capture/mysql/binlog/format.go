package binlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// ChecksumAlg is the binlog checksum algorithm (binlog_checksum), coded as the server codes it
// in FORMAT_DESCRIPTION.
type ChecksumAlg uint8

const (
	ChecksumOff       ChecksumAlg = 0
	ChecksumCRC32     ChecksumAlg = 1
	ChecksumUndefined ChecksumAlg = 255
)

// ChecksumSize is the size of a CRC32 event checksum.
const ChecksumSize = 4

// String returns the server's name for the algorithm.
func (a ChecksumAlg) String() string {
	switch a {
	case ChecksumOff:
		return "NONE"
	case ChecksumCRC32:
		return "CRC32"
	case ChecksumUndefined:
		return "UNDEFINED"
	}
	return fmt.Sprintf("CHECKSUM_%d", uint8(a))
}

// ParseChecksumAlg parses the value of @@binlog_checksum ("CRC32", "NONE").
func ParseChecksumAlg(s string) (ChecksumAlg, error) {
	switch {
	case equalFold(s, "CRC32"):
		return ChecksumCRC32, nil
	case equalFold(s, "NONE"), s == "":
		return ChecksumOff, nil
	}
	return ChecksumUndefined, fmt.Errorf("%w: binlog checksum %q", ErrUnsupported, s)
}

func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

// VerifyChecksum checks the CRC32 (IEEE) stored in the last 4 bytes of a whole event against
// the bytes before it.
func VerifyChecksum(event []byte) error {
	if len(event) < HeaderSize+ChecksumSize {
		return ErrTruncated
	}
	n := len(event) - ChecksumSize
	want := binary.LittleEndian.Uint32(event[n:])
	if got := crc32.ChecksumIEEE(event[:n]); got != want {
		return fmt.Errorf("%w: stored %08x, computed %08x", ErrChecksum, want, got)
	}
	return nil
}

// FlagBinlogInUse is set in the FORMAT_DESCRIPTION header of a binlog file the server still
// writes; the server clears it on close and computed the checksum without it.
const FlagBinlogInUse uint16 = 0x1

// verifyFormatChecksum checks a FORMAT_DESCRIPTION's CRC32, also as if FlagBinlogInUse were
// clear (the form the checksum was computed over).
func verifyFormatChecksum(event []byte) error {
	err := VerifyChecksum(event)
	if err == nil || len(event) < HeaderSize+ChecksumSize || event[17]&byte(FlagBinlogInUse) == 0 {
		return err
	}
	var h [HeaderSize]byte
	copy(h[:], event)
	h[17] &^= byte(FlagBinlogInUse)
	n := len(event) - ChecksumSize
	if crc32.Update(crc32.ChecksumIEEE(h[:]), crc32.IEEETable, event[HeaderSize:n]) == binary.LittleEndian.Uint32(event[n:]) {
		return nil
	}
	return err
}

// FormatDescription is FORMAT_DESCRIPTION_EVENT: how the rest of the binlog file is encoded.
type FormatDescription struct {
	BinlogVersion uint16 // 4
	ServerVersion string // e.g. "8.0.36", "10.11.6-MariaDB-log"
	CreateTime    uint32
	HeaderLength  uint8 // 19
	// PostHeaderLengths[t-1] is the post-header length of event type t.
	PostHeaderLengths []byte
	// Checksum is the algorithm of every later event in this file (the FORMAT_DESCRIPTION
	// itself always carries a checksum slot on servers that know checksums).
	Checksum ChecksumAlg
}

// IsMariaDB reports whether the server version string names MariaDB.
func (f *FormatDescription) IsMariaDB() bool {
	return bytes.Contains([]byte(f.ServerVersion), []byte("MariaDB"))
}

// postHeaderLen returns the post-header length of t, or def when the table has no entry.
func (f *FormatDescription) postHeaderLen(t EventType, def int) int {
	if i := int(t) - 1; i >= 0 && i < len(f.PostHeaderLengths) {
		return int(f.PostHeaderLengths[i])
	}
	return def
}

// ParseFormatDescription decodes the body (after the 19-byte header) of a
// FORMAT_DESCRIPTION_EVENT, including its trailing checksum slot when present. The returned
// PostHeaderLengths is a copy.
func ParseFormatDescription(body []byte) (FormatDescription, error) {
	var f FormatDescription
	r := reader{b: body}
	f.BinlogVersion = r.u16()
	sv := r.bytes(50)
	f.CreateTime = r.u32()
	f.HeaderLength = r.u8()
	if r.bad {
		return f, fmt.Errorf("%w: FORMAT_DESCRIPTION of %d bytes", ErrTruncated, len(body))
	}
	if i := bytes.IndexByte(sv, 0); i >= 0 {
		sv = sv[:i]
	}
	f.ServerVersion = string(sv)
	if f.BinlogVersion != 4 {
		return f, fmt.Errorf("%w: binlog version %d (only v4)", ErrUnsupported, f.BinlogVersion)
	}
	if f.HeaderLength < HeaderSize {
		return f, fmt.Errorf("%w: header length %d", ErrTruncated, f.HeaderLength)
	}
	rest := r.rest()
	// Servers that know checksums (MySQL 5.6.1+, MariaDB 5.3+) end the event with the
	// algorithm byte and a 4-byte checksum slot.
	f.Checksum = ChecksumUndefined
	if versionHasChecksum(f.ServerVersion) && len(rest) >= 5 {
		f.Checksum = ChecksumAlg(rest[len(rest)-5])
		rest = rest[:len(rest)-5]
	}
	f.PostHeaderLengths = append([]byte(nil), rest...)
	return f, nil
}

// versionHasChecksum reports whether a server of this version writes the checksum algorithm
// into FORMAT_DESCRIPTION (MySQL ≥ 5.6.1; MariaDB ≥ 5.3; every 10.x and later).
func versionHasChecksum(v string) bool {
	var nums [3]int
	n := 0
	for i := 0; i < len(v) && n < 3; i++ {
		c := v[i]
		if c >= '0' && c <= '9' {
			nums[n] = nums[n]*10 + int(c-'0')
			if nums[n] > 1000 {
				return true
			}
			continue
		}
		if c != '.' {
			break
		}
		n++
	}
	a, b, c := nums[0], nums[1], nums[2]
	if a != 5 {
		return a > 5
	}
	if bytes.Contains([]byte(v), []byte("MariaDB")) {
		return b >= 3
	}
	return b > 6 || b == 6 && c >= 1
}
