package binlog

import "strconv"

// appendLogical formats MariaDB's UUID/INET4/INET6 storage bytes as text; ok is false when
// the length does not fit the type (the caller then keeps the raw value). The binlog stores
// these fixed-size binary values like BINARY(n): trailing zero bytes stripped (seen on MariaDB
// 10.11: UUID '…-426655440000' arrives as 14 bytes), and in the text order (not the
// index-friendly swapped order), so the value is zero-padded back to its size.
func appendLogical(dst, b []byte, t LogicalType) ([]byte, bool) {
	size := 16
	if t == LogicalINET4 {
		size = 4
	}
	if len(b) < size {
		var buf [16]byte
		copy(buf[:], b)
		b = buf[:size]
	}
	switch t {
	case LogicalUUID:
		if len(b) != 16 {
			return dst, false
		}
		var u UUID
		copy(u[:], b)
		return u.Append(dst), true
	case LogicalINET4:
		if len(b) != 4 {
			return dst, false
		}
		return appendIPv4(dst, b), true
	case LogicalINET6:
		if len(b) != 16 {
			return dst, false
		}
		return appendIPv6(dst, b), true
	}
	return dst, false
}

func appendIPv4(dst, b []byte) []byte {
	for i, c := range b {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return dst
}

// appendIPv6 formats as inet_ntop does: the longest run (≥ 2) of zero groups becomes "::",
// and IPv4-compatible/mapped addresses end in dotted quad.
func appendIPv6(dst, b []byte) []byte {
	var g [8]uint16
	for i := range g {
		g[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	best, bestLen, cur, curLen := -1, 0, -1, 0
	for i := 0; i < 8; i++ {
		if g[i] == 0 {
			if cur < 0 {
				cur, curLen = i, 0
			}
			curLen++
			if curLen > bestLen {
				best, bestLen = cur, curLen
			}
		} else {
			cur = -1
		}
	}
	if bestLen < 2 {
		best = -1
	}
	v4 := best == 0 && (bestLen == 6 || bestLen == 5 && g[5] == 0xffff)
	for i := 0; i < 8; i++ {
		if best >= 0 && i >= best && i < best+bestLen {
			if i == best {
				dst = append(dst, ':')
				if i == 0 {
					dst = append(dst, ':')
				}
			}
			continue
		}
		if v4 && i == 6 {
			return appendIPv4(dst, b[12:])
		}
		dst = strconv.AppendUint(dst, uint64(g[i]), 16)
		if i < 7 {
			dst = append(dst, ':')
		}
	}
	return dst
}
