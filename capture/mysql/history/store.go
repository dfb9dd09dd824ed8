package history

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// Store appends history records and reads them back in order.
type Store interface {
	// Load returns every record stored, oldest first.
	Load(ctx context.Context) ([]Record, error)
	// Append stores one record durably before it returns.
	Append(ctx context.Context, r *Record) error
	Close() error
}

// BatchAppender is a Store that stores several records with one durable write (one fsync, one
// synchronous produce), as a snapshot of thousands of tables needs: a record each.
type BatchAppender interface {
	// AppendBatch stores rs, in order, durably before it returns. On error any prefix of rs
	// may be stored.
	AppendBatch(ctx context.Context, rs []*Record) error
}

// File stores records as JSON lines in one file (Debezium's FileSchemaHistory writes the same
// documents one per line). A record is complete when its line ends in a newline. Each Append
// is fsynced (and, when it creates the file, so is the directory) before it returns, so a
// record is on disk before the position that needs it can be stored.
type File struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	f    *os.File
	size int64 // the end of the last complete record in the file
	buf  []byte
}

// NewFile returns a file store; the file is created on the first Append. log receives the
// warning about a repaired torn tail; nil discards.
func NewFile(path string, log *slog.Logger) *File {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &File{path: path, log: log}
}

// syncDir makes a new directory entry durable; a variable so a test can see it called.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Load reads every record. A missing file is an empty history. A torn last line (a crash or
// a full disk in the middle of a write) is cut off the file, with a warning that says how many
// bytes were dropped: its record was never acknowledged, so no stored position needs it. A
// line that does not parse anywhere else is an error: the file was damaged, not torn.
func (s *File) Load(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load()
}

func (s *File) load() ([]Record, error) {
	// Read line by line, not the whole file at once: the history of 10,000 tables is ~12 MB,
	// and each line can go as soon as it is parsed.
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("schema history %s: %w", s.path, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	var out []Record
	var tail []byte
	line, off := 0, 0
	for {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			tail = b // no newline yet
			break
		}
		if err != nil {
			return nil, fmt.Errorf("schema history %s: %w", s.path, err)
		}
		line++
		if t := bytes.TrimSpace(b); len(t) > 0 {
			r, err := Parse(t)
			if err != nil {
				return nil, fmt.Errorf("schema history %s line %d (byte %d) is damaged: %w; restore the file from a backup, "+
					"or move it away and rebuild the history with --snapshot-mode recovery", s.path, line, off, err)
			}
			out = append(out, r)
		}
		off += len(b)
	}
	s.size = int64(off)
	if len(bytes.TrimSpace(tail)) == 0 {
		if len(tail) > 0 {
			return out, s.cut(int64(off), len(tail), "whitespace")
		}
		return out, nil
	}
	if r, err := Parse(tail); err == nil {
		// A whole record without its newline (an edited file, or a write torn just before the
		// newline): keep it and finish its line.
		if err := s.finishLine(int64(off + len(tail))); err != nil {
			return nil, err
		}
		return append(out, r), nil
	}
	return out, s.cut(int64(off), len(tail), "torn")
}

// cut truncates the file to size, dropping n bytes of an incomplete last record.
func (s *File) cut(size int64, n int, what string) error {
	f, err := os.OpenFile(s.path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("schema history %s: repair %s tail: %w", s.path, what, err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("schema history %s: repair %s tail: %w", s.path, what, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("schema history %s: repair %s tail: %w", s.path, what, err)
	}
	if what == "torn" {
		s.log.Warn("schema history: dropped a torn last record (a write cut short by a crash or a full disk); "+
			"its position was never stored", "path", s.path, "bytes_dropped", n, "size", size)
	}
	s.size = size
	return nil
}

// finishLine appends the newline a complete last record lacks.
func (s *File) finishLine(size int64) error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.Write([]byte{'\n'})
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("schema history %s: end the last line: %w", s.path, err)
	}
	s.size = size + 1
	return nil
}

// open opens the file for appending, repairing a torn tail first (as Load does) so a new
// record never lands behind half a line.
func (s *File) open() error {
	st, err := os.Stat(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("schema history: %w", err)
		}
		if err := syncDir(filepath.Dir(s.path)); err != nil {
			f.Close()
			return fmt.Errorf("schema history %s: sync directory: %w", s.path, err)
		}
		s.f, s.size = f, 0
		return nil
	case err != nil:
		return fmt.Errorf("schema history: %w", err)
	}
	if !endsInNewline(s.path, st.Size()) {
		if _, err := s.load(); err != nil {
			return err
		}
	} else {
		s.size = st.Size()
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("schema history: %w", err)
	}
	s.f = f
	return nil
}

func endsInNewline(path string, size int64) bool {
	if size == 0 {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, size-1)
	return err == nil && b[0] == '\n'
}

// Append writes one line and fsyncs. A failed write or sync (a full disk) cuts the file back
// to its last complete record, so the file never keeps half a record in the middle.
func (s *File) Append(ctx context.Context, r *Record) error {
	return s.AppendBatch(ctx, []*Record{r})
}

// AppendBatch writes a line per record and fsyncs once; on failure none of them stays.
func (s *File) AppendBatch(_ context.Context, rs []*Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	// Written in pieces of about 256 KiB: the records of 10,000 tables are ~12 MB.
	const piece = 256 << 10
	var err error
	var n int64
	s.buf = s.buf[:0]
	for i, r := range rs {
		s.buf = r.AppendJSON(s.buf)
		s.buf = append(s.buf, '\n')
		if len(s.buf) >= piece || i == len(rs)-1 {
			if _, err = s.f.Write(s.buf); err != nil {
				break
			}
			n += int64(len(s.buf))
			s.buf = s.buf[:0]
		}
	}
	if cap(s.buf) > 2*piece {
		s.buf = nil // one record bigger than a piece: not kept
	}
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		// Best effort: on the next start Load cuts what this could not.
		_ = s.f.Truncate(s.size)
		_ = s.f.Sync()
		s.f.Close()
		s.f = nil
		return fmt.Errorf("schema history %s: %w", s.path, err)
	}
	s.size += n
	return nil
}

// Close closes the file.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Memory keeps records in memory (tests, or no persistence).
type Memory struct {
	mu      sync.Mutex
	Records []Record
}

func (m *Memory) Load(context.Context) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.Records...), nil
}

func (m *Memory) Append(_ context.Context, r *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// round-trip through JSON so Memory behaves like the durable stores
	rec, err := Parse(r.AppendJSON(nil))
	if err != nil {
		return err
	}
	m.Records = append(m.Records, rec)
	return nil
}

func (m *Memory) Close() error { return nil }

var _ io.Closer = (*File)(nil)
