package binlog

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func errBadUUID(s string) error { return fmt.Errorf("binlog: bad server UUID %q", s) }

// Interval is a closed range of transaction numbers [Start, End] (the text form "Start-End";
// the binary form stores End+1).
type Interval struct {
	Start, End int64
}

// UUIDSet is the transactions of one source (and tag, MySQL 8.4+) in a MySQLGTIDSet. Intervals
// are sorted, non-overlapping and non-adjacent.
type UUIDSet struct {
	SID       UUID
	Tag       string // "" for untagged GTIDs
	Intervals []Interval
}

// MySQLGTIDSet is an Oracle MySQL GTID set (gtid_executed): per source UUID (and tag) a list
// of intervals. Entries are kept sorted by UUID then tag, as the server prints them. The zero
// value is the empty set.
type MySQLGTIDSet []UUIDSet

// ParseMySQLGTIDSet parses the text form: "uuid:1-5:7,uuid2:1-3" with optional whitespace
// and newlines after commas (as @@gtid_executed prints), and MySQL 8.4 tags
// ("uuid:1-5:tag:1-2").
func ParseMySQLGTIDSet(s string) (MySQLGTIDSet, error) {
	var set MySQLGTIDSet
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fields := strings.Split(part, ":")
		sid, err := ParseUUID(strings.TrimSpace(fields[0]))
		if err != nil {
			return nil, err
		}
		if len(fields) == 1 {
			return nil, fmt.Errorf("binlog: GTID set %q: %q has no interval", s, part)
		}
		tag := ""
		for _, f := range fields[1:] {
			f = strings.TrimSpace(f)
			if f == "" {
				return nil, fmt.Errorf("binlog: GTID set %q: empty interval in %q", s, part)
			}
			if c := f[0]; c < '0' || c > '9' {
				if !validTag(f) {
					return nil, fmt.Errorf("binlog: GTID set %q: bad tag %q", s, f)
				}
				tag = strings.ToLower(f)
				continue
			}
			iv, err := parseInterval(f)
			if err != nil {
				return nil, fmt.Errorf("binlog: GTID set %q: %w", s, err)
			}
			set.AddInterval(sid, tag, iv)
		}
	}
	return set, nil
}

