package mysql

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture/mysql/history"
)

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"reset", fmt.Errorf("query: %w", syscall.ECONNRESET), true},
		{"invalid conn", gomysql.ErrInvalidConn, true},
		{"bad conn", driver.ErrBadConn, true},
		{"eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"too many connections", &gomysql.MySQLError{Number: 1040}, true},
		{"shutdown", &gomysql.MySQLError{Number: 1053}, true},
		{"access denied", &gomysql.MySQLError{Number: 1045}, false},
		{"missing grant", fmt.Errorf("x: %w", &gomysql.MySQLError{Number: 1227}), false},
		{"unknown database", &gomysql.MySQLError{Number: 1049}, false},
		{"syntax", &gomysql.MySQLError{Number: 1064}, false},
		{"cancelled", context.Canceled, false},
		{"other", fmt.Errorf("decode: bad"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("%s: transient = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidateSkipPurgedExcludesWhenNeeded(t *testing.T) {
	c := Config{DSN: "mysql://u@h:3306", ServerID: 1, Name: "p", History: new(history.Memory),
		SnapshotMode: SnapshotWhenNeeded, SkipPurgedBinlog: true}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Fatalf("Validate = %v", err)
	}
	c.SnapshotMode = SnapshotInitial
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
