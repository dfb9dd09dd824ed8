package replication_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/sluicecdc/sluice/capture/mysql/replication"
)

// Dump a server's binlog from its current position and print each event's type and size.
func Example() {
	ctx := context.Background()
	c, err := replication.Dial(ctx, replication.Config{
		Addr: "127.0.0.1:3306", User: "repl", Password: "replpw",
		ServerID: 4242, // unique among the server's replicas
		TLS:      replication.TLSRequired,
	})
	if err != nil {
		log.Fatal(err) // e.g. errors.Is(err, replication.ErrAccessDenied), with a hint in the message
	}
	defer c.Close()

	st, err := c.BinlogStatus(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.StartDump(ctx, replication.StartPosition{File: st.File, Pos: st.Pos}); err != nil {
		log.Fatal(err)
	}
	for {
		ev, err := c.Next(ctx) // valid until the next call
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			log.Fatal(err) // capture.Retryable(err) says whether reconnecting may help
		}
		fmt.Printf("event type %d, %d bytes\n", ev[4], len(ev))
	}
}
