package kafka

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Fenced reports whether err says that another producer with the same transactional.id took
// over: the coordinator bumped the epoch (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH), or, to a
// commit sent after that bump, it answers INVALID_TXN_STATE (kfake does; a KIP-890 coordinator
// does when the epoch moved one ahead and the transaction it knows was aborted by the fence).
// A fenced producer must stop: retrying re-initializes the producer, which fences the process
// that took over in turn.
func Fenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.InvalidTxnState)
}

// FencedError is a write refused because another process took over the transactional.id
// (Fenced). Not retryable: the process must stop writing; restarted, it rejoins as a standby
// (--ha) or fences the other in turn.
type FencedError struct {
	Op              string // what was refused, e.g. "append to the schema history db.history"
	TransactionalID string
	Err             error
}

func (e *FencedError) Error() string {
	return fmt.Sprintf("kafka: %s: fenced: another process of this connector (same --name and --topic-prefix) took over transactional.id %s; "+
		"this one stopped writing (restart it to rejoin as a standby): %v", e.Op, e.TransactionalID, e.Err)
}
func (e *FencedError) Unwrap() error   { return e.Err }
func (e *FencedError) Retryable() bool { return false }
