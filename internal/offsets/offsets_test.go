package offsets

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/internal/kafka"
)

func TestKey(t *testing.T) {
	if got := string(Key("inventory-connector", "dbserver1")); got != `["inventory-connector",{"server":"dbserver1"}]` {
		t.Fatalf("Key = %s", got)
	}
	if got := string(Key(`a"b`, "p")); got != `["a\"b",{"server":"p"}]` {
		t.Fatalf("Key = %s", got)
	}
}

func TestFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "offsets.json")
	f := NewFile(path, "sluice", "dbserver1")
	if v, err := f.Load(ctx); err != nil || v != nil {
		t.Fatalf("Load of a missing file = %s, %v; want nil, nil", v, err)
	}
	for _, v := range []string{`{"file":"binlog.000003","pos":154}`, `{"lsn":123,"txId":7}`} {
		if err := f.Save(ctx, []byte(v)); err != nil {
			t.Fatal(err)
		}
		got, err := NewFile(path, "sluice", "dbserver1").Load(ctx)
		if err != nil || string(got) != v {
			t.Fatalf("Load = %s, %v; want %s", got, err, v)
		}
	}
	b, _ := os.ReadFile(path)
	if want := `{"key":["sluice",{"server":"dbserver1"}],"value":{"lsn":123,"txId":7}}` + "\n"; string(b) != want {
		t.Fatalf("file content %s, want %s", b, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temp files left behind: %v", entries)
	}
	if err := f.Save(ctx, []byte(`not json`)); err == nil {
		t.Fatal("Save accepted a non-object")
	}
	if _, err := NewFile(path, "other", "dbserver1").Load(ctx); err == nil || !strings.Contains(err.Error(), "belongs to") {
		t.Fatalf("Load with another name: %v", err)
	}
	if err := os.WriteFile(path, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Load(ctx); err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Fatalf("Load of a corrupt file: %v", err)
	}
}

func TestFileSaveMissingDir(t *testing.T) {
	f := NewFile(filepath.Join(t.TempDir(), "no", "such", "offsets.json"), "n", "p")
	if err := f.Save(context.Background(), []byte(`{}`)); err == nil {
		t.Fatal("Save into a missing directory succeeded")
	}
}

func TestKafkaStore(t *testing.T) {
	ctx := context.Background()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "offsets", Name: "sluice", TopicPrefix: "dbserver1", Partitions: 3}
	s, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Load(ctx); err != nil || v != nil {
		t.Fatalf("Load of an empty topic = %s, %v", v, err)
	}
	other, err := NewKafka(ctx, KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "offsets", Name: "sluice", TopicPrefix: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for i, v := range []string{`{"lsn":1}`, `{"lsn":2}`, `{"lsn":3,"txId":9}`} {
		if err := s.Save(ctx, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if err := other.Save(ctx, []byte(`{"lsn":100}`)); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v, err := s2.Load(ctx); err != nil || string(v) != `{"lsn":3,"txId":9}` {
		t.Fatalf("Load after restart = %s, %v", v, err)
	}
	if v, err := other.Load(ctx); err != nil || string(v) != `{"lsn":100}` {
		t.Fatalf("other key Load = %s, %v", v, err)
	}
}

// TestFileLoadDamaged: a damaged offsets file stops the start with an error that says what is
// wrong with it, never reads as "no offset" (a start over). Before, a null value passed as a
// stored offset and a file without a key was said to belong to "" .
func TestFileLoadDamaged(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"empty", ``, "not valid JSON"},
		{"truncated", `{"key":["sluice",{"server":"p"}],"value":{"lsn":1`, "not valid JSON"},
		{"no key", `{"value":{"lsn":1}}`, "has no key"},
		{"no value", `{"key":["sluice",{"server":"p"}]}`, "no offset value"},
		{"null value", `{"key":["sluice",{"server":"p"}],"value":null}`, "no offset value"},
		{"array value", `{"key":["sluice",{"server":"p"}],"value":[1]}`, "not a JSON object"},
		{"other connector", `{"key":["other",{"server":"p"}],"value":{"lsn":1}}`, "belongs to"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "offsets.json")
			if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			v, err := NewFile(path, "sluice", "p").Load(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load = %q, %v; want an error saying %q", v, err, c.want)
			}
		})
	}
}
