// Package offsets stores the resume position of one connector: the Kafka Connect offset value
// (a JSON object, spec §8) under the key ["<name>",{"server":"<topic.prefix>"}].
//
// Guarantee: at-least-once. The pipeline saves a position only after every record up to it is
// durable in the sink, and saves on an interval and at shutdown; after a crash the source resumes
// from the last saved position and re-emits what followed it, so consumers may see duplicates but
// never miss a record.
package offsets

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// Store keeps the latest offset of one connector. Implementations are safe for use by one
// goroutine at a time; the pipeline calls Save from its acker only.
type Store interface {
	// Load returns the stored offset value (a JSON object), or nil with no error when nothing
	// has been stored yet.
	Load(ctx context.Context) ([]byte, error)
	// Save makes value the stored offset; it is durable when Save returns nil. Save does not
	// keep value.
	Save(ctx context.Context, value []byte) error
	Close() error
}

// Key returns Kafka Connect's offset key for a Debezium connector: ["<name>",{"server":"<prefix>"}].
func Key(name, topicPrefix string) []byte {
	n, _ := json.Marshal(name)
	p, _ := json.Marshal(topicPrefix)
	return fmt.Appendf(nil, `[%s,{"server":%s}]`, n, p)
}

// validValue reports an error unless value is a JSON object.
func validValue(value []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(value, &m); err != nil {
		return fmt.Errorf("offset value is not a JSON object: %w", err)
	}
	if m == nil {
		return fmt.Errorf("offset value is null, not a JSON object")
	}
	return nil
}

// Memory is a Store kept in memory, for tests and for runs that need no resume.
// It is safe for concurrent use.
type Memory struct {
	mu    sync.Mutex
	value []byte
}

// Load returns a copy of the last saved value.
func (m *Memory) Load(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.value == nil {
		return nil, nil
	}
	return append([]byte(nil), m.value...), nil
}

// Save keeps a copy of value.
func (m *Memory) Save(_ context.Context, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.value = append([]byte(nil), value...)
	return nil
}

// Close does nothing.
func (m *Memory) Close() error { return nil }
