package kafka

import (
	"testing"

	"github.com/IBM/sarama"
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

// TestSaramaPartitionerMatches checks that the sarama partitioner the sink uses picks the same
// partitions as Kafka's Java default partitioner.
func TestSaramaPartitionerMatches(t *testing.T) {
	p := sarama.NewMurmur2Partitioner("t")
	for _, n := range []int32{1, 3, 6, 25, 64} {
		for _, c := range javaMurmur2 {
			msg := &sarama.ProducerMessage{Key: sarama.ByteEncoder(c.in)}
			got, err := p.Partition(msg, n)
			if err != nil {
				t.Fatal(err)
			}
			want := (c.want & 0x7fffffff) % n
			if got != want || Partition([]byte(c.in), n) != want {
				t.Errorf("key %q, %d partitions: sarama %d, ours %d, Java %d", c.in, n, got, Partition([]byte(c.in), n), want)
			}
		}
	}
}
