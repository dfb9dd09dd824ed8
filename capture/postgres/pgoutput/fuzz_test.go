package pgoutput

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateCorpus = flag.Bool("update", false, "rewrite the seed corpus under testdata/fuzz from messageCases")

// FuzzParse decodes arbitrary messages, outside and inside a streamed block, and reads every
// tuple they carry: errors are fine, panics are not. The seed corpus (testdata/fuzz/FuzzParse)
// is every message of messageCases whole and cut in half.
func FuzzParse(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s.data, s.inStream)
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, data []byte, inStream bool) {
		m, err := Parse(data)
		checkParsed(t, data, m, err)
		m, err = ParseInStream(data)
		checkParsed(t, data, m, err)
		m, err = d.Decode(1, data, inStream)
		checkParsed(t, data, m, err)
	})
}

func checkParsed(t *testing.T, data []byte, m Message, err error) {
	if err != nil {
		if de, ok := err.(*DecodeError); !ok || (len(data) > 0 && !bytes.Equal(de.Data, data)) {
			t.Fatalf("error %T %v", err, err)
		}
		return
	}
	if m.Type() != MessageType(data[0]) {
		t.Fatalf("type %s from %q", m.Type(), data[0])
	}
	for _, tu := range tuples(m) {
		cols, err := tu.Columns(nil)
		if err == nil && len(cols) != int(tu[0])<<8|int(tu[1]) {
			t.Fatalf("read %d columns of %q", len(cols), tu)
		}
	}
}

type seed struct {
	data     []byte
	inStream bool
}

func seeds() []seed {
	var out []seed
	for _, c := range messageCases {
		out = append(out, seed{c.data, c.inStream}, seed{c.data[:len(c.data)/2], c.inStream})
	}
	return out
}

// TestFuzzCorpus keeps the committed seed corpus equal to seeds(); -update rewrites it.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	want := map[string][]byte{}
	for i, s := range seeds() {
		want[fmt.Sprintf("seed-%02d", i)] = []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", s.data, s.inStream))
	}
	if *updateCorpus {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
		for _, p := range old {
			os.Remove(p)
		}
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	if len(have) != len(want) {
		t.Errorf("%s has %d seeds, want %d (go test -run TestFuzzCorpus -update)", dir, len(have), len(want))
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s/%s is stale (go test -run TestFuzzCorpus -update)", dir, name)
		}
	}
}
