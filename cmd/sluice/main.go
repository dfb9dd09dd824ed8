// Command sluice captures row changes from MySQL/MariaDB and PostgreSQL and publishes them as
// Debezium-compatible records to Kafka or stdout. Each capture subcommand (postgres, mysql, …)
// registers itself in commands from its own file; this file only dispatches.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
)

// Version is stamped at build time: go build -ldflags "-X main.Version=…".
var Version = "dev"

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands holds the subcommands; subcommand files register in init().
var commands = map[string]command{}

func init() {
	commands["version"] = command{
		summary: "print the version and exit",
		run: func(context.Context, []string) error {
			fmt.Printf("sluice %s %s %s/%s\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// errUsage marks an error already reported with usage text; main exits 2 without repeating it.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the pipeline flushes and saves offsets; restoring the default
		// handlers lets a second signal end a shutdown that hangs (e.g. Kafka unreachable).
		<-ctx.Done()
		stop()
	}()
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain dispatches args to a subcommand and returns the process exit code: 0 on success, 2 for
// usage errors, 1 for everything else.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				_ = c.run(ctx, []string{"-h"})
				return 0
			}
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := c.run(ctx, args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return 0
	}
	fmt.Fprintf(stderr, "sluice %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "sluice %s: change data capture with Debezium-compatible output\n\nUsage:\n  sluice <command> [flags]\n\nCommands:\n", Version)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'sluice <command> -h' for the flags of a command. Every flag can also be set\n"+
		"with an environment variable SLUICE_<FLAG> (e.g. SLUICE_TOPIC_PREFIX) or in a properties\n"+
		"file given with --config (Debezium property names are accepted).\n")
}
