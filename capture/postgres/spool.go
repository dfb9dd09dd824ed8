package postgres

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// spool holds the messages of one streamed (in-progress) transaction until its Stream Commit or
// Stream Abort. The first spoolMemLimit bytes stay in memory; beyond that everything goes to a
// temporary file, so a transaction of any size costs a bounded amount of memory.
//
// Record layout: u32 length of data, u64 WAL start LSN, data.
type spool struct {
	dir   string
	mem   []byte
	f     *os.File
	w     *bufio.Writer
	size  int64            // bytes written in total (memory + file)
	subs  map[uint32]int64 // subtransaction xid -> offset of its first record
	order []uint32         // subtransactions in first-seen order
	count int64
}

const spoolMemLimit = 4 << 20

func newSpool(dir string) *spool { return &spool{dir: dir, subs: map[uint32]int64{}} }

// add appends one message. xid is the (sub)transaction xid carried by a change message, or 0.
func (s *spool) add(lsn uint64, xid uint32, data []byte) error {
	if xid != 0 {
		if _, ok := s.subs[xid]; !ok {
			s.subs[xid] = s.size
			s.order = append(s.order, xid)
		}
	}
	var hdr [12]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	binary.BigEndian.PutUint64(hdr[4:], lsn)
	s.count++
	if s.f == nil && len(s.mem)+len(data)+12 <= spoolMemLimit {
		s.mem = append(s.mem, hdr[:]...)
		s.mem = append(s.mem, data...)
		s.size += int64(len(data)) + 12
		return nil
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "sluice-pg-stream-*.spool")
		if err != nil {
			return fmt.Errorf("spool a streamed transaction: %w (set the spool directory to a writable place)", err)
		}
		_ = os.Remove(f.Name()) // unlinked: the space is freed when closed, even after a crash
		s.f = f
		s.w = bufio.NewWriterSize(f, 256<<10)
	}
	if _, err := s.w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := s.w.Write(data); err != nil {
		return err
	}
	s.size += int64(len(data)) + 12
	return nil
}

// abortSub drops the records of subtransaction xid and of every subtransaction first seen
// after it (as PostgreSQL's apply worker does for a streamed subtransaction abort).
func (s *spool) abortSub(xid uint32) error {
	off, ok := s.subs[xid]
	if !ok {
		return nil
	}
	for i, x := range s.order {
		if x == xid {
			for _, y := range s.order[i:] {
				delete(s.subs, y)
			}
			s.order = s.order[:i]
			break
		}
	}
	memLen := int64(len(s.mem))
	if off <= memLen {
		s.mem = s.mem[:off]
		if s.f != nil {
			s.f.Close()
			s.f, s.w = nil, nil
		}
	} else {
		if err := s.w.Flush(); err != nil {
			return err
		}
		if err := s.f.Truncate(off - memLen); err != nil {
			return err
		}
		if _, err := s.f.Seek(off-memLen, io.SeekStart); err != nil {
			return err
		}
		s.w.Reset(s.f)
	}
	s.size = off
	return nil
}

func (s *spool) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	s.mem = nil
}

// spoolReader replays a spool in order. Each record gets its own buffer because decoded
// Values alias it.
type spoolReader struct {
	s   *spool
	mem []byte
	r   *bufio.Reader
}

func (s *spool) reader() (*spoolReader, error) {
	sr := &spoolReader{s: s, mem: s.mem}
	if s.f != nil {
		if err := s.w.Flush(); err != nil {
			return nil, err
		}
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		sr.r = bufio.NewReaderSize(s.f, 256<<10)
	}
	return sr, nil
}

// next returns the next record, or io.EOF.
func (sr *spoolReader) next() (uint64, []byte, error) {
	if len(sr.mem) > 0 {
		if len(sr.mem) < 12 {
			return 0, nil, io.ErrUnexpectedEOF
		}
		n := int(binary.BigEndian.Uint32(sr.mem))
		lsn := binary.BigEndian.Uint64(sr.mem[4:])
		if len(sr.mem) < 12+n {
			return 0, nil, io.ErrUnexpectedEOF
		}
		data := append([]byte(nil), sr.mem[12:12+n]...)
		sr.mem = sr.mem[12+n:]
		return lsn, data, nil
	}
	if sr.r == nil {
		return 0, nil, io.EOF
	}
	var hdr [12]byte
	if _, err := io.ReadFull(sr.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	data := make([]byte, n)
	if _, err := io.ReadFull(sr.r, data); err != nil {
		return 0, nil, fmt.Errorf("read spooled transaction: %w", err)
	}
	return binary.BigEndian.Uint64(hdr[4:]), data, nil
}

// spoolDir returns the directory for streamed transactions.
func (c *Config) spoolDir() string {
	if c.SpoolDir != "" {
		return c.SpoolDir
	}
	return os.TempDir()
}
