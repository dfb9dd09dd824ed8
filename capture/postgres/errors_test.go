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
