package kafka

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
)

// javaFrame frames raw as Kafka's Java producer does: 64 KiB independent blocks, no checksums,
// a block that does not shrink stored as is (high bit of its length).
func javaFrame(t testing.TB, raw []byte, contentChecksum bool) []byte {
	t.Helper()
	flg := byte(0x60)
	if contentChecksum {
		flg |= lz4FlagChecksum
	}
	out := binary.LittleEndian.AppendUint32(nil, lz4Magic)
	out = append(out, flg, 0x40)
	out = append(out, lz4HeaderChecksum(out[4:]))
	var c lz4.Compressor
	buf := make([]byte, lz4.CompressBlockBound(64<<10))
	for len(raw) > 0 {
		blk := raw[:min(len(raw), 64<<10)]
		raw = raw[len(blk):]
		n, err := c.CompressBlock(blk, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || n >= len(blk) {
			out = binary.LittleEndian.AppendUint32(out, uint32(len(blk))|lz4Uncompressed)
			out = append(out, blk...)
			continue
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(n))
		out = append(out, buf[:n]...)
	}
	out = binary.LittleEndian.AppendUint32(out, 0)
	if contentChecksum {
		out = append(out, 1, 2, 3, 4) // not verified: Kafka's CRC-32C covers the frame
	}
	return out
}

// pierrecFrame frames raw as sarama and franz-go producers do (pierrec/lz4's Writer), with opts.
func pierrecFrame(t testing.TB, raw []byte, opts ...lz4.Option) []byte {
	t.Helper()
	var b bytes.Buffer
	w := lz4.NewWriter(&b)
	if err := w.Apply(opts...); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestLZ4Frame: the frames Kafka producers write decode to their content, into the pooled
// buffer when it fits; frames of other shapes are left to the general decoder, and the
// decompressor still returns their content.
func TestLZ4Frame(t *testing.T) {
	raw, _ := lz4Batch(t, 3)
	rnd := rand.New(rand.NewPCG(4, 5))
	noise := make([]byte, 300<<10) // incompressible: stored blocks
	for i := range noise {
		noise[i] = byte(rnd.Uint32())
	}
	big := bytes.Repeat(raw, 40) // several blocks of every size (5 MB)
	if raceEnabled {
		big = bytes.Repeat(raw, 10) // 1.3 MB: one block of the 4 MiB frames (two without -race), many of 64 KiB
	}
	cases := []struct {
		name  string
		frame []byte
		raw   []byte
		fast  bool // lz4Frame decodes it itself
	}{
		{"franz-go producer", func() []byte {
			c, _ := kgo.DefaultCompressor(kgo.Lz4Compression())
			out, _ := c.Compress(new(bytes.Buffer), big)
			return bytes.Clone(out)
		}(), big, true},
		{"pierrec default (sarama)", pierrecFrame(t, big), big, true},
		{"pierrec 64 KiB blocks", pierrecFrame(t, big, lz4.BlockSizeOption(lz4.Block64Kb)), big, true},
		{"pierrec 256 KiB blocks, no checksum", pierrecFrame(t, big, lz4.BlockSizeOption(lz4.Block256Kb), lz4.ChecksumOption(false)), big, true},
		{"pierrec 1 MiB blocks with size", pierrecFrame(t, big, lz4.BlockSizeOption(lz4.Block1Mb), lz4.SizeOption(uint64(len(big)))), big, true},
		{"pierrec incompressible", pierrecFrame(t, noise, lz4.BlockSizeOption(lz4.Block64Kb)), noise, true},
		{"java producer", javaFrame(t, big, false), big, true},
		{"java producer, content checksum, stored blocks", javaFrame(t, noise, true), noise, true},
		{"empty", pierrecFrame(t, nil), nil, true},
		{"block checksums", pierrecFrame(t, big, lz4.BlockChecksumOption(true)), big, false},
		{"two frames", append(pierrecFrame(t, raw), pierrecFrame(t, raw)...), append(bytes.Clone(raw), raw...), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool := decompressPool{inflation: new(inflation)}
			buf := make([]byte, 0, len(c.raw)+1)
			out, err := lz4Frame(buf, c.frame, maxDecompress)
			if !c.fast {
				if !errors.Is(err, errLZ4Other) {
					t.Fatalf("lz4Frame: %v, want errLZ4Other", err)
				}
			} else {
				if err != nil || !bytes.Equal(out, c.raw) {
					t.Fatalf("lz4Frame: %v (%d bytes, want %d)", err, len(out), len(c.raw))
				}
				if len(out) > 0 && &out[0] != &buf[:1][0] {
					t.Fatal("a buffer with room was not decoded into")
				}
				// Too small a buffer grows, to what the content needs (not by a whole block).
				out, err := lz4Frame(make([]byte, 0, 10), c.frame, maxDecompress)
				if err != nil || !bytes.Equal(out, c.raw) {
					t.Fatalf("lz4Frame into a small buffer: %v", err)
				}
				if cap(out) > len(c.raw)*5/4+64<<10 {
					t.Fatalf("grown to %d bytes for %d", cap(out), len(c.raw))
				}
				// Over the bound: the general decoder says so.
				if len(c.raw) > 0 {
					if _, err := lz4Frame(nil, c.frame, len(c.raw)-1); !errors.Is(err, errLZ4Other) {
						t.Fatalf("over the bound: %v", err)
					}
				}
			}
			got, err := newDecompressor(pool).Decompress(c.frame, kgo.CodecLz4)
			if err != nil || !bytes.Equal(got, c.raw) {
				t.Fatalf("Decompress: %v (%d bytes, want %d)", err, len(got), len(c.raw))
			}
		})
	}
}

// TestLZ4FrameCorrupt: a damaged frame never decodes to wrong content silently through the
// decompressor: lz4Frame refuses it or decodes what the general decoder decodes (Kafka's
// CRC-32C refuses damaged batches before either runs; this holds without it).
func TestLZ4FrameCorrupt(t *testing.T) {
	raw, _ := lz4Batch(t, 6)
	frame := javaFrame(t, bytes.Repeat(raw, 3), false)
	rnd := rand.New(rand.NewPCG(7, 8))
	n := 2000
	if raceEnabled || testing.Short() { // ~20× slower under the race detector
		n = 150
	}
	for range n {
		f := bytes.Clone(frame)
		switch rnd.IntN(3) {
		case 0:
			f[rnd.IntN(len(f))] ^= byte(1 + rnd.IntN(255))
		case 1:
			f = f[:rnd.IntN(len(f))]
		case 2:
			i := rnd.IntN(len(f))
			f = append(f[:i:i], f[i+1:]...)
		}
		checkLZ4Frame(t, f)
	}
}

func checkLZ4Frame(t *testing.T, f []byte) {
	t.Helper()
	out, err := lz4Frame(make([]byte, 0, 64), f, 1<<20) // small: a fuzzed content size is allocated up front
	if err != nil {
		return
	}
	// The general decoder without the content checksum (which lz4Frame does not verify).
	want, werr := readAllLZ4(f)
	if werr != nil {
		t.Fatalf("lz4Frame decoded %d bytes of a frame the general decoder refuses: %v", len(out), werr)
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("lz4Frame decoded %d bytes, the general decoder %d", len(out), len(want))
	}
}

// lz4Reader is reused: a new Reader allocates its 4 MiB block buffers, which made the fuzzer
// run a few hundred inputs a second.
var lz4Reader = lz4.NewReader(nil)

// readAllLZ4 decodes f with pierrec/lz4's Reader, ignoring a content checksum mismatch.
func readAllLZ4(f []byte) ([]byte, error) {
	var out bytes.Buffer
	lz4Reader.Reset(bytes.NewReader(f))
	_, err := out.ReadFrom(lz4Reader)
	if errors.Is(err, lz4.ErrInvalidFrameChecksum) {
		err = nil
	}
	return out.Bytes(), err
}

func FuzzLZ4Frame(f *testing.F) {
	raw, _ := lz4Batch(f, 9)
	f.Add(javaFrame(f, raw, false))
	f.Add(javaFrame(f, raw[:100], true))
	f.Add(pierrecFrame(f, raw))
	f.Fuzz(func(t *testing.T, frame []byte) {
		checkLZ4Frame(t, frame)
	})
}

// BenchmarkDecompressLZ4: one bench-like batch of records with schemas, through franz-go's
// default decompressor and through decompressor (lz4Frame), each into a pooled buffer.
func BenchmarkDecompressLZ4(b *testing.B) {
	raw, _ := lz4Batch(b, 10)
	raw = bytes.Repeat(raw, 8) // ~1 MB, as a 128 KiB fetch of such records inflates
	c, _ := kgo.DefaultCompressor(kgo.Lz4Compression())
	frame, _ := c.Compress(new(bytes.Buffer), raw)
	frame = bytes.Clone(frame)
	for _, v := range []struct {
		name string
		d    func(decompressPool) kgo.Decompressor
	}{
		{"default", func(p decompressPool) kgo.Decompressor { return kgo.DefaultDecompressor(p) }},
		{"lz4Frame", func(p decompressPool) kgo.Decompressor { return newDecompressor(p) }},
	} {
		b.Run(v.name, func(b *testing.B) {
			pool := decompressPool{inflation: new(inflation)}
			d := v.d(pool)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := d.Decompress(frame, kgo.CodecLz4)
				if err != nil || len(out) != len(raw) {
					b.Fatal(err)
				}
				pool.PutDecompressBytes(out)
			}
		})
	}
}
