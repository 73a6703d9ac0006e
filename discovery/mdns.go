package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/logging"
	"github.com/pion/mdns/v2"
	"golang.org/x/net/ipv4"

	"github.com/ledbridge/ledbridge/wled"
)

// wledService is the DNS-SD service type WLED advertises (wled00/wled.cpp: MDNS.addService("wled", "tcp", 80)).
const (
	wledService = "_wled._tcp"
	wledSuffix  = "._wled._tcp.local."

	// maxAnswers bounds the instances one browse keeps, so a responder inventing names cannot
	// grow memory without limit. A venue has tens of controllers.
	maxAnswers = 256
)

// MDNSBrowser browses _wled._tcp with github.com/pion/mdns/v2. Each Browse opens its own
// sockets and closes them before returning, so nothing runs between rounds.
//
// pion/mdns rather than the hashicorp/mdns the design named: pion joins the multicast group per
// interface, so it works on an isolated venue LAN with no default route, its Browse reports
// every responder (no unbuffered-channel drops) and copies events before handing them out (no
// data race). docs/benchmarks/discovery.md has the measurements.
type MDNSBrowser struct {
	// Interfaces names the interfaces to query on; empty means every multicast-capable one.
	Interfaces []string
	// Logger receives pion's log lines at debug level; nil means slog.Default().
	Logger *slog.Logger
}

// Browse sends _wled._tcp PTR queries (pion repeats them every second) for window and returns
// the IPv4 answers, one per service instance, sorted by instance name.
func (b *MDNSBrowser) Browse(ctx context.Context, window time.Duration) ([]Answer, error) {
	opts := []mdns.ServerOption{mdns.WithLoggerFactory(slogFactory{b.logger()})}
	if len(b.Interfaces) > 0 {
		ifaces, err := interfacesByName(b.Interfaces)
		if err != nil {
			return nil, err
		}
		opts = append(opts, mdns.WithInterfaces(ifaces...))
	}
	// IPv4 only: ESP8266 WLEDs have no IPv6 and frames are sent to IPv4 addresses.
	l4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(224, 0, 0, 0), Port: 5353})
	if err != nil {
		return nil, fmt.Errorf("discovery: mDNS listen: %w", err)
	}
	conn, err := mdns.NewServer(ipv4.NewPacketConn(l4), nil, opts...)
	if err != nil {
		_ = l4.Close()
		return nil, fmt.Errorf("discovery: mDNS start: %w", err)
	}

	var mu sync.Mutex
	found := newAnswerSample(maxAnswers, rand.IntN)
	conn.OnServiceDiscovered(func(evt mdns.ServiceEvent) {
		a, ok := answerFromEvent(evt)
		if !ok {
			return
		}
		mu.Lock()
		found.add(a)
		mu.Unlock()
	})
	bctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	if err := conn.Browse(bctx, wledService); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("discovery: mDNS browse: %w", err)
	}
	<-bctx.Done()
	if err := conn.Close(); err != nil {
		return nil, fmt.Errorf("discovery: mDNS close: %w", err)
	}

	mu.Lock()
	defer mu.Unlock()
	out := make([]Answer, 0, len(found.byInstance))
	for _, a := range found.byInstance {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Answer) int { return strings.Compare(x.Instance, y.Instance) })
	return out, nil
}

// answerSample keeps at most limit instances of a browse, chosen uniformly from all the distinct
// instances heard (reservoir sampling) rather than the first ones: a responder that answers
// with invented instances faster than a real WLED cannot keep the real one out of every
// browse; with n instances heard, each is kept with probability limit/n.
type answerSample struct {
	limit      int
	heard      int // distinct instances offered so far
	byInstance map[string]Answer
	order      []string // the kept instances, for replacing one at random
	intN       func(n int) int
}

func newAnswerSample(limit int, intN func(int) int) *answerSample {
	return &answerSample{limit: limit, byInstance: make(map[string]Answer), intN: intN}
}

func (s *answerSample) add(a Answer) {
	if _, known := s.byInstance[a.Instance]; known {
		s.byInstance[a.Instance] = a // latest wins: follows an address change within the window
		return
	}
	s.heard++
	if len(s.order) < s.limit {
		s.byInstance[a.Instance] = a
		s.order = append(s.order, a.Instance)
		return
	}
	if i := s.intN(s.heard); i < s.limit {
		delete(s.byInstance, s.order[i])
		s.byInstance[a.Instance] = a
		s.order[i] = a.Instance
	}
}

func (b *MDNSBrowser) logger() *slog.Logger {
	if b.Logger != nil {
		return b.Logger
	}
	return slog.Default()
}

// interfacesByName resolves configured interface names; names that do not exist (yet) are
// skipped, and none at all is ErrNoInterface.
func interfacesByName(names []string) ([]net.Interface, error) {
	var out []net.Interface
	for _, n := range names {
		ifi, err := net.InterfaceByName(n)
		if err != nil || ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagUp == 0 {
			continue
		}
		out = append(out, *ifi)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w (configured: %s)", ErrNoInterface, strings.Join(names, ", "))
	}
	return out, nil
}

// answerFromEvent keeps only complete _wled._tcp.local. instances with an IPv4 address. Any
// other service a responder volunteers (hashicorp/mdns passed those through, issue #96) is
// dropped here even though pion already filters by the browsed type.
func answerFromEvent(evt mdns.ServiceEvent) (Answer, bool) {
	in := evt.Instance
	if in.Instance == "" || len(in.Instance) > 63 || in.Port == 0 {
		return Answer{}, false
	}
	if !strings.HasSuffix(strings.ToLower("."+in.Service+"."+in.Domain+"."), wledSuffix) {
		return Answer{}, false
	}
	addr := evt.Addr.Unmap()
	if !addr.Is4() || addr.IsUnspecified() || addr.IsMulticast() {
		return Answer{}, false
	}
	a := Answer{Instance: in.Instance, Host: in.Host, Addr: addr, Port: int(in.Port)}
	for _, t := range in.Text {
		if strings.EqualFold(t.Key, "mac") {
			a.MAC = wled.NormalizeMAC(string(t.Value))
		}
	}
	return a, true
}

// slogFactory routes pion's log lines to slog at debug level: pion warns about every interface
// it cannot join (loopback, down links) on every round, which is noise for an operator.
type slogFactory struct{ log *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLeveled{f.log.With("component", "pion/"+scope)}
}

type slogLeveled struct{ log *slog.Logger }

func (l slogLeveled) Trace(string)              { /* far too chatty even for debug */ }
func (l slogLeveled) Tracef(string, ...any)     {}
func (l slogLeveled) Debug(msg string)          { l.log.Debug(msg) }
func (l slogLeveled) Debugf(f string, a ...any) { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLeveled) Info(msg string)           { l.log.Debug(msg) }
func (l slogLeveled) Infof(f string, a ...any)  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLeveled) Warn(msg string)           { l.log.Debug(msg) }
func (l slogLeveled) Warnf(f string, a ...any)  { l.log.Debug(fmt.Sprintf(f, a...)) }
func (l slogLeveled) Error(msg string)          { l.log.Debug(msg) }
func (l slogLeveled) Errorf(f string, a ...any) { l.log.Debug(fmt.Sprintf(f, a...)) }