func validTag(t string) bool {
	if len(t) > 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func parseInterval(f string) (Interval, error) {
	a, b, found := strings.Cut(f, "-")
	// The server refuses 2^63-1 (GNO_END): the binary form stores End+1.
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 1 || start > maxGNO {
		return Interval{}, fmt.Errorf("bad interval %q", f)
	}
	end := start
	if found {
		end, err = strconv.ParseInt(b, 10, 64)
		if err != nil || end < start || end > maxGNO {
			return Interval{}, fmt.Errorf("bad interval %q", f)
		}
	}
	return Interval{start, end}, nil
}

func (s MySQLGTIDSet) find(sid UUID, tag string) (int, bool) {
	return slices.BinarySearchFunc(s, UUIDSet{SID: sid, Tag: tag}, cmpUUIDSet)
}

func cmpUUIDSet(a, b UUIDSet) int {
	if c := cmpBytes(a.SID[:], b.SID[:]); c != 0 {
		return c
	}
	return strings.Compare(a.Tag, b.Tag)
}

func cmpBytes(a, b []byte) int { return strings.Compare(string(a), string(b)) }

// AddInterval adds iv for (sid, tag), merging overlapping and adjacent intervals.
func (s *MySQLGTIDSet) AddInterval(sid UUID, tag string, iv Interval) {
	if iv.End < iv.Start {
		return
	}
	i, ok := s.find(sid, tag)
	if !ok {
		*s = slices.Insert(*s, i, UUIDSet{SID: sid, Tag: tag})
	}
	u := &(*s)[i]
	u.Intervals = addInterval(u.Intervals, iv)
}

func addInterval(ivs []Interval, iv Interval) []Interval {
	// First interval that could touch iv: End >= iv.Start-1.
	i, _ := slices.BinarySearchFunc(ivs, iv.Start, func(x Interval, start int64) int {
		return cmp.Compare(x.End, start-1)
	})
	j := i
	for j < len(ivs) && ivs[j].Start-1 <= iv.End {
		iv.Start = min(iv.Start, ivs[j].Start)
		iv.End = max(iv.End, ivs[j].End)
		j++
	}
	return slices.Replace(ivs, i, j, iv)
}

// Add adds one transaction.
func (s *MySQLGTIDSet) Add(sid UUID, tag string, gno int64) {
	s.AddInterval(sid, tag, Interval{gno, gno})
}

// Union adds every transaction of o to s.
func (s *MySQLGTIDSet) Union(o MySQLGTIDSet) {
	for _, u := range o {
		for _, iv := range u.Intervals {
			s.AddInterval(u.SID, u.Tag, iv)
		}
	}
}

// ContainsGTID reports whether (sid, tag, gno) is in s.
func (s MySQLGTIDSet) ContainsGTID(sid UUID, tag string, gno int64) bool {
	i, ok := s.find(sid, tag)
	if !ok {
		return false
	}
	ivs := s[i].Intervals
	j, _ := slices.BinarySearchFunc(ivs, gno, func(x Interval, g int64) int { return cmp.Compare(x.End, g) })
	return j < len(ivs) && ivs[j].Start <= gno
}

// Contains reports whether every transaction of o is in s.
func (s MySQLGTIDSet) Contains(o MySQLGTIDSet) bool {
	for _, u := range o {
		i, ok := s.find(u.SID, u.Tag)
		if !ok {
			if len(u.Intervals) == 0 {
				continue
			}
			return false
		}
		ivs := s[i].Intervals
		for _, iv := range u.Intervals {
			j, _ := slices.BinarySearchFunc(ivs, iv.Start, func(x Interval, g int64) int { return cmp.Compare(x.End, g) })
			if j == len(ivs) || ivs[j].Start > iv.Start || ivs[j].End < iv.End {
				return false
			}
		}
	}
	return true
}

// Equal reports whether s and o hold the same transactions.
func (s MySQLGTIDSet) Equal(o MySQLGTIDSet) bool { return s.Contains(o) && o.Contains(s) }

// Clone returns a deep copy.
func (s MySQLGTIDSet) Clone() MySQLGTIDSet {
	if s == nil {
		return nil
	}
	c := make(MySQLGTIDSet, len(s))
	for i, u := range s {
		c[i] = UUIDSet{SID: u.SID, Tag: u.Tag, Intervals: slices.Clone(u.Intervals)}
	}
	return c
}

// String returns the canonical text: UUIDs in order, intervals ascending, entries joined by
// "," (the server's @@gtid_executed joins with ",\n"; Debezium offsets strip the newline).
// Tagged intervals follow the untagged ones of the same UUID: "uuid:1-5:tag:1-2".
func (s MySQLGTIDSet) String() string { return string(s.Append(nil)) }

// Append appends the text form of s.
func (s MySQLGTIDSet) Append(dst []byte) []byte {
	first := true
	for i, u := range s {
		if len(u.Intervals) == 0 {
			continue
		}
		if i == 0 || s[i-1].SID != u.SID || first {
			if !first {
				dst = append(dst, ',')
			}
			dst = u.SID.Append(dst)
			first = false
		}
		if u.Tag != "" {
			dst = append(dst, ':')
			dst = append(dst, u.Tag...)
		}
		for _, iv := range u.Intervals {
			dst = append(dst, ':')
			dst = strconv.AppendInt(dst, iv.Start, 10)
			if iv.End != iv.Start {
				dst = append(dst, '-')
				dst = strconv.AppendInt(dst, iv.End, 10)
			}
		}
	}
	return dst
}

// GTID set binary formats: the top byte of the first uint64 of the encoding.
const (
	gtidFormatUntagged = 0 // every server: the whole uint64 is the entry count
	gtidFormatTagged   = 1 // MySQL 8.3+: needed as soon as one entry has a tag
	maxTagLen          = 32
	maxGNO             = 1<<63 - 2 // GNO_END (INT64_MAX) is exclusive, and End+1 must fit
)

// AppendBinary appends the encoding COM_BINLOG_DUMP_GTID and PREVIOUS_GTIDS use, as the
// server's Gtid_set::encode writes it. Without tags (every server):
//
//	n_sids(8) then per UUID: uuid(16) n_intervals(8) and (start, end+1) pairs (8 bytes each)
//
// With at least one tag (MySQL 8.3+; older servers have no tags), the tagged format: the first
// uint64 is format<<56 | n<<8 | format with format 1, n counting (UUID, tag) entries, and each
// entry has its tag between the UUID and n_intervals as a length (the serialization library's
// variable-length integer, one byte len<<1 for tags of up to 32 characters) and the lowercase
// tag; an untagged entry has the length 0. Example, "uuid:1-2:ab:5":
//
//	01 02 00 00 00 00 00 01            format 1, 2 entries, format 1
//	<uuid> 00 01..00 01..00 03..00     untagged: 1 interval [1, 3)
//	<uuid> 04 'a' 'b' 01..00 05..00 06..00   tag "ab" (2<<1 = 04): [5, 6)
//
// Entries are written in (UUID, tag) order, untagged first, as the server sorts them. It fails
// only for a set the server would refuse: a bad tag or a transaction number of 2^63-1.
func (s MySQLGTIDSet) AppendBinary(dst []byte) ([]byte, error) {
	n, tagged := 0, false
	for _, u := range s {
		if len(u.Intervals) == 0 {
			continue
		}
		n++
		if u.Tag != "" {
			if !validTag(u.Tag) || strings.ToLower(u.Tag) != u.Tag {
				return dst, fmt.Errorf("binlog: GTID set: bad tag %q of %s", u.Tag, u.SID)
			}
			tagged = true
		}
		if last := u.Intervals[len(u.Intervals)-1]; last.End > maxGNO {
			return dst, fmt.Errorf("binlog: GTID set: transaction number %d of %s is out of range", last.End, u.SID)
		}
	}
	if tagged {
		dst = binary.LittleEndian.AppendUint64(dst, gtidFormatTagged<<56|uint64(n)<<8|gtidFormatTagged)
	} else {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(n))
	}
	for _, u := range s {
		if len(u.Intervals) == 0 {
			continue
		}
		dst = append(dst, u.SID[:]...)
		if tagged {
			dst = append(dst, byte(len(u.Tag))<<1) // one-byte variable-length integer: len <= 32
			dst = append(dst, u.Tag...)
		}
		dst = binary.LittleEndian.AppendUint64(dst, uint64(len(u.Intervals)))
		for _, iv := range u.Intervals {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(iv.Start))
			dst = binary.LittleEndian.AppendUint64(dst, uint64(iv.End)+1)
		}
	}
	return dst, nil
}

