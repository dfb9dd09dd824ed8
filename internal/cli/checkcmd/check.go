// Package checkcmd is `sluice check`: the preflight of a capture command's source, sink and
// offsets store, creating nothing, as a table. The checks themselves are the source commands'
// (`sluice postgres check`, `sluice-postgres check`); this command picks the source by name
// or by the connector.class of the --config file.
package checkcmd

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/properties"
)

// classes maps Debezium connector classes to the sluice command that runs them.
var classes = map[string]string{
	"io.debezium.connector.postgresql.PostgresConnector": "postgres",
	"io.debezium.connector.mysql.MySqlConnector":         "mysql",
	"io.debezium.connector.mariadb.MariaDbConnector":     "mysql",
}

// Command is `sluice check` over the capture commands cmds (those with a Check).
func Command(cmds ...cli.Command) cli.Command {
	return cli.Command{
		Name:    "check",
		Summary: "check the source, sink and offsets store of a capture command (creates nothing)",
		Run: func(ctx context.Context, prog string, args []string) error {
			var names []string
			for _, c := range cmds {
				names = append(names, c.Name)
			}
			usage := fmt.Sprintf("usage: %s <%s> [flags of that command], or %s --config FILE (the source from its connector.class)",
				prog, strings.Join(names, "|"), prog)
			if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
				fmt.Println(usage)
				fmt.Println("\nPrints one line per check (CHECK, STATUS, DETAIL, FIX); exit status 0 when none failed, 1 when one did, 2 for a usage or configuration error.")
				return nil
			}
			name := ""
			if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
				name, args = args[0], args[1:]
			} else if file := configFile(args); file != "" {
				props, err := properties.Read(file)
				if err != nil {
					return cli.Config(err)
				}
				class := props["debezium.source.connector.class"]
				if class == "" {
					class = props["connector.class"]
				}
				if name = classes[strings.TrimSpace(class)]; name == "" {
					return cli.Config(fmt.Errorf("%s: connector.class %q names no source sluice has; %s", file, class, usage))
				}
			}
			for _, c := range cmds {
				if c.Name == name && c.Check != nil {
					return c.Check(ctx, prog+" "+name, args)
				}
			}
			if name == "" {
				return &cli.UsageError{Msg: "which source? " + usage}
			}
			return &cli.UsageError{Msg: fmt.Sprintf("unknown source %q; %s", name, usage)}
		},
	}
}

// configFile finds the --config file among args, else in SLUICE_CONFIG.
func configFile(args []string) string {
	for i, a := range args {
		for _, p := range []string{"--config", "-config"} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v
			}
		}
	}
	return os.Getenv(cli.EnvName("config"))
}
