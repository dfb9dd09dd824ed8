package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fenced reports whether err says by itself that another producer with the same
// transactional.id took over: the coordinator bumped the epoch (PRODUCER_FENCED,
// INVALID_PRODUCER_EPOCH). A fenced producer must stop: retrying re-initializes the producer,
// which fences the process that took over in turn. See TxnFenced for INVALID_TXN_STATE.
func Fenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}

// TxnFenced reports whether err, returned by a transactional call of cl under txnID whose
// producer id and epoch were pid and epoch before the call, means that another producer took
// txnID over. Besides the Fenced errors, INVALID_TXN_STATE does when the coordinator now holds
// another producer id or a newer epoch: kfake, and a KIP-890 coordinator whose epoch the fence
// moved one ahead, answer a commit after a fence so. With this producer's id and epoch still
// there it is this producer's own state, retryable. When the coordinator does not answer,
// it counts as fenced: a retry re-initializes the producer and could fence the successor.
func TxnFenced(ctx context.Context, cl *kgo.Client, txnID string, pid int64, epoch int16, err error) bool {
	if Fenced(err) {
		return true
	}
	if !errors.Is(err, kerr.InvalidTxnState) {
		return false
	}
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{txnID}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	resp, rerr := req.RequestWith(dctx, cl)
	if rerr != nil || len(resp.TransactionStates) != 1 || resp.TransactionStates[0].ErrorCode != 0 {
		return true
	}
	st := resp.TransactionStates[0]
	return st.ProducerID != pid || st.ProducerEpoch > epoch
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
