// Command sluice captures row changes from MySQL/MariaDB and PostgreSQL and publishes them as
// Debezium-compatible records to Kafka, stdout or ClickHouse, with every subcommand (postgres,
// mysql, clickhouse, version) in one binary. sluice-postgres and sluice-mysql are the smaller
// one-source binaries; the command line itself lives in internal/cli.
package main

import (
	"github.com/sluicecdc/sluice/internal/cli"
	_ "github.com/sluicecdc/sluice/internal/cli/clickhousecmd" // sluice clickhouse, --sink clickhouse
	_ "github.com/sluicecdc/sluice/internal/cli/mysqlcmd"      // sluice mysql
	_ "github.com/sluicecdc/sluice/internal/cli/postgrescmd"   // sluice postgres
)

// Version is stamped at build time: go build -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	cli.Version = Version
	cli.Main("")
}
