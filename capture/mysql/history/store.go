package history

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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

// File stores records as JSON lines in one file (Debezium's FileSchemaHistory writes the same
// documents one per line). Each Append is fsynced.
type File struct {
	path string
	mu   sync.Mutex
	f    *os.File
	buf  []byte
}

// NewFile returns a file store; the file is created on the first Append.
func NewFile(path string) *File { return &File{path: path} }

// Load reads every record. A missing file is an empty history. A torn last line (a crash in
// the middle of a write) is ignored.
func (s *File) Load(context.Context) ([]Record, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("schema history %s: %w", s.path, err)
	}
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		r, err := Parse(b)
		if err != nil {
			if !bytes.HasSuffix(data, []byte("\n")) && line == bytes.Count(data, []byte("\n"))+1 {
				break // torn last line
			}
			return nil, fmt.Errorf("schema history %s line %d: %w", s.path, line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("schema history %s: %w", s.path, err)
	}
	return out, nil
}

// Append writes one line and fsyncs.
func (s *File) Append(_ context.Context, r *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("schema history: %w", err)
		}
		// A torn last line from a crash: start on a fresh line.
		if st, err := f.Stat(); err == nil && st.Size() > 0 {
			last := make([]byte, 1)
			if rf, err := os.Open(s.path); err == nil {
				if _, err := rf.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
					_, _ = f.Write([]byte("\n"))
				}
				rf.Close()
			}
		}
		s.f = f
	}
	s.buf = r.AppendJSON(s.buf[:0])
	s.buf = append(s.buf, '\n')
	if _, err := s.f.Write(s.buf); err != nil {
		return fmt.Errorf("schema history %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("schema history %s: %w", s.path, err)
	}
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
