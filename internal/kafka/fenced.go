package kafka

import (
	"errors"

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
