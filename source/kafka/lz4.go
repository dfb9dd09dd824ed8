package kafka

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/pierrec/lz4/v4"
)

// Kafka's lz4 codec is the LZ4 frame format (the lz4 spec's lz4_Frame_format.md): a magic
// number, a descriptor, then blocks of at most the descriptor's block size, each a 4-byte
// little-endian length (high bit set: stored uncompressed; 0: the end mark), and an optional
// 4-byte content checksum after the end mark. A frame of two blocks, as Java's producer writes
// it (64 KiB independent blocks, no checksums):
//
//	04 22 4d 18          magic 0x184D2204
//	60 40 82             FLG 0x60 (version 01, independent blocks), BD 0x40 (64 KiB), header checksum
//	a3 0f 00 00 <4003 bytes>   block 1: 4003 compressed bytes
//	21 00 00 80 <33 bytes>     block 2: 33 bytes stored (high bit)
//	00 00 00 00          end mark
//
// lz4Frame decodes that common shape straight into the pooled buffer with the block decoder.
// Through franz-go's default decompressor (pierrec/lz4's streaming Reader behind a
// bytes.Buffer), each block was first decoded into the reader's own block buffer and copied
// out (sarama and franz-go producers write 4 MiB blocks, larger than the room bytes.Buffer
// offers), and the content checksum (xxh32 over every decompressed byte) was computed: on the
// bench's records with schemas the two were half of the consumer's lz4 CPU.
//
// The content checksum is skipped, as Kafka's own Java consumer skips it: the record batch's
// CRC-32C covers the compressed bytes end to end (franz-go verifies it on every fetch; this
// package never disables that), so a corrupted frame is refused before it gets here, and the
// block decoder refuses any block that does not decode to within its bounds. Frames with
// features Kafka's producers do not write (dependent blocks, block checksums, a dictionary,
// several frames in one batch, the legacy format) are left to the default decompressor, which
// checks everything; so is any frame this decoder cannot finish.

const (
	lz4Magic          = 0x184D2204
	lz4Uncompressed   = 1 << 31
	lz4FlagVersion    = 0xC0
	lz4FlagIndep      = 0x20
	lz4FlagBlockCheck = 0x10
	lz4FlagSize       = 0x08
	lz4FlagChecksum   = 0x04
	lz4FlagReserved   = 0x02
	lz4FlagDict       = 0x01
)

// errLZ4Other: the frame is valid LZ4 but not the shape lz4Frame decodes; use the general
// decoder.
var errLZ4Other = errors.New("lz4 frame: not the common shape")

