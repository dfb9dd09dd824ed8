package stdout

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

func TestAppendLine(t *testing.T) {
	cases := []struct {
		name string
		rec  envelope.Record
		want string
	}{
		{"insert", envelope.Record{Topic: "db.inv.t", Key: []byte(`{"id":1}`), Value: []byte(`{"op":"c"}`)},
			`{"topic":"db.inv.t","partition":0,"key":{"id":1},"value":{"op":"c"},"headers":{}}` + "\n"},
		{"tombstone", envelope.Record{Topic: "t", Key: []byte(`{"id":1}`)},
			`{"topic":"t","partition":0,"key":{"id":1},"value":null,"headers":{}}` + "\n"},
		{"null key", envelope.Record{Topic: "t", Value: []byte("{\n \"a\": 1\n}")},
			`{"topic":"t","partition":0,"key":null,"value":{"a":1},"headers":{}}` + "\n"},
		{"headers", envelope.Record{Topic: "t", Key: []byte(`{"id":2}`), Value: []byte(`{}`),
			Headers: []envelope.Header{{Key: "__debezium.oldkey", Value: []byte(`{"id":1}`)}, {Key: "raw", Value: []byte("not json")}}},
			`{"topic":"t","partition":0,"key":{"id":2},"value":{},"headers":{"__debezium.oldkey":{"id":1},"raw":"not json"}}` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(AppendLine(nil, &c.rec, 1)); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestPartitionField(t *testing.T) {
	// murmur2("foobar") = -790332482 (Kafka UtilsTest); & 0x7fffffff = 1357151166; % 5 = 1.
	rec := envelope.Record{Topic: "t", Key: []byte("foobar"), Value: []byte("1")}
	want := `{"topic":"t","partition":1,"key":"foobar","value":1,"headers":{}}` + "\n"
	if got := string(AppendLine(nil, &rec, 5)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSinkDurableAfterWrite(t *testing.T) {
	var out bytes.Buffer
	var got []uint64
	s := New(Config{Writer: &out}, func(tok uint64) { got = append(got, tok) })
	ctx := context.Background()
	for i := uint64(1); i <= 3; i++ {
		if err := s.Send(ctx, &envelope.Record{Topic: "t", Value: []byte("1")}, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("durable tokens %v, want [1 2 3]", got)
	}
	if n := bytes.Count(out.Bytes(), []byte("\n")); n != 3 {
		t.Fatalf("%d lines written, want 3", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, &envelope.Record{Topic: "t"}, 4); err != ErrClosed {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}
}

// TestSinkLinger: without a Flush call, buffered records are written out and reported durable
// after FlushInterval.
func TestSinkLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		var mu sync.Mutex
		var got []uint64
		s := New(Config{Writer: &out, FlushInterval: time.Second}, func(tok uint64) {
			mu.Lock()
			got = append(got, tok)
			mu.Unlock()
		})
		defer s.Close()
		if err := s.Send(context.Background(), &envelope.Record{Topic: "t", Value: []byte("1")}, 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n != 0 {
			t.Fatal("durable before the flush interval")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 || got[0] != 1 {
			t.Fatalf("durable %v after the flush interval, want [1]", got)
		}
	})
}

// failWriter accepts max bytes in all, then writes short (short) or fails.
type failWriter struct {
	out   bytes.Buffer
	max   int
	short bool
}

func (w *failWriter) Write(p []byte) (int, error) {
	room := w.max - w.out.Len()
	if len(p) <= room {
		return w.out.Write(p)
	}
	w.out.Write(p[:max(room, 0)])
	if w.short {
		return max(room, 0), nil
	}
	return max(room, 0), errors.New("disk full")
}

// TestSinkWriteError: a failed or short write of the buffer reports none of its records
// durable, and the error sticks: every later Send, Flush and Close returns it.
func TestSinkWriteError(t *testing.T) {
	for _, short := range []bool{false, true} {
		w := &failWriter{max: 200, short: short}
		var got []uint64
		s := New(Config{Writer: w, BufferSize: 100}, func(tok uint64) { got = append(got, tok) })
		rec := &envelope.Record{Topic: "t", Value: []byte(`{"v":"0123456789"}`)} // a 79-byte line
		ctx := context.Background()
		var err error
		tok := uint64(0)
		for err == nil && tok < 10 {
			tok++
			err = s.Send(ctx, rec, tok)
		}
		want := "disk full"
		if short {
			want = io.ErrShortWrite.Error()
		}
		if err == nil || err.Error() != want {
			t.Fatalf("short %v: Send error %v, want %s", short, err, want)
		}
		// Tokens 1–2 (158 bytes) were written, 3–4 (the second buffer) only in part.
		if len(got) != 2 || got[1] != 2 || tok != 4 {
			t.Fatalf("short %v: durable %v after %d sends, want [1 2] after 4", short, got, tok)
		}
		if err := s.Send(ctx, rec, 5); err == nil || err.Error() != want {
			t.Fatalf("short %v: Send after the error = %v", short, err)
		}
		if err := s.Flush(ctx); err == nil || err.Error() != want {
			t.Fatalf("short %v: Flush after the error = %v", short, err)
		}
		if err := s.Close(); err == nil || err.Error() != want {
			t.Fatalf("short %v: Close after the error = %v", short, err)
		}
		if len(got) != 2 {
			t.Fatalf("short %v: durable %v at the end, want [1 2]", short, got)
		}
	}
}

// TestSinkLargeRecords: records larger than the buffer go out whole, in order, each durable once
// written, and the buffer shrinks back after one.
func TestSinkLargeRecords(t *testing.T) {
	var out bytes.Buffer
	var got []uint64
	s := New(Config{Writer: &out, BufferSize: 64}, func(tok uint64) { got = append(got, tok) })
	ctx := context.Background()
	var want bytes.Buffer
	for i, n := range []int{10, 1000, 3, 70, 5, 64 << 10, 1} {
		rec := &envelope.Record{Topic: "t", Key: []byte(strconv.Itoa(i)), Value: []byte(`"` + strings.Repeat("x", n) + `"`)}
		want.Write(AppendLine(nil, rec, 1))
		if err := s.Send(ctx, rec, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if cap(s.buf) > 4*64 {
		t.Fatalf("buffer kept %d bytes after a large record", cap(s.buf))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want.Bytes()) || len(got) != 7 || !slices.IsSorted(got) {
		t.Fatalf("wrote %d bytes (want %d), durable %v", out.Len(), want.Len(), got)
	}
}
