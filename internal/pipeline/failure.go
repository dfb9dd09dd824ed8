package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// FailureMode is Debezium's event.processing.failure.handling.mode: what Run does with an event
// that cannot be processed (a value that does not fit its Connect schema, a record the sink
// refuses for good, such as one over --kafka-max-message-bytes).
type FailureMode uint8

const (
	// FailureFail stops the pipeline with an error naming the event (the default): nothing
	// after it is released, and a restart stops at the same event until it is fixed or skipped.
	FailureFail FailureMode = iota
	// FailureWarn logs the event at Warn level with its details, counts it in
	// Stats.ErroneousEvents, skips it and goes on.
	FailureWarn
	// FailureSkip is FailureWarn logging at Debug level.
	FailureSkip
)

var failureModeNames = [...]string{"fail", "warn", "skip"}

func (m FailureMode) String() string {
	if int(m) < len(failureModeNames) {
		return failureModeNames[m]
	}
	return fmt.Sprintf("FailureMode(%d)", m)
}

// ParseFailureMode reads "fail", "warn" or "skip" (Debezium's values; "ignore" is an old
// Debezium name of skip).
func ParseFailureMode(s string) (FailureMode, error) {
	switch s {
	case "", "fail":
		return FailureFail, nil
	case "warn":
		return FailureWarn, nil
	case "skip", "ignore":
		return FailureSkip, nil
	}
	return 0, fmt.Errorf("event processing failure handling mode %q: want fail, warn or skip", s)
}

// skippable reports whether err says the event (or record) that caused it may be dropped
// without stopping: an envelope.ValueError, or a sink error with Skippable() true.
func skippable(err error) bool {
	var ve *envelope.ValueError
	if errors.As(err, &ve) {
		return true
	}
	var s interface{ Skippable() bool }
	return errors.As(err, &s) && s.Skippable()
}

// failureHint is appended to the error that stops the pipeline on a skippable failure in fail
// mode: it says how to get past the event.
const failureHint = "; to log and skip such events instead of stopping, set --event-processing-failure-handling-mode=warn " +
	"(event.processing.failure.handling.mode)"

// onFailure applies the failure mode to err (already wrapped with the failed step), met while
// processing the event at pos. It returns nil when the event (or record) is to be skipped, or
// the error that stops the pipeline.
func (p *run) onFailure(ctx context.Context, err error, pos capture.Position) error {
	if !skippable(err) {
		return err
	}
	if p.cfg.FailureMode == FailureFail {
		return fmt.Errorf("%w%s", err, failureHint)
	}
	p.cfg.Stats.ErroneousEvents.Add(1)
	level := slog.LevelWarn
	if p.cfg.FailureMode == FailureSkip {
		level = slog.LevelDebug
	}
	if !p.cfg.Logger.Enabled(ctx, level) {
		return nil
	}
	attrs := []slog.Attr{slog.String("position", describe(pos))}
	var ve *envelope.ValueError
	if errors.As(err, &ve) {
		attrs = append(attrs, slog.String("table", ve.Table), slog.String("column", ve.Column),
			slog.String("type", ve.Type), slog.String("value_kind", ve.Kind), slog.String("schema", ve.Schema))
	}
	attrs = append(attrs, slog.String("mode", p.cfg.FailureMode.String()), slog.Any("err", err))
	p.cfg.Logger.LogAttrs(ctx, level, "skipping an event that cannot be processed", attrs...)
	return nil
}
