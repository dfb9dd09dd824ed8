package mysqlddl

import (
	"errors"
	"fmt"

	"github.com/sluicecdc/sluice/schema"
)

// ErrUnknownTable says a statement altered a table the catalog does not hold.
var ErrUnknownTable = errors.New("table not in the schema history")

// DefinitionError says a statement created a table whose columns the statement does not
// spell out (CREATE TABLE … SELECT): the caller must read the definition from the server.
type DefinitionError struct {
	ID  schema.TableID
	Why string
}

func (e *DefinitionError) Error() string {
	return fmt.Sprintf("table %s: %s", e.ID, e.Why)
}

// ParseError says the grammar could not read a statement. Tables lists the table names the
// statement seems to mention (a best guess from its words), so the caller can decide whether
// it touches a captured table.
type ParseError struct {
	Stmt   string
	Err    error
	Tables []string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("cannot parse DDL %q: %v", truncate(e.Stmt, 200), e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
