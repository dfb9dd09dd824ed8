package postgres

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// chunks is a reader that returns its chunks one per Read, then err.
type chunks struct {
	parts [][]byte
	err   error
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, c.err
	}
	n := copy(p, c.parts[0])
	if n < len(c.parts[0]) {
		c.parts[0] = c.parts[0][n:]
	} else {
		c.parts = c.parts[1:]
	}
	return n, nil
}

func TestCoalescer(t *testing.T) {
	boom := errors.New("boom")
	src := &chunks{parts: [][]byte{[]byte("abc"), bytes.Repeat([]byte("x"), 100), []byte("tail")}, err: boom}
	var slept []time.Duration
	c := newCoalescer(src)
	c.sleep = func(d time.Duration) { slept = append(slept, d) }
	var got []byte
	p := make([]byte, 7)
	var err error
	for {
		var n int
		n, err = c.Read(p)
		got = append(got, p[:n]...)
		if err != nil {
			break
		}
		c.bulk = len(got) > 3 // pause from the second socket read on
	}
	if want := "abc" + string(bytes.Repeat([]byte("x"), 100)) + "tail"; string(got) != want || !errors.Is(err, boom) {
		t.Fatalf("read %q, %v; want %q, boom", got, err, want)
	}
	// Bulk mode starts once the second socket read is being served: the third read ("tail")
	// and the one that returned the error each follow a pause.
	if len(slept) != 2 || slept[0] != bulkPause {
		t.Fatalf("slept %v, want 2 × %v", slept, bulkPause)
	}
	// Not in bulk mode: no pauses.
	src = &chunks{parts: [][]byte{[]byte("a"), []byte("b")}, err: io.EOF}
	c = newCoalescer(src)
	c.sleep = func(time.Duration) { t.Fatal("paused outside bulk mode") }
	if b, err := io.ReadAll(c); string(b) != "ab" || err != nil {
		t.Fatalf("ReadAll: %q, %v", b, err)
	}
}
