package binlog

import (
	"encoding/binary"
	"fmt"
)

// HeaderSize is the size of the v4 event header.
const HeaderSize = 19

// Header flags.
const (
	// FlagArtificial marks events the source made up for the replica (the first ROTATE of a
	// dump); they have LogPos 0 and do not move the replication position.
	FlagArtificial uint16 = 0x20
	// FlagRelayLog marks events written by a replica's SQL thread.
	FlagRelayLog uint16 = 0x40
)

// Header is the v4 event header: timestamp(4) type(1) server_id(4) event_size(4) log_pos(4)
// flags(2), little-endian.
type Header struct {
	Timestamp uint32 // seconds since the epoch when the statement started
	Type      EventType
	ServerID  uint32
	EventSize uint32 // header + body + checksum
	LogPos    uint32 // position of the next event in the source's binlog file (0 if artificial)
	Flags     uint16
}

// ParseHeader decodes the first HeaderSize bytes of b. It checks only that b is long enough
// and that EventSize covers at least the header.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, header needs %d", ErrTruncated, len(b), HeaderSize)
	}
	h := Header{
		Timestamp: binary.LittleEndian.Uint32(b),
		Type:      EventType(b[4]),
		ServerID:  binary.LittleEndian.Uint32(b[5:]),
		EventSize: binary.LittleEndian.Uint32(b[9:]),
		LogPos:    binary.LittleEndian.Uint32(b[13:]),
		Flags:     binary.LittleEndian.Uint16(b[17:]),
	}
	if h.EventSize < HeaderSize {
		return h, fmt.Errorf("%w: event_size %d below header size", ErrTruncated, h.EventSize)
	}
	return h, nil
}

// AppendHeader appends the encoded header.
func AppendHeader(dst []byte, h Header) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, h.Timestamp)
	dst = append(dst, byte(h.Type))
	dst = binary.LittleEndian.AppendUint32(dst, h.ServerID)
	dst = binary.LittleEndian.AppendUint32(dst, h.EventSize)
	dst = binary.LittleEndian.AppendUint32(dst, h.LogPos)
	return binary.LittleEndian.AppendUint16(dst, h.Flags)
}
