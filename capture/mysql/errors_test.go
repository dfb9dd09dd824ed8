package mysql

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
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
