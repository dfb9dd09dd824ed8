package mysql

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
)

// TestSkippedStatementLog: a statement the connector skips is logged by its kind and table,
// not its text, which may carry row values or a password, unless --log-statements says so.
func TestSkippedStatementLog(t *testing.T) {
	const secret = "S3cr3t-row-value"
	for _, c := range []struct {
		name     string
		errCode  uint16
		stmt     string
		wantKind string // in the log line without --log-statements
	}{
		// A DML statement logged with an error (a statement-based write that failed on a
		// non-transactional table): warn.
		{"dml with error", 1062, "INSERT INTO shop.customers (id, email) VALUES (1, '" + secret + "')", `stmt_kind="INSERT INTO" table=shop.customers`},
		// Non-DDL, not row-based: debug.
		{"dml", 0, "UPDATE `shop`.`customers` SET email = '" + secret + "' WHERE id = 1", "stmt_kind=UPDATE table=`shop`.`customers`"},
		{"password", 0, "/* app */ CREATE USER 'u'@'%' IDENTIFIED BY '" + secret + "'", `stmt_kind="CREATE USER"`},
	} {
		for _, logStatements := range []bool{false, true} {
			var buf bytes.Buffer
			s := &Source{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
				cfg: Config{LogStatements: logStatements}, cat: mysqlddl.NewCatalog("8.0.36")}
			q := &binlog.Query{Schema: []byte("shop"), Query: []byte(c.stmt), ErrorCode: c.errCode}
			if err := s.applyDDL(context.Background(), binlog.Header{}, q, c.stmt, false); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			out := buf.String()
			if !strings.Contains(out, "skipping") {
				t.Fatalf("%s: not logged: %q", c.name, out)
			}
			if logStatements {
				if !strings.Contains(out, secret) {
					t.Errorf("%s with --log-statements: the statement is not logged: %s", c.name, out)
				}
				continue
			}
			if strings.Contains(out, secret) {
				t.Errorf("%s: a value of the statement is logged: %s", c.name, out)
			}
			if !strings.Contains(out, c.wantKind) {
				t.Errorf("%s: log line lacks %s: %s", c.name, c.wantKind, out)
			}
		}
	}
}
