// Command ledbridge puts a venue's WLED strips into a live online jam session.
//
// Each subcommand lives in its own file and registers itself on rootCmd in an init function.
//
// default.pgo is a CPU profile of the live pipeline under issue 4's load (4 musicians, 4 strips),
// which `go build` uses for profile-guided optimisation (about 7 % less CPU for the daemon;
// docs/benchmarks/pipeline.md). Refresh it after large changes to the hot paths:
//
//	LEDBRIDGE_MEASURE_CPU_PROFILE=60s go test -count=1 -run '^TestMeasureCPUInProcess$' \
//	  -o /tmp/session.test -cpuprofile cmd/ledbridge/default.pgo ./bridge/session/
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// The exit statuses of a start that cannot succeed however often it is retried: a bad command line
// (sysexits.h's EX_USAGE) and an invalid configuration (EX_CONFIG, which systemd calls CONFIG).
// ledbridge.service's RestartPreventExitStatus= lists exactly these two. Neither is 2: the Go
// runtime exits 2 on an unrecovered panic, a fatal runtime error and SIGABRT (systemd's watchdog
// signal), which the unit's Restart=on-failure must restart.
const (
	exitUsage  = 64
	exitConfig = 78
)

// exitInterrupted is the exit status of a command stopped by SIGINT or SIGTERM before it could
// finish its work (a shell's 128 + SIGINT).
const exitInterrupted = 130

// interruptedError marks a command that a signal stopped before it had a result; the text says
// what was left undone.
type interruptedError struct{ msg string }

func (e interruptedError) Error() string { return e.msg }

// usageError marks a bad command line (unknown command, wrong number of arguments, bad flag or
// flag value): exit status exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// configError marks an invalid configuration (the file, the environment or a setting derived from
// them): exit status exitConfig.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// exitStatus is the status main exits with for err, a command's error (not nil).
func exitStatus(err error) int {
	var (
		ce configError
		ue usageError
		ie interruptedError
	)
	switch {
	case errors.As(err, &ce):
		return exitConfig
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ie):
		return exitInterrupted
	}
	return 1
}

var rootCmd = &cobra.Command{
	Use:           "ledbridge",
	Short:         "Light a venue's WLED strips from a live online jam session",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	// cobra's own help command answers an unknown topic with the usage and status 0.
	rootCmd.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Args:  cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usageError{fmt.Errorf("help: unknown help topic %q (see 'ledbridge --help')", strings.Join(args, " "))}
			}
			return cmd.Help()
		},
	})
}

// daemonTuneProblems are what tuneDaemonProcess could not apply, for `join` to log once its
// logger exists.
var daemonTuneProblems []string

func main() {
	// The daemon's process settings come first, while the runtime has the fewest threads to
	// visit.
	if c, _, err := rootCmd.Find(os.Args[1:]); err == nil && (c.Name() == "join" || c.Name() == "hub") {
		if c.Name() == "join" {
			daemonTuneProblems = tuneDaemonProcess()
		}
		// A daemon's write to a closed stderr or stdout (the reader of `ledbridge join 2>&1 |
		// tee log` gone, a journal stream broken) fails with EPIPE instead of killing it by
		// SIGPIPE, which systemd counts as a clean exit and does not restart: the strips would
		// stay dark. The other commands end on SIGPIPE as filters do (`analyze … | head`).
		signal.Ignore(syscall.SIGPIPE)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts a clean shutdown, a second one kills the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	// Cobra adds its completion command only as it executes, after markUsageErrors would have
	// walked the tree: `ledbridge completion bogus` then printed the help and exited 0.
	rootCmd.InitDefaultCompletionCmd()
	markUsageErrors(rootCmd)
	err := rootCmd.ExecuteContext(ctx)
	stop()
	if err == nil || errors.Is(err, errStoppedWaiting) { // a stop during start-up's port wait is a normal stop
		return
	}
	line := "ledbridge: " + err.Error()
	if isJournalStream(os.Getenv("JOURNAL_STREAM"), os.Stderr) {
		// The logger's lines carry their level there (levelPrefixHandler); without one, journald
		// files the line that says why the daemon stopped at info.
		prefix := syslogPrefix(slog.LevelError)
		line = prefix + strings.ReplaceAll(line, "\n", "\n"+prefix)
	}
	fmt.Fprintln(os.Stderr, line)
	os.Exit(exitStatus(err))
}

// markUsageErrors makes every mistake cobra finds on the command line a usageError, so that it exits
// with status exitUsage (which ledbridge.service does not restart: restarting cannot fix it) and
// prints one line that names the command and its usage.
//
// Cobra reports an unknown command only for a root without Args, and answers any arguments to a
// command group that cannot run (`ledbridge config bogus`) with its help and status 0; so command
// groups get an Args check of their own and a RunE that prints their help.
func markUsageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%s%w (see '%s --help')", subcommandPrefix(cmd), err, cmd.CommandPath())}
	})
	switch {
	case c.HasSubCommands():
		if c.Runnable() {
			panic("markUsageErrors: command group " + c.CommandPath() + " has its own RunE")
		}
		c.Args = unknownCommand
		c.SuggestionsMinimumDistance = 2
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	default:
		check := c.Args
		if check == nil {
			check = noArgs
		}
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{fmt.Errorf("%s%w (usage: %s)", subcommandPrefix(cmd), err, cmd.UseLine())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}

// unknownCommand is the Args check of a command group: any argument left over is a command that
// does not exist.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := ""
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = fmt.Sprintf("did you mean %q? ", s[0])
	}
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return usageError{fmt.Errorf("%sunknown command %q (%scommands: %s; see '%s --help')",
		subcommandPrefix(cmd), args[0], hint, strings.Join(names, ", "), cmd.CommandPath())}
}

// noArgs is the Args check of a command that takes none; cobra.NoArgs would call the argument an
// unknown command.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("takes no arguments, got %q", args)
	}
	return nil
}

// subcommandPrefix is "join: " for `ledbridge join`, "config check: " for `ledbridge config check`
// and "" for ledbridge itself: main already starts the line with "ledbridge: ".
func subcommandPrefix(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return ""
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ") + ": "
}
