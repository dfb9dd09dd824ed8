package leader

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// Fence bumps the producer epoch of txnID (Kafka's InitProducerId): the broker aborts the
// transaction a previous holder of txnID left open and refuses that holder's further writes
// and commits. A new leader fences before it reads the stored offset, so a predecessor that
// was paused and resumes cannot commit records and an offset after that read (its successor
// would send those records again).
func Fence(ctx context.Context, client kafka.ClientConfig, txnID string, log *slog.Logger) error {
	opts, err := client.Kgo("sluice", log)
	if err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	defer cl.Close()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID = &txnID
	req.TransactionTimeoutMillis = int32(time.Minute / time.Millisecond)
	req.ProducerID, req.ProducerEpoch = -1, -1
	// CONCURRENT_TRANSACTIONS (the broker is still aborting the old transaction) is retriable.
	err = client.Retry(ctx, log, "fence the previous leader (InitProducerId "+txnID+")", func() error {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	if err != nil {
		return fmt.Errorf("ha: fence the previous leader's transactions (transactional.id %s): %w", txnID, err)
	}
	return nil
}
