package kafka

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lz4Batch is a record batch's worth of Connect records with schemas: ~3 kB of schema that
// repeats in every record and a few hundred bytes that vary. lz4 inflates it ~10×.
func lz4Batch(t testing.TB, seed uint64) (raw, compressed []byte) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 2))
	var schema bytes.Buffer
	for i := range 40 {
		schema.WriteString(`{"type":"int64","optional":false,"field":"col` + strconv.Itoa(i) + `"},`)
	}
	var b bytes.Buffer
	for range 40 {
		b.WriteString(`{"schema":{"type":"struct","fields":[`)
		b.Write(schema.Bytes())
		b.WriteString(`]},"payload":{`)
		for range 12 {
			b.WriteString(`"c":` + strconv.FormatUint(rnd.Uint64(), 36) + `,`)
		}
		b.WriteString("}}")
	}
	raw = b.Bytes()
	cmp, err := kgo.DefaultCompressor(kgo.Lz4Compression())
	if err != nil {
		t.Fatal(err)
	}
	out, codec := cmp.Compress(new(bytes.Buffer), raw)
	if codec != kgo.CodecLz4 {
		t.Fatalf("codec %v", codec)
	}
	return raw, bytes.Clone(out)
}

// TestDecompressBuffersFitTheInflation: a new decompression buffer must hold its batch without
// growing. lz4 streams into a bytes.Buffer, which doubles (and copies) a buffer that is too
// small; sized at a fixed 8× of the compressed bytes, every new buffer for records with
// schemas (~10×) grew once: bytes.growSlice was 41 MB of every 88 MB allocated on the bench.
func TestDecompressBuffersFitTheInflation(t *testing.T) {
	raw, c := lz4Batch(t, 1)
	ratio := float64(len(raw)) / float64(len(c))
	t.Logf("inflation %.1f×", ratio)
	if ratio < 9 {
		t.Fatalf("the test batch inflates %.1f×, want a schema-like 9× or more", ratio)
	}
	pool := decompressPool{inflation: new(inflation)}
	d := newDecompressor(pool)
	out, err := d.Decompress(c, kgo.CodecLz4)
	if err != nil || !bytes.Equal(out, raw) {
		t.Fatalf("decompress: %v (%d bytes, want %d)", err, len(out), len(raw))
	}
	// The next batch of the topic, in a buffer fresh from the pool (the memory limit's
	// collections empty it often): it must fit without growing.
	raw2, c2 := lz4Batch(t, 2)
	if got, need := pool.inflation.size(len(c2)), len(raw2)+bytes.MinRead; got < need {
		t.Fatalf("a %d-byte batch inflating %.1f× gets a %d-byte buffer; it needs %d (bytes.Buffer grows it, copying)", len(c2), ratio, got, need)
	}
	b := pool.GetDecompressBytes(c2, kgo.CodecLz4)
	if cap(b) < len(raw2)+bytes.MinRead {
		t.Fatalf("pool buffer of %d bytes for a batch of %d", cap(b), len(raw2))
	}
	pool.PutDecompressBytes(b)

	// The free list keeps the buffers it hands out again, but not a huge one.
	huge := make([]byte, 0, maxFreeBuf+1)
	pool.PutDecompressBytes(huge)
	decompressBufs.Lock()
	for _, f := range decompressBufs.free {
		if cap(f) == cap(huge) {
			t.Error("the free list kept a buffer over maxFreeBuf")
		}
	}
	decompressBufs.Unlock()
	if got := pool.GetDecompressBytes(c2, kgo.CodecLz4); cap(got) != cap(b) {
		t.Errorf("the buffer put back was not handed out again (cap %d, want %d)", cap(got), cap(b))
	}

	// One extremely compressible batch does not size every later buffer for long.
	f := new(inflation)
	f.observe(1<<20, 100)
	big := f.size(1000)
	for range 200 {
		f.observe(1000, 100)
	}
	if s := f.size(1000); s > big/2 || s < 10*1000+bytes.MinRead {
		t.Fatalf("after a 10,000× batch then 200 at 10×: size %d (was %d), want back near 10×", s, big)
	}
}