// lz4Frame decodes the single LZ4 frame src into dst's capacity (from index 0) and returns the
// content; it allocates only when the frame does not fit (a buffer from decompressPool usually
// does). It fails with errLZ4Other for any frame it leaves to the general decoder: other
// shapes, corrupt input, and content over limit bytes (the general decoder reports each
// precisely).
func lz4Frame(dst, src []byte, limit int) ([]byte, error) {
	dst = dst[:0]
	if len(src) < 7 || binary.LittleEndian.Uint32(src) != lz4Magic {
		return nil, errLZ4Other
	}
	flg, bd := src[4], src[5]
	if flg&lz4FlagVersion != 0x40 || flg&(lz4FlagReserved|lz4FlagDict|lz4FlagBlockCheck) != 0 || flg&lz4FlagIndep == 0 || bd&0x8F != 0 {
		return nil, errLZ4Other
	}
	var blockMax int
	switch bd >> 4 & 7 {
	case 4:
		blockMax = 64 << 10
	case 5:
		blockMax = 256 << 10
	case 6:
		blockMax = 1 << 20
	case 7:
		blockMax = 4 << 20
	default:
		return nil, errLZ4Other
	}
	i := 6
	if flg&lz4FlagSize != 0 {
		if len(src) < i+8 {
			return nil, errLZ4Other
		}
		if n := binary.LittleEndian.Uint64(src[i:]); n <= uint64(limit) && cap(dst) < int(n) {
			dst = make([]byte, 0, int(n))
		}
		i += 8
	}
	if len(src) <= i || src[i] != lz4HeaderChecksum(src[4:i]) {
		return nil, errLZ4Other // magic v0 batches carry a wrong one; the general decoder decides
	}
	i++
	for {
		if len(src) < i+4 {
			return nil, errLZ4Other
		}
		n := binary.LittleEndian.Uint32(src[i:])
		i += 4
		if n == 0 {
			break
		}
		size := int(n &^ lz4Uncompressed)
		if size > blockMax || len(src) < i+size {
			return nil, errLZ4Other
		}
		block := src[i : i+size]
		i += size
		if n&lz4Uncompressed != 0 {
			if len(dst)+size > limit {
				return nil, errLZ4Other
			}
			dst = append(dst, block...)
			continue
		}
		// Decode into the free capacity, at most a block's size (a block must not decode to
		// more). A buffer sized to the topic's inflation rarely misses; when it does, the
		// block's decoded size is read from its sequences and the buffer grown to fit it
		// (growing by the frame's block size, 4 MiB from franz-go and sarama, made buffers of
		// 5 MB for 1 MB batches, which the pool then kept).
		free := dst[len(dst):min(cap(dst), len(dst)+blockMax)]
		k, err := lz4.UncompressBlock(block, free)
		if err != nil && len(free) < blockMax {
			need, ok := lz4BlockSize(block)
			if !ok || need > blockMax || len(dst)+need > limit {
				return nil, errLZ4Other
			}
			grown := make([]byte, len(dst), max(len(dst)+need, cap(dst)+cap(dst)/4)) // geometric: frames of many blocks
			copy(grown, dst)
			dst = grown
			k, err = lz4.UncompressBlock(block, dst[len(dst):len(dst)+need])
		}
		if err != nil || len(dst)+k > limit {
			return nil, errLZ4Other
		}
		dst = dst[:len(dst)+k]
	}
	if flg&lz4FlagChecksum != 0 {
		i += 4
	}
	if i != len(src) { // a second frame, or a truncated checksum
		return nil, errLZ4Other
	}
	return dst, nil
}

// lz4HeaderChecksum is the frame descriptor's checksum: the second byte of xxh32 (seed 0) of
// the descriptor, which is at most 11 bytes (so xxh32's 16-byte stripes never run).
func lz4HeaderChecksum(desc []byte) byte {
	const p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
	h := uint32(p5) + uint32(len(desc))
	for ; len(desc) >= 4; desc = desc[4:] {
		h = bits.RotateLeft32(h+binary.LittleEndian.Uint32(desc)*p3, 17) * p4
	}
	for _, c := range desc {
		h = bits.RotateLeft32(h+uint32(c)*p5, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return byte(h >> 8)
}

// lz4BlockSize is the decoded size of an LZ4 block, read from its sequences without decoding
// them: each is a token (literal length, match length − 4, each 15 meaning "more bytes
// follow, 255 meaning more again"), the literals, and a 2-byte match offset; the last
// sequence has literals only. ok is false when the block ends inside a sequence.
func lz4BlockSize(src []byte) (n int, ok bool) {
	i := 0
	more := func(l int) (int, bool) {
		for {
			if i >= len(src) {
				return 0, false
			}
			b := src[i]
			i++
			l += int(b)
			if b != 255 {
				return l, true
			}
		}
	}
	for i < len(src) {
		tok := src[i]
		i++
		lit := int(tok >> 4)
		if lit == 15 {
			if lit, ok = more(lit); !ok {
				return 0, false
			}
		}
		if lit > len(src)-i {
			return 0, false
		}
		i += lit
		n += lit
		if i == len(src) {
			return n, true
		}
		i += 2 // the match offset
		match := int(tok & 15)
		if match == 15 {
			if match, ok = more(match); !ok {
				return 0, false
			}
		}
		n += match + 4
	}
	return 0, false
}
