package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Values from Kafka's own UtilsTest.testMurmur2 (clients/src/test/java/.../utils/UtilsTest.java).
var javaMurmur2 = []struct {
	in   string
	want int32
}{
	{"21", -973932308},
	{"foobar", -790332482},
	{"a-little-bit-long-string", -985981536},
	{"a-little-bit-longer-string", -1486304829},
	{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
	{"abc", 479470107},
}

func TestMurmur2MatchesJava(t *testing.T) {
	for _, c := range javaMurmur2 {
		t.Run(c.in, func(t *testing.T) {
			if got := Murmur2([]byte(c.in)); got != c.want {
				t.Errorf("Murmur2(%q) = %d, want %d", c.in, got, c.want)
			}
		})
	}
}

// TestKgoPartitionerMatches checks that franz-go's key partitioner (its default hasher is
// Kafka's murmur2) picks the same partitions as ours and Kafka's Java default partitioner, so
// records keyed by any of sluice's clients land where the others look for them.
func TestKgoPartitionerMatches(t *testing.T) {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	for _, n := range []int32{1, 3, 6, 25, 64} {
		for _, c := range javaMurmur2 {
			got := int32(p.Partition(&kgo.Record{Key: []byte(c.in)}, int(n)))
			want := (c.want & 0x7fffffff) % n
			if got != want || Partition([]byte(c.in), n) != want {
				t.Errorf("key %q, %d partitions: franz-go %d, ours %d, Java %d", c.in, n, got, Partition([]byte(c.in), n), want)
			}
		}
	}
}
