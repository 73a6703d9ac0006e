package session

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled/wledtest"
)

// logLineAttrs parses a text handler's line into its keys and (unquoted) values.
func logLineAttrs(line string) map[string]string {
	attrs := map[string]string{}
	for _, m := range regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`).FindAllStringSubmatch(line, -1) {
		v := m[2]
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		attrs[m[1]] = v
	}
	return attrs
}

// TestConfiguredDeviceOutageLinesNameItAlike: a configured WLED reboots. The venue's journal then
// has four lines about it, two from its output (sends failing, sending again) and two from its
// line's follower (looking it up failed, reachable again); they gave two names for one strip
// (the WLED's name, the config line), and a factory-new WLED is called "WLED", as each of a
// venue's several may be. Every line must give the pair the "driving device" line gives:
// device=<its name> target=<where it is driven>.
func TestConfiguredDeviceOutageLinesNameItAlike(t *testing.T) {
	const ip, mac = "127.0.226.1", "02fc00022601"
	cfg := wledtest.Config{Name: "WLED", MAC: mac, LEDs: 30, HTTPListen: ip + ":0", DDPListen: ip + ":0", RealtimeListen: "-"}
	fake := wledtest.New(t, cfg)
	url := fake.URL()
	r := startDeviceRig(t, []string{url}, nil, func(d *deviceSet) {
		d.recheckEvery, d.failingCheck = 20*time.Millisecond, 20*time.Millisecond
		d.retryDelays = []time.Duration{20 * time.Millisecond}
	})
	waitStrips(t, r, url+"->"+fake.DDPAddr()+"/30")
	r.feedUntilFrame(t, url, fake)

	// The frame loop goes on feeding the strip through the reboot.
	stop := make(chan struct{})
	var fed sync.WaitGroup
	fed.Add(1)
	go func() {
		defer fed.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if st := r.strip(url); st != nil {
				st.out.Submit(make([]byte, st.frameBytes))
			}
		}
	}()
	defer func() { close(stop); fed.Wait() }()

	cfg.HTTPListen, cfg.DDPListen = fake.HTTPAddr(), fake.DDPAddr()
	_ = fake.Close() // it reboots: its JSON API and its DDP port are gone
	waitFor(t, "the outage logged", func() bool {
		logs := r.logs.String()
		return strings.Contains(logs, "wled send failed") && strings.Contains(logs, "looking it up again failed")
	})
	wledtest.New(t, cfg) // back at the same addresses
	waitFor(t, "the recovery logged", func() bool {
		logs := r.logs.String()
		return strings.Contains(logs, "wled sending again") && strings.Contains(logs, "configured device reachable again")
	})

	var driving map[string]string
	lines := map[string]map[string]string{}
	for _, line := range strings.Split(r.logs.String(), "\n") {
		a := logLineAttrs(line)
		switch msg := a["msg"]; {
		case msg == "driving device":
			driving = a
		case msg == "wled send failed", msg == "wled sending again", msg == "configured device reachable again",
			strings.HasPrefix(msg, "configured device: looking it up again failed"):
			lines[msg] = a
		}
	}
	if driving == nil || driving["device"] != "WLED" || driving["target"] == "" {
		t.Fatalf("driving device line: %v\n%s", driving, r.logs)
	}
	if len(lines) != 4 {
		t.Fatalf("outage lines: %v, want four\n%s", lines, r.logs)
	}
	for msg, a := range lines {
		if a["device"] != driving["device"] || a["target"] != driving["target"] {
			t.Errorf("%q: device=%q target=%q, want device=%q target=%q as on the \"driving device\" line",
				msg, a["device"], a["target"], driving["device"], driving["target"])
		}
		if strings.HasPrefix(msg, "configured device") && a["configured"] != url {
			t.Errorf("%q: configured=%q, want the line %q", msg, a["configured"], url)
		}
	}
}
