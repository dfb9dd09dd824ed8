package mysqlcmd

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/internal/leader"
)

// TestLeadHistoryRefusesAfterLoss: once the process no longer leads (--ha), a DDL it read
// before a pause is not appended behind its successor's records.
func TestLeadHistoryRefusesAfterLoss(t *testing.T) {
	ctx := context.Background()
	var lost error
	mem := new(history.Memory)
	h := leadHistory{mem, func() error { return lost }}
	if err := h.Append(ctx, &history.Record{DDL: "CREATE TABLE a (id int)"}); err != nil {
		t.Fatal(err)
	}
	lost = &leader.LostError{Group: "g", Reason: "lease"}
	for name, appendFn := range map[string]func() error{
		"Append":      func() error { return h.Append(ctx, &history.Record{DDL: "ALTER TABLE a ADD c int"}) },
		"AppendBatch": func() error { return h.AppendBatch(ctx, []*history.Record{{DDL: "CREATE TABLE b (id int)"}}) },
	} {
		err := appendFn()
		var le *leader.LostError
		if !errors.As(err, &le) || capture.Retryable(err) {
			t.Errorf("%s after the loss: %v, want a not retryable *leader.LostError", name, err)
		}
	}
	if recs, _ := mem.Load(ctx); len(recs) != 1 {
		t.Fatalf("history holds %d records, want only the one appended while leading", len(recs))
	}
}
