// Command sluice captures row changes from MySQL/MariaDB and PostgreSQL and publishes them as
// Debezium-compatible records to Kafka, stdout or ClickHouse, with every subcommand (postgres,
// mysql, check, clickhouse, verify, version) in one binary. sluice-postgres and sluice-mysql are the smaller
// one-source binaries; the command line itself lives in internal/cli.
package main

import (
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/cli/checkcmd"
	"github.com/sluicecdc/sluice/internal/cli/clickhousecmd"
	"github.com/sluicecdc/sluice/internal/cli/mysqlcmd"
	"github.com/sluicecdc/sluice/internal/cli/postgrescmd"
	"github.com/sluicecdc/sluice/internal/cli/verifycmd"
)

// Version is stamped at build time: go build -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	cli.Version = Version
	cli.Main(commands()...)
}

func commands() []cli.Command {
	sinks := []cli.SinkKind{cli.StdoutSink, cli.KafkaSink, clickhousecmd.Sink}
	pg, my, chc := postgrescmd.Command(sinks...), mysqlcmd.Command(sinks...), clickhousecmd.Command()
	return []cli.Command{
		pg,
		my,
		checkcmd.Command(pg, my, chc),
		chc,
		verifycmd.Command(),
	}
}
