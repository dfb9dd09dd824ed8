package clickhouse

import (
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// TestCompressionAuto: by default the native blocks are compressed unless every address is a
// loopback one, as clickhouse-client decides; lz4 and none are taken as given.
func TestCompressionAuto(t *testing.T) {
	for _, c := range []struct {
		comp string
		addr []string
		lz4  bool
	}{
		{"", nil, false}, // 127.0.0.1:9000
		{"", []string{"localhost:9000"}, false},
		{"auto", []string{"127.0.0.1:9000", "[::1]:9000", "127.8.9.10:9440"}, false},
		{"", []string{"127.0.0.1:9000", "ch2.internal:9000"}, true},
		{"", []string{"10.1.2.3:9000"}, true},
		{"auto", []string{"clickhouse:9000"}, true}, // names are not resolved
		{"lz4", []string{"127.0.0.1:9000"}, true},
		{"none", []string{"10.1.2.3:9000"}, false},
	} {
		opts, err := Config{Compression: c.comp, Addr: c.addr}.Options()
		if err != nil {
			t.Fatal(err)
		}
		got := opts.Compression != nil && opts.Compression.Method == ch.CompressionLZ4
		if got != c.lz4 {
			t.Errorf("--clickhouse-compression %q to %v: lz4 %v, want %v", c.comp, c.addr, got, c.lz4)
		}
	}
	err := (&Config{Compression: "zstd"}).Validate()
	if err == nil || !strings.Contains(err.Error(), "want auto, lz4 or none") {
		t.Errorf("zstd: %v", err)
	}
}
