// Command sluice-mysql is `sluice mysql` as a binary of its own: MySQL/MariaDB binlog capture to
// Kafka or stdout, without the PostgreSQL and ClickHouse code (a smaller binary and idle RSS).
// Its flags are those of `sluice mysql` (see -h); `sluice-mysql version` prints the version. It
// has no --sink clickhouse.
package main

import (
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/cli/mysqlcmd"
)

// Version is stamped at build time: go build -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	cli.Version = Version
	cli.MainOnly("sluice-mysql", mysqlcmd.Command(cli.StdoutSink, cli.KafkaSink))
}
