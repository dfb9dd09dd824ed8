package cli

import (
	"strings"
	"testing"
	"time"
)

// TestHASettings: --ha needs --offsets-topic (every process reads its predecessor's offset);
// the properties set the flags.
func TestHASettings(t *testing.T) {
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--topic-prefix", "p", "--ha", "--ha-session-timeout", "10ms", "--offsets-file", "x"}); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(func(string) (string, bool) { return "", false })
	for _, want := range []string{"--ha needs --offsets-topic", "--ha-session-timeout 10ms"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}

	props := writeFile(t, "ha.properties", "topic.prefix=p\nsluice.ha.enabled=true\nsluice.ha.session.timeout.ms=7000\nsluice.ha.topic=coord\n"+
		"offset.storage.topic=offs\ndebezium.sink.kafka.producer.bootstrap.servers=k:9092\n")
	fs, c = newTestFlags(t)
	if err := fs.Parse([]string{"--config", props}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if !c.HA.Enabled || c.HA.SessionTimeout != 7*time.Second || c.HA.Topic != "coord" {
		t.Fatalf("HA = %+v", c.HA)
	}
}
