// Package cli is the command line shared by the sluice binaries: the subcommand registry, the
// flags every capture subcommand shares (with SLUICE_* environment variables and Debezium
// properties files), the sinks, /healthz and /metrics, the runtime memory limit and RunPipeline.
//
// Each subcommand lives in its own package under internal/cli (postgrescmd, mysqlcmd,
// clickhousecmd) and registers itself in init, so a main links only the sources and sinks of the
// subcommands it imports: cmd/sluice imports all of them, cmd/sluice-postgres and
// cmd/sluice-mysql one each (smaller binaries with a smaller idle RSS).
package cli

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

// Version is the version the binaries report; main sets it from its own build-time stamp
// (go build -ldflags "-X main.Version=…").
var Version = "dev"

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands holds the subcommands; subcommand packages register in init().
var commands = map[string]command{}

// Register adds a subcommand. run gets the arguments after the subcommand's name; it returns
// flag.ErrHelp after -h, ErrUsage after a usage error it reported, and nil or an error otherwise.
func Register(name, summary string, run func(ctx context.Context, args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

func init() {
	Register("version", "print the version and exit", func(context.Context, []string) error {
		fmt.Printf("sluice %s %s %s/%s\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	})
}

// ErrUsage marks an error already reported with usage text; the process exits 2 without
// repeating it.
var ErrUsage = errors.New("usage")

// Main runs the process: with only == "" it dispatches os.Args[1:] to a subcommand (sluice
// <command> [flags]); otherwise it runs the subcommand only (sluice-postgres [flags]), where a
// leading "only" argument is skipped and version, -version and --version print the version.
// It exits with the code of RunMain or RunOnly.
func Main(only string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the pipeline flushes and saves offsets; restoring the default
		// handlers lets a second signal end a shutdown that hangs (e.g. Kafka unreachable).
		<-ctx.Done()
		stop()
	}()
	var code int
	if only == "" {
		code = RunMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	} else {
		code = RunOnly(ctx, only, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	os.Exit(code)
}

// RunMain dispatches args to a subcommand and returns the process exit code: 0 on success, 2 for
// usage errors, 1 for everything else.
func RunMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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
	return run(ctx, args, stderr)
}

// RunOnly runs the subcommand name with args (a leading name is skipped; help is -h) and
// returns the process exit code as RunMain does.
func RunOnly(ctx context.Context, name string, args []string, _, stderr io.Writer) int {
	if len(args) > 0 && args[0] == name {
		args = args[1:]
	}
	if len(args) > 0 {
		switch args[0] {
		case "version", "-version", "--version":
			return run(ctx, []string{"version"}, stderr)
		case "help":
			args = []string{"-h"}
		}
	}
	return run(ctx, append([]string{name}, args...), stderr)
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
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
	case errors.Is(err, ErrUsage):
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
