package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// Ctrl-C while test-pattern resolves its devices (one JSON API hangs) stops the command: no
// device is driven afterwards, the interruption is not reported as a device that could not be
// driven, and the command exits 130, as the README promises for an interrupted command.
func TestTestPatternInterruptedWhileResolving(t *testing.T) {
	silent, asked := silentWLEDAccepting(t)
	good := wledtest.New(t, wledtest.Config{LEDs: 30})
	for _, devices := range [][]string{{silent, good.DDPURL()}, {silent}} {
		ctx, cancel := context.WithCancel(context.Background())
		// The silent device's JSON API never answers, so resolution is still under way when
		// the context ends.
		time.AfterFunc(300*time.Millisecond, cancel)
		var out bytes.Buffer
		_, err := runTestPattern(ctx, testPatternOptions{Devices: devices, FPS: 60, Seconds: 5}, &out)
		cancel()
		var ie interruptedError
		if !errors.As(err, &ie) || exitStatus(err) != exitInterrupted {
			t.Errorf("%v interrupted while resolving: err %v (exit status %d), want an interruption (130); output:\n%s", devices, err, exitStatusOrZero(err), out.String())
		}
		if strings.Contains(out.String(), "could not be driven") {
			t.Errorf("%v: the interruption is reported as a device failure:\n%s", devices, out.String())
		}
	}
	if n := good.FrameCount(); n != 0 {
		t.Errorf("the device that resolved got %d frames after the interruption", n)
	}

	bin := buildBinary(t)
	for _, devices := range [][]string{{silent, good.DDPURL()}, {silent}} {
		args := []string{"test-pattern", "--seconds", "5"}
		for _, d := range devices {
			args = append(args, "--device", d)
		}
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		before := asked()
		startCommand(t, cmd) // killed at the end if a wait below gives up
		// The command asks the silent device's JSON API once its signal handling is in place:
		// interrupt it then, while resolution waits for the answer (up to wled.DefaultAPITimeout).
		waitJoin(t, 15*time.Second, "the command asking the silent device", func() bool { return asked() > before })
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || strings.Contains(out.String(), "could not be driven") {
			t.Errorf("%v: SIGINT while resolving: exit %d, want 130; output:\n%s", devices, code, out.String())
		}
	}
}

func exitStatusOrZero(err error) int {
	if err == nil {
		return 0
	}
	return exitStatus(err)
}
