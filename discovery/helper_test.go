package discovery

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/ipv4"

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
	case "garbage":
		err = helperGarbage(ctx, ignore)
	case "resolve":
		err = helperResolve(ctx, ignore)
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
	cfg := Config{
		Interval:      envDuration("LB_INTERVAL", 2*time.Second),
		RetryInterval: envDuration("LB_RETRY", time.Second),
		BrowseWindow:  envDuration("LB_WINDOW", 1500*time.Millisecond),
		ProbeTimeout:  envDuration("LB_PROBE", time.Second),
		DisableMDNS:   os.Getenv("LB_NO_MDNS") == "1",
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if static := os.Getenv("LB_STATIC"); static != "" {
		cfg.Static = strings.Split(static, ",")
	}
	return cfg
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

// resolveLine is what the resolve helper prints for each name, one JSON object per line.
type resolveLine struct {
	Name         string        `json:"name"`
	Addrs        []netip.Addr  `json:"addrs"`
	Err          string        `json:"err"`
	NoMDNSAnswer bool          `json:"no_mdns_answer"`
	Took         time.Duration `json:"took"`
}

// helperResolve looks up each name in LB_NAMES (comma-separated) with a Resolver, one after the
// other, and prints the answers.
func helperResolve(ctx context.Context, ignore goleak.Option) error {
	r := &Resolver{Timeout: envDuration("LB_TIMEOUT", 3*time.Second), Logger: helperConfig().Logger}
	enc := json.NewEncoder(os.Stdout)
	for _, name := range strings.Split(os.Getenv("LB_NAMES"), ",") {
		start := time.Now()
		addrs, err := r.LookupNetIP(ctx, "ip", name)
		line := resolveLine{Name: name, Addrs: addrs, NoMDNSAnswer: errors.Is(err, ErrNoMDNSAnswer), Took: time.Since(start)}
		if err != nil {
			line.Err = err.Error()
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return goleak.Find(ignore)
}

// helperGarbage multicasts junk to 224.0.0.251:5353 until stopped: random bytes, a header
// promising records that are not there, another service's answer, and a complete but hostile
// _wled._tcp answer (bogus TXT, an address where nothing listens).
func helperGarbage(ctx context.Context, ignore goleak.Option) error {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: 5353})
	if err != nil {
		return err
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	ifi, err := net.InterfaceByName("lan0")
	if err != nil {
		return err
	}
	if err := pc.SetMulticastInterface(ifi); err != nil {
		return err
	}
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	crafted, err := craftedPackets()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fmt.Println("ready")
	sent := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "garbage packets sent:", sent)
			return goleak.Find(ignore)
		case <-tick.C:
		}
		junk := make([]byte, rng.IntN(1500))
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
		for _, p := range append([][]byte{junk}, crafted...) {
			if _, err := c.WriteTo(p, group); err != nil {
				return err
			}
			sent++
		}
	}
}

func craftedPackets() ([][]byte, error) {
	name := func(s string) dnsmessage.Name { return dnsmessage.MustNewName(s) }
	hdr := func(n string, typ dnsmessage.Type) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: name(n), Type: typ, Class: dnsmessage.ClassINET, TTL: 120}
	}
	hostile := dnsmessage.Message{
		Header: dnsmessage.Header{Response: true, Authoritative: true},
		Answers: []dnsmessage.Resource{
			{Header: hdr("_wled._tcp.local.", dnsmessage.TypePTR), Body: &dnsmessage.PTRResource{PTR: name("evil._wled._tcp.local.")}},
			{Header: hdr("evil._wled._tcp.local.", dnsmessage.TypeSRV), Body: &dnsmessage.SRVResource{Target: name("evil.local."), Port: 80}},
			{Header: hdr("evil._wled._tcp.local.", dnsmessage.TypeTXT), Body: &dnsmessage.TXTResource{TXT: []string{"mac=" + strings.Repeat("z", 200), "=", ""}}},
			{Header: hdr("evil.local.", dnsmessage.TypeA), Body: &dnsmessage.AResource{A: [4]byte{10, 213, 0, 67}}},
		},
	}
	other := dnsmessage.Message{
		Header: dnsmessage.Header{Response: true, Authoritative: true},
		Answers: []dnsmessage.Resource{
			{Header: hdr("_googlecast._tcp.local.", dnsmessage.TypePTR), Body: &dnsmessage.PTRResource{PTR: name("TV._googlecast._tcp.local.")}},
			{Header: hdr("TV._googlecast._tcp.local.", dnsmessage.TypeSRV), Body: &dnsmessage.SRVResource{Target: name("tv.local."), Port: 8009}},
			{Header: hdr("TV._googlecast._tcp.local.", dnsmessage.TypeTXT), Body: &dnsmessage.TXTResource{TXT: []string{"id=1"}}},
			{Header: hdr("tv.local.", dnsmessage.TypeA), Body: &dnsmessage.AResource{A: [4]byte{10, 213, 0, 68}}},
		},
	}
	var out [][]byte
	for _, m := range []dnsmessage.Message{hostile, other} {
		b, err := m.Pack()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	// A header announcing 40 answers followed by half of one.
	lying := append([]byte(nil), out[0][:30]...)
	lying[6], lying[7] = 0, 40
	return append(out, lying), nil
}
