// Package cli is the command line shared by the sluice binaries: dispatch to subcommands, exit
// codes (0, 1 runtime failure, 2 usage or configuration error), the grouped --help, the
// flag > SLUICE_* environment variable > --config file > default precedence (Set),
// the flags every capture subcommand shares (Capture), the stdout and Kafka sinks, /healthz and
// /metrics, the runtime memory limit and the pipeline run loop.
//
// Each component's Config registers its own flags, defaults and Debezium property names; this
// package only applies them. Each subcommand lives in its own package under internal/cli
// (postgrescmd, mysqlcmd, clickhousecmd) and each main wires the commands and sinks it links,
// so cmd/sluice-postgres and cmd/sluice-mysql link one source each (smaller binaries with a
// smaller idle RSS).
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
	"strings"
	"syscall"
)

// Version is the version the binaries report; main sets it from its own build-time stamp
// (go build -ldflags "-X main.Version=…").
var Version = "dev"

// A Command is a subcommand a main wires in.
type Command struct {
	Name    string
	Summary string
	// Run gets the program name usage text should show ("sluice postgres", or
	// "sluice-postgres" in a one-command binary) and the arguments after it. It returns
	// flag.ErrHelp after -h, ErrUsage after a usage error it reported, and nil or an error
	// otherwise.
	Run func(ctx context.Context, prog string, args []string) error
	// Check, if set, is `<prog> check [flags]` (and `sluice check <name>`): the preflight of
	// the command's source, sink and offsets store with the same flags, creating nothing,
	// printed as a table; ErrChecksFailed when a check failed.
	Check func(ctx context.Context, prog string, args []string) error
}

// ErrUsage marks an error already reported with usage text; the process exits 2 without
// repeating it.
var ErrUsage = errors.New("usage")

// Main runs the all-in-one binary: it dispatches os.Args[1:] to one of cmds (sluice
// <command> [flags]) and exits with the code of RunMain.
func Main(cmds ...Command) {
	exit(func(ctx context.Context) int { return RunMain(ctx, cmds, os.Args[1:], os.Stdout, os.Stderr) })
}

// MainOnly runs a one-command binary named prog (sluice-postgres [flags]) and exits with the
// code of RunOnly.
func MainOnly(prog string, cmd Command) {
	exit(func(ctx context.Context) int { return RunOnly(ctx, prog, cmd, os.Args[1:], os.Stdout, os.Stderr) })
}

func exit(run func(ctx context.Context) int) {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals()...)
	go func() {
		// After the first signal the pipeline flushes and saves offsets; restoring the default
		// handlers lets a second signal end a shutdown that hangs (e.g. Kafka unreachable).
		<-ctx.Done()
		stop()
	}()
	code := run(ctx)
	stop()
	os.Exit(code)
}

// stopSignals are the signals that stop sluice cleanly (in-flight records flushed, offsets
// saved). SIGHUP is one of them, as for Debezium Server's JVM, so a closed terminal or
// session does not kill a run mid-flush; when the process was started with SIGHUP ignored
// (nohup), it stays ignored: handling it would undo nohup.
func stopSignals() []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}

// RunMain dispatches args to one of cmds and returns the process exit code: 0 on success, 2 for
// usage errors, 1 for everything else. "version" is always a command.
func RunMain(ctx context.Context, cmds []Command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr, cmds)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if c, ok := find(cmds, args[1]); ok {
				_ = c.Run(ctx, "sluice "+c.Name, []string{"-h"})
				return 0
			}
		}
		usage(stdout, cmds)
		return 0
	case "version", "-version", "--version":
		return printVersion(stdout)
	}
	c, ok := find(cmds, args[0])
	if !ok {
		fmt.Fprintf(stderr, "sluice: unknown command %q; see 'sluice --help'\n", args[0])
		return 2
	}
	return run(ctx, c, "sluice "+c.Name, args[1:], stderr)
}

// RunOnly runs cmd as the binary prog with args (a leading command name is skipped; help is
// -h; version, -version and --version print the version) and returns the process exit code as
// RunMain does.
func RunOnly(ctx context.Context, prog string, cmd Command, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == cmd.Name {
		args = args[1:]
	}
	if len(args) > 0 {
		switch args[0] {
		case "version", "-version", "--version":
			return printVersion(stdout)
		case "help":
			args = []string{"-h"}
		}
	}
	return run(ctx, cmd, prog, args, stderr)
}

func find(cmds []Command, name string) (Command, bool) {
	i := slices.IndexFunc(cmds, func(c Command) bool { return c.Name == name })
	if i < 0 {
		return Command{}, false
	}
	return cmds[i], true
}

func printVersion(w io.Writer) int {
	fmt.Fprintf(w, "sluice %s %s %s/%s\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

func run(ctx context.Context, c Command, prog string, args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" && c.Check != nil {
		prog += " check"
		return exitCode(ctx, c.Check(ctx, prog, args[1:]), prog, stderr)
	}
	return exitCode(ctx, c.Run(ctx, prog, args), prog, stderr)
}

// exitCode reports err on stderr (unless already reported) and returns the exit status: 0
// done (or stopped by a signal), 2 a usage or configuration error, 1 anything else.
func exitCode(ctx context.Context, err error, prog string, stderr io.Writer) int {
	var (
		ue *UsageError
		ce *ConfigError
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s; see '%s --help'\n", prog, ue.Msg, prog)
		return 2
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "%s: configuration error: %v\n", prog, ce.Err)
		return 2
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	return 1
}

func usage(w io.Writer, cmds []Command) {
	fmt.Fprintf(w, "sluice %s: change data capture with Debezium-compatible output\n\nUsage:\n  sluice <command> [flags]\n\nCommands:\n", Version)
	all := append(slices.Clone(cmds), Command{Name: "version", Summary: "print the version and exit"})
	slices.SortFunc(all, func(a, b Command) int { return strings.Compare(a.Name, b.Name) })
	for _, c := range all {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nRun 'sluice <command> --help' for the flags of a command. Every flag can also be set\n"+
		"with an environment variable SLUICE_<FLAG> (e.g. SLUICE_TOPIC_PREFIX) or in a properties\n"+
		"file given with --config (Debezium property names are accepted).\n\n"+
		"Exit status: 0 done, 1 runtime failure, 2 usage or configuration error.\n")
}