// DecodeMySQLGTIDSet decodes the binary form written by AppendBinary (the body of
// PREVIOUS_GTIDS_LOG_EVENT and of COM_BINLOG_DUMP_GTID's set), untagged or tagged. Like the
// server it rejects an unknown format, a bad tag and an interval that is empty or not after
// the previous one of its entry; the bytes must be exactly one set.
func DecodeMySQLGTIDSet(b []byte) (MySQLGTIDSet, error) {
	r := reader{b: b}
	n := r.u64()
	tagged := false
	switch n >> 56 {
	case gtidFormatUntagged:
	case gtidFormatTagged:
		tagged = true
		n = n >> 8 & (1<<48 - 1)
	default:
		return nil, fmt.Errorf("%w: GTID set format %d", ErrTruncated, n>>56)
	}
	if n > uint64(r.rem()/24) {
		return nil, truncated("GTID set count")
	}
	var set MySQLGTIDSet
	for i := uint64(0); i < n && !r.bad; i++ {
		var sid UUID
		copy(sid[:], r.bytes(16))
		tag := ""
		if tagged {
			tl := r.varUint()
			if tl > maxTagLen || tl > uint64(r.rem()) {
				return nil, truncated("GTID set tag")
			}
			tag = string(r.bytes(int(tl)))
			if tag != "" && !validTag(tag) {
				return nil, fmt.Errorf("%w: GTID set tag %q", ErrTruncated, tag)
			}
			tag = strings.ToLower(tag)
		}
		k := r.u64()
		if k > uint64(r.rem()/16) {
			return nil, truncated("GTID set intervals")
		}
		last := int64(0)
		for j := uint64(0); j < k; j++ {
			start, end := int64(r.u64()), int64(r.u64())
			if start <= last || end <= start {
				return nil, fmt.Errorf("%w: GTID interval [%d,%d)", ErrTruncated, start, end)
			}
			last = end
			set.AddInterval(sid, tag, Interval{start, end - 1})
		}
	}
	if r.bad {
		return nil, truncated("GTID set")
	}
	if r.rem() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the GTID set", ErrTruncated, r.rem())
	}
	return set, nil
}

