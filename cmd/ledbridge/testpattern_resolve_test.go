package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// silentWLED is a wled:// device whose JSON API accepts TCP connections and never answers, as a
// hung ESP does. The listener and every connection it accepted close at the test's end.
func silentWLED(t *testing.T) string {
	t.Helper()
	url, _ := silentWLEDAccepting(t)
	return url
}

// silentWLEDAccepting is silentWLED that also reports how many connections it has accepted: a
// test waits on that for a command to be asking the device.
func silentWLEDAccepting(t *testing.T) (url string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  sync.WaitGroup
	)
	done.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		done.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "wled://" + ln.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

// zeroLEDWLED is a WLED whose /json/info reports no LEDs.
func zeroLEDWLED(t *testing.T) string {
	t.Helper()
	f := wledtest.New(t, wledtest.Config{LEDs: 30})
	f.SetRawInfo(http.StatusOK, []byte(`{"ver":"0.15.3","vid":2412100,"mac":"02fc00abcdef","leds":{"count":0}}`))
	return f.URL()
}

// tableLine returns the line of out that names device, or "".
func tableLine(out, device string) string {
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, device+" ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// A device that cannot be resolved (a JSON API that never answers, a WLED with 0 LEDs, a ddp://
// line without an LED count) is a row of the table with its error; the others are driven.
func TestTestPatternDrivesTheDevicesThatResolve(t *testing.T) {
	byAPI := wledtest.New(t, wledtest.Config{LEDs: 60})
	byDDP := wledtest.New(t, wledtest.Config{LEDs: 90})
	silent, zero, noCount := silentWLED(t), zeroLEDWLED(t), "ddp://127.0.0.1:9"
	devices := []string{byAPI.URL(), silent, byDDP.DDPURL(), zero, noCount}
	var out bytes.Buffer
	res, err := runTestPattern(context.Background(), testPatternOptions{Devices: devices, FPS: 60, Seconds: 0.5}, &out)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatalf("two of five devices could be driven, yet: %v", err)
	}
	if len(res) != len(devices) {
		t.Fatalf("%d results for %d devices: %+v", len(res), len(devices), res)
	}
	for i, fake := range map[int]*wledtest.Fake{0: byAPI, 2: byDDP} {
		if res[i].Err != nil || res[i].Stats.FramesSent == 0 {
			t.Errorf("%s: err %v, %d frames sent", devices[i], res[i].Err, res[i].Stats.FramesSent)
			continue
		}
		if _, err := fake.WaitFrames(int(res[i].Stats.FramesSent), 5*time.Second); err != nil {
			t.Errorf("%s: %v", devices[i], err)
		}
		if fake.Malformed() != 0 {
			t.Errorf("%s: malformed %v", devices[i], fake.MalformedReasons())
		}
	}
	for i, want := range map[int]string{1: strings.TrimPrefix(silent, "wled://") + "/json/info", 3: "the device reports 0 LEDs", 4: "LED count unknown"} {
		if res[i].Err == nil || !strings.Contains(res[i].Err.Error(), want) || res[i].Stats.FramesSent != 0 {
			t.Errorf("%s: err %v, %d frames sent; want an error saying %q", devices[i], res[i].Err, res[i].Stats.FramesSent, want)
		}
		if line := tableLine(out.String(), devices[i]); !strings.Contains(line, want) {
			t.Errorf("%s: table row %q does not say %q", devices[i], line, want)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "3 of 5 devices could not be driven") {
		t.Errorf("last line %q does not say that 3 of 5 devices could not be driven", last)
	}
}

// When no device can be driven, the table still lists each one's error and the command fails
// (exit status 1: not a usage error); when some can, it succeeds and says how many could not.
func TestTestPatternExitStatus(t *testing.T) {
	silent := silentWLED(t)
	var out bytes.Buffer
	res, err := runTestPattern(context.Background(), testPatternOptions{Devices: []string{silent, zeroLEDWLED(t)}, FPS: 60, Seconds: 0.3}, &out)
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "none of the 2 devices could be driven") {
		t.Errorf("all devices bad: err = %v, want a runtime error saying none of the 2 could be driven", err)
	}
	if len(res) != 2 || res[0].Err == nil || res[1].Err == nil || tableLine(out.String(), silent) == "" {
		t.Errorf("all devices bad: results %+v, table:\n%s", res, out.String())
	}

	bin := buildBinary(t)
	good := wledtest.New(t, wledtest.Config{LEDs: 30})
	cmd := exec.Command(bin, "test-pattern", "--seconds", "0.3", "--device", silent, "--device", good.DDPURL())
	got, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(got), "1 of 2 devices could not be driven") || good.FrameCount() == 0 {
		t.Errorf("one silent, one good: %v, %d frames on the good one, output:\n%s", err, good.FrameCount(), got)
	}
	cmd = exec.Command(bin, "test-pattern", "--seconds", "0.3", "--device", silent, "--device", zeroLEDWLED(t))
	got, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(got), "ledbridge: test-pattern: none of the 2 devices could be driven") ||
		!strings.Contains(string(got), "the device reports 0 LEDs") {
		t.Errorf("both bad: exit %d, output:\n%s", cmd.ProcessState.ExitCode(), got)
	}
}

