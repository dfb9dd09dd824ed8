package binlog_test

import (
	"fmt"

	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// Example shows the decode loop a connector runs over the raw events its replication client
// reads: keep one Decoder per stream, switch on the decoded type, attach hints to each new
// TABLE_MAP, iterate rows, and walk compressed transaction payloads.
func Example() {
	// Events as a source sends them (here built by the test kit).
	s := testkit.NewBinlogStream(1)
	tbl := testkit.BinlogTable{ID: 7, Schema: "shop", Name: "items", Columns: []testkit.BinlogColumn{
		{Type: byte(binlog.TypeLong)}, {Type: byte(binlog.TypeString), Meta: []byte{byte(binlog.TypeEnum), 1}, Nullable: true},
	}}
	raw := [][]byte{
		s.FormatDescription("10.11.6-MariaDB-log"),
		s.Event(testkit.BinlogMariaGTID, testkit.MariaGTIDBody(100, 0, 0, 0)),
		s.Event(testkit.BinlogTableMap, tbl.Body()),
		s.Event(testkit.BinlogWriteRowsV1, testkit.RowsBody(1, 7, 1, 2, testkit.All(2), nil,
			testkit.RowImage(testkit.Int(1, 4), testkit.Int(2, 1)))),
		s.Event(testkit.BinlogXID, testkit.XIDBody(9)),
	}

	d := binlog.NewDecoder(binlog.Config{Checksum: binlog.ChecksumCRC32})
	handle := func(ev binlog.Event) {
		switch e := ev.Data.(type) {
		case *binlog.MariaGTID:
			fmt.Println("begin", e.GTID)
		case *binlog.TableMap:
			// MariaDB sends no ENUM members by default: the connector's schema does.
			if e.Hints() == nil {
				e.SetHints([]binlog.ColumnHint{{}, {Members: []string{"small", "large"}}})
			}
		case *binlog.RowsEvent:
			for e.Next() {
				fmt.Printf("%s.%s row %d: id=%d size=%s\n", e.Table.Schema, e.Table.Table, e.Row(), e.After()[0].Int, e.After()[1].Bytes)
			}
			if err := e.Err(); err != nil {
				fmt.Println(err)
			}
		case *binlog.XID:
			fmt.Println("commit at", ev.Header.LogPos)
		}
	}
	for _, r := range raw {
		ev, err := d.Decode(r)
		if err != nil {
			fmt.Println(err)
			return
		}
		handle(ev)
		for { // inner events of a TRANSACTION_PAYLOAD (MySQL compression)
			inner, ok, err := d.NextInPayload()
			if err != nil || !ok {
				break
			}
			handle(inner)
		}
	}
	// Output:
	// begin 0-1-100
	// shop.items row 0: id=1 size=large
	// commit at 289
}
