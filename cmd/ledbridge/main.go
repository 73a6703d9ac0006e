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
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitUsage is the exit status for a bad command line or an invalid configuration.
const exitUsage = 2

// usageError marks an error that should exit with status 2 (bad flags, invalid config).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

var rootCmd = &cobra.Command{
	Use:           "ledbridge",
	Short:         "Light a venue's WLED strips from a live online jam session",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal starts a clean shutdown, a second one kills the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	err := rootCmd.ExecuteContext(ctx)
	stop()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "ledbridge:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(exitUsage)
	}
	os.Exit(1)
}
