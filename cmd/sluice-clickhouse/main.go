// Command sluice-clickhouse is `sluice clickhouse` as a binary of its own: Debezium topics from
// Kafka to ClickHouse tables, without the capture sources (a smaller binary and RSS: the
// all-in-one binary's MySQL parser alone maps ~15 MB at start). Its flags are those of
// `sluice clickhouse` (see -h); `sluice-clickhouse version` prints the version.
package main

import (
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/cli/clickhousecmd"
)

// Version is stamped at build time: go build -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	cli.Version = Version
	cli.MainOnly("sluice-clickhouse", clickhousecmd.Command())
}
