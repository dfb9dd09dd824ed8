// Package stdout writes records as JSON lines, one object per record:
//
//	{"topic":"…","partition":0,"key":<JSON or null>,"value":<JSON or null>,"headers":{…}}
//
// Key, value and header values are embedded as JSON (not as strings) when they are valid JSON,
// so the output pipes into jq; a Kafka null is written as null. It is meant for trying sluice
// out and for tests, not as a durable sink: a record counts as durable once written to the
// underlying writer.
package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/kafka"
)

// Config configures a Sink.
type Config struct {
	// Writer defaults to os.Stdout.
	Writer io.Writer
	// Partitions is the partition count used to compute the "partition" field with Kafka's
	// default partitioner (murmur2 of the key); null keys get partition 0. Defaults to 1.
	Partitions int32
	// FlushInterval is the longest a record waits in the buffer. Defaults to 100ms.
	FlushInterval time.Duration
	// BufferSize defaults to 64 KiB.
	BufferSize int
}

// Sink is the stdout sink. It is safe for concurrent use.
type Sink struct {
	cfg     Config
	durable func(token uint64)

	mu sync.Mutex
	// buf holds the lines not yet written out: each record is formatted straight into it (one
	// copy of its bytes, not a line buffer and then a bufio.Writer's) and it goes out in one
	// Write once it reaches BufferSize.
	buf     []byte
	pending []uint64 // tokens in buf
	err     error    // sticky write error

	stop chan struct{}
	done chan struct{}
}

// New returns a Sink that calls durable(token) for each record once it is written out.
func New(cfg Config, durable func(token uint64)) *Sink {
	if cfg.Writer == nil {
		cfg.Writer = os.Stdout
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 1
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 100 * time.Millisecond
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = 64 << 10
	}
	s := &Sink{cfg: cfg, durable: durable, buf: make([]byte, 0, cfg.BufferSize),
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.linger()
	return s
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("stdout sink closed")

// Send formats rec and buffers it. It blocks only while the buffer is written out: when it
// reaches BufferSize, with rec in it.
func (s *Sink) Send(_ context.Context, rec *envelope.Record, token uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.buf = AppendLine(s.buf, rec, s.cfg.Partitions)
	s.pending = append(s.pending, token)
	if len(s.buf) >= s.cfg.BufferSize {
		return s.flushLocked()
	}
	return nil
}

// Flush writes out everything buffered and reports it durable.
func (s *Sink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *Sink) flushLocked() error {
	if s.err != nil {
		return s.err
	}
	if len(s.buf) > 0 {
		n, err := s.cfg.Writer.Write(s.buf)
		if err == nil && n < len(s.buf) {
			err = io.ErrShortWrite
		}
		if err != nil {
			s.err = err // what was in buf may be partly written: nothing of it is durable
			return err
		}
	}
	for _, t := range s.pending {
		s.durable(t)
	}
	s.pending = s.pending[:0]
	if cap(s.buf) > 4*s.cfg.BufferSize {
		s.buf = make([]byte, 0, s.cfg.BufferSize) // one huge record must not pin its buffer
	}
	s.buf = s.buf[:0]
	return nil
}

func (s *Sink) linger() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if len(s.pending) > 0 {
				_ = s.flushLocked() // a write error is sticky and returned by the next Send
			}
			s.mu.Unlock()
		}
	}
}

// Close flushes and stops the sink.
func (s *Sink) Close() error {
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		return nil
	default:
	}
	err := s.flushLocked()
	if s.err == nil {
		s.err = ErrClosed
	}
	close(s.stop)
	s.mu.Unlock()
	<-s.done
	return err
}

// AppendLine appends rec as one JSON line (with the trailing newline) to dst.
func AppendLine(dst []byte, rec *envelope.Record, partitions int32) []byte {
	dst = append(dst, `{"topic":`...)
	dst = appendString(dst, rec.Topic)
	dst = append(dst, `,"partition":`...)
	var p int32
	if rec.Key != nil && partitions > 1 { // one partition: murmur2 % 1 is always 0
		p = kafka.Partition(rec.Key, partitions)
	}
	dst = strconv.AppendInt(dst, int64(p), 10)
	dst = append(dst, `,"key":`...)
	dst = appendJSON(dst, rec.Key, rec.Compact)
	dst = append(dst, `,"value":`...)
	dst = appendJSON(dst, rec.Value, rec.Compact)
	dst = append(dst, `,"headers":{`...)
	for i, h := range rec.Headers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, h.Key)
		dst = append(dst, ':')
		// Not rec.Compact: that vouches for key and value only; a transform adds headers
		// as plain text (unwrap's add.headers).
		dst = appendJSON(dst, h.Value, false)
	}
	return append(dst, "}}\n"...)
}

// appendJSON embeds b as JSON: null for nil, b itself when it is valid JSON, else a string.
// The envelope encoder's records are compact JSON (Record.Compact) and copied as they are.
// Otherwise an object is trusted without a full validation pass (that pass was half the CPU of
// a stdout run) but still compacted if it has line breaks.
func appendJSON(dst, b []byte, compact bool) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	if compact && len(b) > 0 {
		return append(dst, b...)
	}
	if n := len(b); n >= 2 && b[0] == '{' && b[n-1] == '}' || json.Valid(b) {
		return appendCompact(dst, b)
	}
	return appendString(dst, string(b))
}

// appendCompact appends valid JSON b without newlines (one record per line).
func appendCompact(dst, b []byte) []byte {
	if bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return append(dst, b...)
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, b); err != nil {
		return append(dst, b...)
	}
	return buf.Bytes()
}

// appendString appends s quoted as encoding/json writes it (HTML-safe escapes, invalid UTF-8 as
// U+FFFD). Topics and header keys are plain ASCII, which is copied without encoding/json.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if plain[s[i]] == 0 {
			b, _ := json.Marshal(s) // cannot fail for a string
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plain[c] is 1 for the bytes encoding/json copies into a string as they are.
var plain = func() (t [256]byte) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = 1
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = 0, 0, 0, 0, 0
	return
}()
