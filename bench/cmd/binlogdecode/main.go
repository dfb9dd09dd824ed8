// Command binlogdecode is the "decode only" subject of the MySQL/MariaDB benchmarks: it dumps
// a binlog over the replication protocol with sluice's own client (capture/mysql/replication)
// and decodes every row of every rows event into typed values with sluice's decoder
// (capture/mysql/binlog), then exits at the end of the binlog (non-blocking dump). Nothing is
// encoded or written; it prints the counts on stderr. It exists because the whole-connector
// `sluice mysql` cannot stop itself at the end of a binlog.
//
// Usage:
//
//	binlogdecode -addr 127.0.0.1:3306 -user repl -password pw -file binlog.000002 [-server-id 9101]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
)

func main() {
	var (
		addr     = flag.String("addr", "127.0.0.1:3306", "server host:port")
		user     = flag.String("user", "repl", "replication user")
		password = flag.String("password", "", "password")
		file     = flag.String("file", "", "binlog file to start at (empty: the first one, MySQL only)")
		serverID = flag.Uint("server-id", 9101, "replica server id")
		want     = flag.Int64("rows", 0, "fail unless exactly this many rows are decoded (0: any)")
	)
	flag.Parse()
	rows, events, err := run(*addr, *user, *password, *file, uint32(*serverID))
	fmt.Fprintf(os.Stderr, "binlogdecode: %d rows in %d events\n", rows, events)
	if err == nil && *want > 0 && rows != *want {
		err = fmt.Errorf("decoded %d rows, want %d", rows, *want)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "binlogdecode:", err)
		os.Exit(1)
	}
}

func run(addr, user, password, file string, serverID uint32) (rows, events int64, err error) {
	ctx := context.Background()
	conn, err := replication.Dial(ctx, replication.Config{
		Addr: addr, User: user, Password: password, ServerID: serverID,
		TLS: replication.TLSDisable, NonBlocking: true, HeartbeatPeriod: -1, DialTimeout: 10 * time.Second,
	})
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	if err := conn.StartDump(ctx, replication.StartPosition{File: file, Pos: 4}); err != nil {
		return 0, 0, err
	}
	cfg := binlog.Config{}
	if conn.Checksum() == "CRC32" {
		cfg.Checksum = binlog.ChecksumCRC32
	}
	d := binlog.NewDecoder(cfg)
	count := func(ev binlog.Event) error {
		re, ok := ev.Data.(*binlog.RowsEvent)
		if !ok {
			return nil
		}
		for re.Next() {
			rows++
		}
		return re.Err()
	}
	for {
		raw, err := conn.Next(ctx)
		if errors.Is(err, io.EOF) {
			return rows, events, nil
		}
		if err != nil {
			return rows, events, err
		}
		events++
		ev, err := d.Decode(raw)
		if err != nil {
			return rows, events, err
		}
		if _, ok := ev.Data.(*binlog.TransactionPayload); ok {
			for {
				in, ok, err := d.NextInPayload()
				if err != nil {
					return rows, events, err
				}
				if !ok {
					break
				}
				if err := count(in); err != nil {
					return rows, events, err
				}
			}
			continue
		}
		if err := count(ev); err != nil {
			return rows, events, err
		}
	}
}
