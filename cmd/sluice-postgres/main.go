// Command sluice-postgres is `sluice postgres` as a binary of its own: PostgreSQL capture through
// a pgoutput slot to Kafka or stdout, without the MySQL and ClickHouse code (a smaller binary and
// idle RSS). Its flags are those of `sluice postgres` (see -h); `sluice-postgres version` prints
// the version. It has no --sink clickhouse.
package main

import (
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/cli/postgrescmd"
)

// Version is stamped at build time: go build -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	cli.Version = Version
	cli.MainOnly("sluice-postgres", postgrescmd.Command(cli.StdoutSink, cli.KafkaSink))
}