// MariaDBGTID is a MariaDB GTID domain-server-sequence.
type MariaDBGTID struct {
	Domain   uint32
	Server   uint32
	Sequence uint64
}

// String returns "domain-server-sequence".
func (g MariaDBGTID) String() string { return string(g.Append(nil)) }

// Append appends the text form.
func (g MariaDBGTID) Append(dst []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(g.Domain), 10)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, uint64(g.Server), 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, g.Sequence, 10)
}

// ParseMariaDBGTID parses "domain-server-sequence".
func ParseMariaDBGTID(s string) (MariaDBGTID, error) {
	var g MariaDBGTID
	p := strings.Split(strings.TrimSpace(s), "-")
	if len(p) != 3 {
		return g, fmt.Errorf("binlog: bad MariaDB GTID %q", s)
	}
	d, err1 := strconv.ParseUint(p[0], 10, 32)
	sv, err2 := strconv.ParseUint(p[1], 10, 32)
	q, err3 := strconv.ParseUint(p[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return g, fmt.Errorf("binlog: bad MariaDB GTID %q", s)
	}
	return MariaDBGTID{uint32(d), uint32(sv), q}, nil
}

// MariaDBGTIDSet is a MariaDB GTID position (gtid_slave_pos, gtid_binlog_pos): the last GTID
// per replication domain, kept sorted by domain. A GTID_LIST event may list several server ids
// per domain; sets built by Add/Union keep one entry per domain.
type MariaDBGTIDSet []MariaDBGTID

// ParseMariaDBGTIDSet parses a comma-separated list "0-1-100,1-2-5" (empty string = empty
// set). A domain given twice is an error, as in the server.
func ParseMariaDBGTIDSet(s string) (MariaDBGTIDSet, error) {
	var set MariaDBGTIDSet
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		g, err := ParseMariaDBGTID(part)
		if err != nil {
			return nil, err
		}
		i, ok := set.find(g.Domain)
		if ok {
			return nil, fmt.Errorf("binlog: MariaDB GTID position %q names domain %d twice", s, g.Domain)
		}
		set = slices.Insert(set, i, g)
	}
	return set, nil
}

func (s MariaDBGTIDSet) find(domain uint32) (int, bool) {
	return slices.BinarySearchFunc(s, domain, func(g MariaDBGTID, d uint32) int { return cmp.Compare(g.Domain, d) })
}

// String returns the list joined by ",", ordered by domain.
func (s MariaDBGTIDSet) String() string { return string(s.Append(nil)) }

// Append appends the text form.
func (s MariaDBGTIDSet) Append(dst []byte) []byte {
	for i, g := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = g.Append(dst)
	}
	return dst
}

// Add records g as the latest GTID of its domain (the position moves to g, as a replica does).
func (s *MariaDBGTIDSet) Add(g MariaDBGTID) {
	i, ok := s.find(g.Domain)
	if ok {
		(*s)[i] = g
		return
	}
	*s = slices.Insert(*s, i, g)
}

// Union keeps, per domain, the GTID with the higher sequence number.
func (s *MariaDBGTIDSet) Union(o MariaDBGTIDSet) {
	for _, g := range o {
		i, ok := s.find(g.Domain)
		if !ok {
			*s = slices.Insert(*s, i, g)
		} else if g.Sequence > (*s)[i].Sequence {
			(*s)[i] = g
		}
	}
}

// ContainsGTID reports whether g is at or before the position of its domain.
func (s MariaDBGTIDSet) ContainsGTID(g MariaDBGTID) bool {
	for _, e := range s {
		if e.Domain == g.Domain && g.Sequence <= e.Sequence {
			return true
		}
	}
	return false
}

// Contains reports whether every GTID of o is at or before s's position in its domain.
func (s MariaDBGTIDSet) Contains(o MariaDBGTIDSet) bool {
	for _, g := range o {
		if !s.ContainsGTID(g) {
			return false
		}
	}
	return true
}

// Clone returns a copy.
func (s MariaDBGTIDSet) Clone() MariaDBGTIDSet { return slices.Clone(s) }
