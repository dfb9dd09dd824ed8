package stdout

import (
	"bytes"
	"context"
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
