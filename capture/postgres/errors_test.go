package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sluicecdc/sluice/capture"
)

func TestClassify(t *testing.T) {
	pg := func(code, msg string) error {
		return fmt.Errorf("postgres: connect: %w", &pgconn.PgError{Code: code, Message: msg})
	}
	cases := []struct {
		name  string
		err   error
		retry bool
		hint  string
	}{
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true, ""},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true, ""},
		{"eof", fmt.Errorf("receive message failed: %w", io.ErrUnexpectedEOF), true, ""},
		{"admin shutdown (pg_ctl -m fast)", pg("57P01", "terminating connection due to administrator command"), true, ""},
		{"starting up", pg("57P03", "the database system is starting up"), true, ""},
		{"too many connections", pg("53300", "sorry, too many clients already"), true, ""},
		{"slot still active", pg("55006", `replication slot "s" is active for PID 42`), true, ""},
		{"connection exception", pg("08006", "connection failure"), true, ""},
		{"bad password", pg("28P01", `password authentication failed for user "u"`), false, "password"},
		{"no REPLICATION", pg("42501", "permission denied to start WAL sender"), false, "REPLICATION"},
		{"no database", pg("3D000", `database "x" does not exist`), false, "--dbname"},
		{"no publication", pg("42704", `publication "p" does not exist`), false, "CREATE PUBLICATION"},
		{"other server error", pg("22P02", "invalid input syntax"), false, ""},
		{"cancelled", context.Canceled, false, ""},
		{"decode error", errors.New("pgoutput: short message"), false, ""},
		// The end of an initial_only snapshot wraps io.EOF so the pipeline ends cleanly; marked
		// retryable, the command reopened the source (a new snapshot) until its retry timeout.
		{"initial_only done", ErrSnapshotOnly, false, "initial_only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := classify(c.err)
			if capture.Retryable(got) != c.retry {
				t.Errorf("Retryable(%v) = %v, want %v", got, !c.retry, c.retry)
			}
			if !errors.Is(got, c.err) {
				t.Errorf("%v does not wrap %v", got, c.err)
			}
			if !strings.Contains(got.Error(), c.hint) {
				t.Errorf("%q does not name %q", got, c.hint)
			}
		})
	}
}

// TestClassifyPublicationGap: pgoutput's "publication does not exist" while decoding (the slot
// reads WAL written while the publication did not exist: dropped and created again, or created
// after the slot) recurs at every restart, and creating the publication, which the old hint
// said, does not help: the hint names the way out (a new slot and snapshot). Classified twice
// (source and pipeline), the hint is said once.
func TestClassifyPublicationGap(t *testing.T) {
	pe := &pgconn.PgError{Code: "42704", Message: `publication "p" does not exist`,
		Where: `slot "s", output plugin "pgoutput", in the change callback, associated LSN 0/15AFB90`}
	got := classify(classify(fmt.Errorf("postgres: replication stream: %w", pe)))
	if capture.Retryable(got) || !errors.Is(got, pe) {
		t.Fatalf("%v: retryable %v", got, capture.Retryable(got))
	}
	msg := got.Error()
	for _, want := range []string{"0/15AFB90", "--snapshot-mode always"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, "CREATE PUBLICATION") || strings.Count(msg, "not retried") != 1 {
		t.Errorf("%q: the create-it hint, or a hint said twice", msg)
	}
}
