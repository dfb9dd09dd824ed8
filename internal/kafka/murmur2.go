package kafka

// Murmur2 is the 32-bit MurmurHash2 variant Kafka's Java client uses to partition keyed records
// (org.apache.kafka.common.utils.Utils.murmur2, seed 0x9747b28c).
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; n-i >= 4; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// Partition returns the partition Kafka's default partitioner picks for a non-null key:
// (murmur2(key) & 0x7fffffff) % partitions. Debezium's per-key order holds only if sluice and
// Kafka Connect agree on it.
func Partition(key []byte, partitions int32) int32 {
	if partitions <= 1 {
		return 0
	}
	return (Murmur2(key) & 0x7fffffff) % partitions
}
