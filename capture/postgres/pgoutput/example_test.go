package pgoutput_test

import (
	"fmt"

	"github.com/sluicecdc/sluice/capture/postgres/pgoutput"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// Decode an INSERT (INSERT INTO t VALUES (42, NULL)) and read its columns.
func ExampleParse() {
	data := testkit.PgoutputInsert(0, 16385, testkit.PgoutputTextTuple([]byte("42"), nil))
	msg, err := pgoutput.Parse(data)
	if err != nil {
		panic(err)
	}
	switch m := msg.(type) {
	case *pgoutput.InsertMessage:
		cols, err := m.Tuple.Columns(nil)
		if err != nil {
			panic(err)
		}
		for _, c := range cols {
			fmt.Printf("%s %c %q\n", m.Type(), c.Kind, m.Tuple.Value(c))
		}
	}
	// Output:
	// INSERT t "42"
	// INSERT n ""
}
