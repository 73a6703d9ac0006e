package discovery

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// The netns tests re-run this test binary inside a network namespace as a helper process:
// TestMain sees helperEnv and runs runHelper instead of the tests. Helpers stop when their stdin
// closes (or on SIGTERM) and exit non-zero on any error, leaked goroutine or data race.
const helperEnv = "LEDBRIDGE_DISCOVERY_HELPER"

// helperLine is what the registry helper prints, one JSON object per line.
type helperLine struct {
	Event   *Event   `json:"event,omitempty"`
	Devices []Device `json:"devices"`
}

func runHelper(mode string) int {
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stopSignals()
	ctx, cancel := context.WithCancel(sigCtx)
	defer cancel()
	go func() {
		// The parent closes our stdin to stop us.
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	// The two goroutines above are the helper's own; anything else left at the end is a leak.
	ignore := goleak.IgnoreCurrent()
	var err error
	switch mode {
	case "fakewled":
		err = helperFakeWLED(ctx, ignore)
	case "registry":
		err = helperRegistry(ctx, ignore)
	case "browse":
		err = helperBrowse(ctx, ignore)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper", mode+":", err)
		return 1
	}
	return 0
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// helperFakeWLED serves a fake WLED's JSON API on 0.0.0.0:80 in the device's namespace.
func helperFakeWLED(ctx context.Context, ignore goleak.Option) error {
	f, err := wledtest.Start(wledtest.Config{
		MAC: os.Getenv("LB_MAC"), Name: os.Getenv("LB_NAME"), LEDs: envInt("LB_LEDS", 30),
		HTTPListen: "0.0.0.0:80", DDPListen: "-", RealtimeListen: "-",
	})
	if err != nil {
		return err
	}
	fmt.Println("ready", f.HTTPAddr())
	<-ctx.Done()
	if err := f.Close(); err != nil {
		return err
	}
	return goleak.Find(ignore)
}

func helperConfig() Config {
	return Config{
		Interval:      envDuration("LB_INTERVAL", 2*time.Second),
		RetryInterval: envDuration("LB_RETRY", time.Second),
		BrowseWindow:  envDuration("LB_WINDOW", 1500*time.Millisecond),
		ProbeTimeout:  envDuration("LB_PROBE", time.Second),
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// helperRegistry runs a Registry and prints every event with the device list after it.
func helperRegistry(ctx context.Context, ignore goleak.Option) error {
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	cfg := helperConfig()
	var reg *Registry
	cfg.OnChange = func(ev Event) {
		_ = enc.Encode(helperLine{Event: &ev, Devices: reg.Devices()})
		_ = out.Flush()
	}
	reg, err := New(cfg)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	if err := reg.Run(ctx); err != nil {
		return err
	}
	return goleak.Find(ignore)
}

// helperBrowse runs one Browse and prints the devices as one JSON line.
func helperBrowse(ctx context.Context, ignore goleak.Option) error {
	start := time.Now()
	ds, err := Browse(ctx, helperConfig(), envDuration("LB_TIMEOUT", 3*time.Second))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "browse took %v\n", time.Since(start))
	if err := json.NewEncoder(os.Stdout).Encode(helperLine{Devices: ds}); err != nil {
		return err
	}
	return goleak.Find(ignore)
}
