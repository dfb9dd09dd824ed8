package kafka

import (
	"bytes"
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// rawRecords builds the decompressed bytes of a record batch holding records of the given
// sizes (a zigzag varint length, then that many bytes), with the record bodies' offsets.
func rawRecords(sizes ...int) (b []byte, at []int) {
	for i, n := range sizes {
		b = binary.AppendVarint(b, int64(n))
		at = append(at, len(b))
		b = append(b, bytes.Repeat([]byte{byte('a' + i)}, n)...)
	}
	return b, at
}

func inFreeList(b []byte) bool {
	decompressBufs.Lock()
	defer decompressBufs.Unlock()
	for _, f := range decompressBufs.free {
		if unsafeSame(f, b) {
			return true
		}
	}
	return false
}

func unsafeSame(a, b []byte) bool { return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0] }

// TestBufferReturnsWithItsLastRecord: a decompression buffer goes back to the free list when
// the last of the records counted in it is recycled, not before (a record still held would be
// overwritten by the next batch decompressed into it), and bytes that are not a sequence of
// records are not tracked at all.
func TestBufferReturnsWithItsLastRecord(t *testing.T) {
	raw, at := rawRecords(10, 20, 30)
	buf := make([]byte, len(raw), len(raw)+100)
	copy(buf, raw)
	track(buf)
	recs := make([]kgo.Record, 3)
	for i := range recs {
		recs[i].Value = buf[at[i] : at[i]+10]
	}
	recs[0].Key, recs[0].Value = recs[0].Value, nil // found by its key
	other := kgo.Record{Value: []byte("not from a tracked buffer")}
	recycle(&other)
	recycle(&recs[2])
	recycle(&recs[0])
	if inFreeList(buf) {
		t.Fatal("the buffer was freed with one of its 3 records still out")
	}
	recycle(&recs[1])
	if !inFreeList(buf) {
		t.Fatal("the buffer did not return to the free list with its last record")
	}

	if n, ok := countRecords(raw); !ok || n != 3 {
		t.Fatalf("countRecords = %d, %v; want 3", n, ok)
	}
	for _, bad := range [][]byte{raw[:len(raw)-1], append(binary.AppendVarint(nil, -1), 'x'), {0x80}} {
		if n, ok := countRecords(bad); ok {
			t.Errorf("countRecords(%x) = %d, ok; want not ok", bad, n)
		}
	}
}

// pooled empties the free list, returning its last buffer.
func pooled(t *testing.T) []byte {
	t.Helper()
	decompressBufs.Lock()
	defer decompressBufs.Unlock()
	var last []byte
	if n := len(decompressBufs.free); n > 0 {
		last = decompressBufs.free[n-1]
	}
	decompressBufs.free = nil
	return last
}

// TestSourceRecordBytesStayIntact reads an lz4 topic through Next while the client decompresses
// the next batches into reused buffers: every record's value must be its own until the next
// call of Next, and the buffers must come back without being cleared (franz-go's clearing of
// every pooled buffer over its capacity was 5–9% of the stage's CPU with schemas).
func TestSourceRecordBytesStayIntact(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.intact"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	const n = 20000
	p := testkit.KafkaClient(t, brokers, kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.ProducerBatchMaxBytes(256<<10),
		kgo.ProducerLinger(5*time.Millisecond))
	pad := strings.Repeat(`{"type":"int64","optional":false,"field":"id"},`, 20)
	value := func(i int) string { return pad + strings.Repeat(strconv.Itoa(i)+",", 1+i%7) }
	msgs := make([]*kgo.Record, 0, 1000)
	for i := 0; i < n; i += 1000 {
		msgs = msgs[:0]
		for j := i; j < i+1000; j++ {
			msgs = append(msgs, &kgo.Record{Topic: "db.intact", Value: []byte(value(j))})
		}
		testkit.KafkaProduce(t, p, msgs...)
	}
	pooled(t) // start with an empty free list
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	src, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\.intact`, Group: "intact"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var prev []byte
	prevOff := -1
	for got := 0; got < n; {
		if prev != nil && string(prev) != value(prevOff) { // still valid until this call
			t.Fatalf("record at offset %d changed before the next Next: %.80q…", prevOff, prev[len(pad):])
		}
		rec, pos, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("after %d records: %v", got, err)
		}
		if rec.Topic == "" {
			continue
		}
		off := int(pos.(*Position).Offset())
		if string(rec.Value) != value(off) {
			t.Fatalf("record at offset %d: got %.80q…", off, rec.Value[min(len(pad), len(rec.Value)):])
		}
		prev, prevOff = rec.Value, off
		got++
	}
	decompressBufs.Lock()
	defer decompressBufs.Unlock()
	if len(decompressBufs.free) == 0 {
		t.Fatal("no decompression buffer came back to the free list")
	}
	for _, b := range decompressBufs.free {
		if len(bytes.Trim(b[:cap(b)], "\x00")) > 0 {
			return // a buffer holds the bytes of its last batch: it was not cleared
		}
	}
	t.Fatal("every buffer on the free list was cleared over its capacity before it came back (franz-go's release)")
}