// Devices are resolved at once: every slow JSON API is asked before any has answered.
func TestTestPatternResolvesDevicesConcurrently(t *testing.T) {
	const n = 4
	open := make(chan struct{})
	var openOnce sync.Once
	release := func() { openOnce.Do(func() { close(open) }) }
	var waiting atomic.Int32 // /json/info requests held at the gate
	var fakes []*wledtest.Fake
	var devices []string
	for range n {
		fake := wledtest.New(t, wledtest.Config{LEDs: 30})
		api := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: fake.HTTPAddr()})
		api.Transport = &http.Transport{Proxy: nil, DisableKeepAlives: true}
		api.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
		gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/json/info" {
				waiting.Add(1)
				select {
				case <-open:
				case <-r.Context().Done():
					waiting.Add(-1)
					return
				}
			}
			api.ServeHTTP(w, r)
		}))
		t.Cleanup(gate.Close)
		t.Cleanup(release) // runs first: a held request must not keep gate.Close waiting
		ddpPort := fake.DDPAddr()[strings.LastIndex(fake.DDPAddr(), ":")+1:]
		fakes = append(fakes, fake)
		devices = append(devices, "wled://"+gate.Listener.Addr().String()+"?ddpport="+ddpPort)
	}
	// No request gives up while the test waits for the others: only the order is asked about.
	patient := &wled.Client{HTTP: &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}, Timeout: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	type outcome struct {
		res []testPatternResult
		err error
	}
	done := make(chan outcome, 1)
	var out bytes.Buffer
	go func() {
		res, err := runTestPattern(ctx, testPatternOptions{Devices: devices, FPS: 30, Seconds: 0.3, Client: patient}, &out)
		done <- outcome{res, err}
	}()
	defer func() { cancel(); release(); <-done }()

	deadline := time.Now().Add(10 * time.Second)
	for waiting.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d devices' /json/info asked while none had answered: devices are resolved one after another", waiting.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	release()
	got := <-done
	done <- got // for the deferred wait
	if got.err != nil {
		t.Fatalf("%v\n%s", got.err, out.String())
	}
	for i, fake := range fakes {
		if got.res[i].Err != nil || got.res[i].Stats.FramesSent == 0 {
			t.Errorf("%s: err %v, %d frames sent", devices[i], got.res[i].Err, got.res[i].Stats.FramesSent)
			continue
		}
		if _, err := fake.WaitFrames(int(got.res[i].Stats.FramesSent), 5*time.Second); err != nil {
			t.Errorf("%s: %v", devices[i], err)
		}
	}
}
