package envelope

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one Kafka record as Debezium would produce it. A nil Key or Value is a Kafka null
// (a tombstone has a Key and a nil Value). Key and Value may alias the Encoder's reused buffer:
// they are valid until the next Encode call, so a sink that keeps them must copy.
type Record struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []Header
	// Compact says Key, Value and header values are JSON (or nil) without whitespace, as the
	// Encoder writes them (it sets it on every record), so a sink may embed them unchecked.
	// A zero Record (built elsewhere) makes no such promise.
	Compact bool
	// TsNS is the processing time (ns since the epoch) the envelope's ts_ms was taken from, 0
	// when none was read. The Kafka sink makes it the record's timestamp: kgo would read the
	// clock again per record (5% of the MySQL → Kafka CPU on a VM).
	TsNS int64
}
