package wled

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
)

// Sound sync: WLED's audio-reactive usermod can take its audio analysis from the network
// instead of a microphone ("Sync: Receive"). ledbridge can send these packets so every
// audio-reactive WLED on the LAN runs its own sound effects in time with the jam.
const (
	// DefaultSoundSyncAddr is the usermod's multicast group and port.
	DefaultSoundSyncAddr = "239.0.0.1:11988"
	// SoundSyncPacketLen is the size of a v2 packet (usermods/audioreactive audioSyncPacket).
	SoundSyncPacketLen = 44
	// SoundSyncBands is the number of GEQ channels in a packet.
	SoundSyncBands = 16
)

// soundSyncHeader is the v2 header, "00002" and its NUL ("00001" was the 88-byte v1).
var soundSyncHeader = [6]byte{'0', '0', '0', '0', '2', 0}

// SoundSync is one v2 sound sync packet's content.
type SoundSync struct {
	SampleRaw    float32               // current level (WLED: sampleRaw, 0..~255)
	SampleSmooth float32               // smoothed level (WLED: sampleAvg/sampleSmth)
	Peak         bool                  // a beat/peak was detected since the last packet
	FrameCounter uint8                 // WLED-MM uses this to detect lost/out-of-order packets
	FFT          [SoundSyncBands]uint8 // GEQ channels, low to high (0..255)
	FFTMagnitude float32               // magnitude of the strongest FFT bin
	MajorPeakHz  float32               // frequency of the strongest FFT bin, Hz
}

// EncodeSoundSync writes p as a 44-byte v2 packet: little-endian, layout
// header[6] reserved[2] sampleRaw f32 @8, sampleSmth f32 @12, samplePeak u8 @16,
// frameCounter u8 @17, fftResult[16] @18, reserved u16 @34, FFT_Magnitude f32 @36,
// FFT_MajorPeak f32 @40. NaN and ±Inf are sent as 0 so a receiver never sees them.
func EncodeSoundSync(dst *[SoundSyncPacketLen]byte, p SoundSync) {
	*dst = [SoundSyncPacketLen]byte{}
	copy(dst[0:6], soundSyncHeader[:])
	le := binary.LittleEndian
	le.PutUint32(dst[8:], math.Float32bits(finite(p.SampleRaw)))
	le.PutUint32(dst[12:], math.Float32bits(finite(p.SampleSmooth)))
	if p.Peak {
		dst[16] = 1
	}
	dst[17] = p.FrameCounter
	copy(dst[18:34], p.FFT[:])
	le.PutUint32(dst[36:], math.Float32bits(finite(p.FFTMagnitude)))
	le.PutUint32(dst[40:], math.Float32bits(finite(p.MajorPeakHz)))
}

func finite(f float32) float32 {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return 0
	}
	return f
}

// SoundSyncSender sends sound sync packets to one UDP address (multicast by default; the
// kernel's default multicast TTL of 1 keeps them on the LAN). Send allocates nothing and never
// waits on the network. It is not safe for concurrent use, but Send may run while Run does.
//
// To an IPv4 multicast group it sends on every interface that is up and running, can multicast
// and has an IPv4 address, with a socket per interface, rather than where the routing table
// says: a venue's LED LAN often has no gateway, so the table has no route to the group at all,
// and on a Pi whose default route is its Wi-Fi the table sends the packets to the Wi-Fi, not to
// the LEDs' Ethernet. Run lists the interfaces again every soundSyncInterfaceRecheck and opens or
// closes sockets as they come and go. To a unicast or broadcast address it sends on one socket,
// connected through the routing table.
//
// It outlives the network: Run opens the sockets, retries at growing intervals while it cannot
// (no route at boot, a host name that does not resolve yet, no interface up yet), and replaces
// sockets whose sends have all failed for ReopenAfter (this machine's address went away), as the
// strips' senders do. While no socket is open, and once Run has returned, Send returns an error
// that wraps ErrSoundSyncNotConnected and says why.
type SoundSyncSender struct {
	nb      nbWrite
	host    string
	port    uint16
	sockets atomic.Pointer[soundSyncSockets] // nil while none is open
	why     atomic.Pointer[error]            // why none is open, wrapping ErrSoundSyncNotConnected
	buf     [SoundSyncPacketLen]byte
	counter uint8
	fails   failureRun
	redial  chan struct{} // capacity 1: Send's request for new sockets
	running atomic.Bool   // Run was called
	reopens atomic.Uint64
}

// soundSyncSockets is what Send writes to: one socket connected to a unicast destination, or
// one socket per interface for a multicast group. Run replaces it whole; Send only reads it.
type soundSyncSockets struct {
	conns  []*net.UDPConn
	raws   []syscall.RawConn
	to     *syscall.SockaddrInet4 // multicast: the group; nil for unicast
	ifaces []net.Interface        // multicast: conns[i] sends on ifaces[i]; nil for unicast
	group  netip.AddrPort         // multicast: where to; invalid for unicast (conns[0] is connected)
}

func (k *soundSyncSockets) multicast() bool { return k.group.IsValid() }

// connFor is the socket already open on ifi, if any.
func (k *soundSyncSockets) connFor(ifi *net.Interface) *net.UDPConn {
	if k == nil {
		return nil
	}
	for i := range k.ifaces {
		if k.ifaces[i].Index == ifi.Index && k.ifaces[i].Name == ifi.Name {
			return k.conns[i]
		}
	}
	return nil
}

// closeExcept closes the sockets that next does not use.
func (k *soundSyncSockets) closeExcept(next *soundSyncSockets) {
	if k == nil {
		return
	}
	for _, c := range k.conns {
		if next == nil || !slices.Contains(next.conns, c) {
			_ = c.Close()
		}
	}
}

// ErrSoundSyncNotConnected means the sender has no socket to send on. Send's error wraps it and
// says why (Run not started or returned, the address does not resolve, no route to it, no interface
// to multicast on).
var ErrSoundSyncNotConnected = errors.New("wled sound sync: no socket")

// ErrSoundSyncRunning is returned by a second call of Run: one Run owns the sockets.
var ErrSoundSyncRunning = errors.New("wled sound sync: Run was already called")

var (
	errSoundSyncNotStarted = fmt.Errorf("%w: Run has not opened one yet", ErrSoundSyncNotConnected)
	errSoundSyncStopped    = fmt.Errorf("%w: Run has returned", ErrSoundSyncNotConnected)
	errNoMulticastIface    = errors.New("no network interface is up and running with multicast and an IPv4 address")
)

// soundSyncRetry is the wait between attempts to open the sockets; the last entry repeats.
var soundSyncRetry = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}

const (
	// soundSyncInterfaceRecheck is how often Run lists the interfaces for a multicast group: a
	// LAN plugged in, or a DHCP lease taken, reaches the WLEDs within it. A listing is a few
	// netlink requests, done on Run's goroutine.
	soundSyncInterfaceRecheck = 2 * time.Second
	// maxSoundSyncInterfaces bounds the sockets (and the writes per packet) on a host with many
	// interfaces, such as container bridges; the first ones by index are taken.
	maxSoundSyncInterfaces = 16
)

// NewSoundSyncSender sends to addr ("" means DefaultSoundSyncAddr), HOST:PORT with an IP
// address or a host name. Use a unicast or broadcast address where routers drop multicast.
// Only a malformed address is an error. It opens no socket and starts no goroutine: Run does.
func NewSoundSyncSender(addr string) (*SoundSyncSender, error) {
	if addr == "" {
		addr = DefaultSoundSyncAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("wled sound sync %s: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("wled sound sync %s: port must be 1-65535", addr)
	}
	if host == "" {
		return nil, fmt.Errorf("wled sound sync %s: no host", addr)
	}
	s := &SoundSyncSender{host: host, port: uint16(p), redial: make(chan struct{}, 1)}
	s.nb.buf = s.buf[:]
	s.nb.fn = s.nb.write
	return s, nil
}

// lookupNetIP is the resolver's lookup (a test's stand-in can be a DNS server that never answers).
var lookupNetIP = defaultLookupNetIP

var defaultLookupNetIP = net.DefaultResolver.LookupNetIP

// resolve looks the host up, cancelled with ctx: a DNS server that never answers must not hold
// Run's return. An IP address needs no lookup. WLED's sound sync listens over IPv4 only, so of a
// name with addresses in both families (localhost on stock Debian answers ::1 first; a WLED name
// with an AAAA record) the first IPv4 one is taken; a name with IPv6 addresses alone keeps its
// first.
func (s *SoundSyncSender) resolve(ctx context.Context) (netip.AddrPort, error) {
	ips, err := lookupNetIP(ctx, "ip", s.host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("%s: no address", s.host)
	}
	pick := ips[0].Unmap()
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			pick = ip.Unmap()
			break
		}
	}
	return netip.AddrPortFrom(pick, s.port), nil
}

func isIPv4Multicast(a netip.Addr) bool { return a.Is4() && a.IsMulticast() }

// open makes the sockets for dst current. For a multicast group it keeps the socket of every
// interface still there (all new ones when reopen) and changes nothing when the interfaces did
// not change; for a unicast address it always dials a new socket. On an error the current sockets stay, except
// that a multicast group with no interface left has none.
func (s *SoundSyncSender) open(dst netip.AddrPort, reopen bool) error {
	old := s.sockets.Load()
	var next *soundSyncSockets
	if !isIPv4Multicast(dst.Addr()) {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			return err
		}
		next = &soundSyncSockets{conns: []*net.UDPConn{c}}
		rc, err := c.SyscallConn()
		if err != nil {
			_ = c.Close()
			return err
		}
		next.raws = []syscall.RawConn{rc}
	} else {
		ifaces, err := soundSyncInterfaces()
		if err == nil {
			next, err = openMulticast(dst, ifaces, old, reopen)
		}
		if err != nil {
			if errors.Is(err, errNoMulticastIface) {
				s.setWhy(fmt.Errorf("%s: %w", dst, err))
				s.sockets.Store(nil)
				old.closeExcept(nil)
			}
			return fmt.Errorf("%s: %w", dst, err)
		}
		if next == old {
			return nil
		}
	}
	s.sockets.Store(next)
	old.closeExcept(next)
	if reopen && old != nil {
		s.reopens.Add(1)
	}
	return nil
}

// openMulticast returns the sockets for group on ifaces, reusing old's unless reopen, or old
// itself when that is what they are.
func openMulticast(group netip.AddrPort, ifaces []net.Interface, old *soundSyncSockets, reopen bool) (*soundSyncSockets, error) {
	next := &soundSyncSockets{group: group, to: &syscall.SockaddrInet4{Port: int(group.Port()), Addr: group.Addr().As4()}}
	kept := 0
	var openErr error
	for i := range ifaces {
		c := old.connFor(&ifaces[i])
		reused := c != nil && !reopen
		if !reused {
			if c, openErr = multicastSocket(&ifaces[i]); openErr != nil {
				continue
			}
		}
		rc, err := c.SyscallConn() // fails only for a socket that is not one
		if err != nil {
			openErr = err
			continue
		}
		if reused {
			kept++
		}
		next.conns = append(next.conns, c)
		next.raws = append(next.raws, rc)
		next.ifaces = append(next.ifaces, ifaces[i])
	}
	switch {
	case len(next.conns) == 0:
		return nil, openErr
	case old != nil && kept == len(old.conns) && kept == len(next.conns):
		return old, nil
	}
	return next, nil
}

// multicastSocket opens a socket whose multicast leaves by ifi (IP_MULTICAST_IF): the kernel
// then needs no route to the group, and picks ifi's address as the source for each packet.
func multicastSocket(ifi *net.Interface) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		return nil, err
	}
	if err := ipv4.NewPacketConn(c).SetMulticastInterface(ifi); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("multicast on %s: %w", ifi.Name, err)
	}
	return c, nil
}

// soundSyncInterfaces lists the interfaces to multicast on: up and running (a carrier: an
// unplugged port or an empty container bridge takes nothing), multicast-capable, with an IPv4
// address; at most maxSoundSyncInterfaces, in index order.
func soundSyncInterfaces() ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	var out []net.Interface
	for i := range all {
		const want = net.FlagUp | net.FlagRunning | net.FlagMulticast
		if all[i].Flags&want != want || !hasIPv4(&all[i]) {
			continue
		}
		out = append(out, all[i])
		if len(out) == maxSoundSyncInterfaces {
			break
		}
	}
	if len(out) == 0 {
		return nil, errNoMulticastIface
	}
	return out, nil
}

func hasIPv4(ifi *net.Interface) bool {
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return true
		}
	}
	return false
}

// setWhy records why no socket is open, for Send to return.
func (s *SoundSyncSender) setWhy(err error) {
	if !errors.Is(err, ErrSoundSyncNotConnected) {
		err = fmt.Errorf("%w: %w", ErrSoundSyncNotConnected, err)
	}
	s.why.Store(&err)
}

// Run opens the sockets at once (retrying at growing intervals while it cannot), opens new ones
// whenever Send asks, follows the interfaces for a multicast group, and, once ctx is done,
// closes the sockets and returns nil. A host-name lookup in progress is cancelled with ctx. A
// second call returns ErrSoundSyncRunning.
func (s *SoundSyncSender) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrSoundSyncRunning
	}
	defer func() {
		s.why.Store(&errSoundSyncStopped)
		s.sockets.Swap(nil).closeExcept(nil)
	}()
	var dst netip.AddrPort // resolved; looked up again only when its sockets failed
	reopen := false        // Send asked for new sockets
	for attempt := 0; ; {
		var err error
		if !dst.IsValid() || reopen {
			dst, err = s.resolve(ctx)
		}
		if err == nil {
			err = s.open(dst, reopen)
		}
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration // 0: until Send asks
		if err != nil {
			wait = soundSyncRetry[min(attempt, len(soundSyncRetry)-1)]
			attempt++
		} else {
			attempt, reopen = 0, false
		}
		if isIPv4Multicast(dst.Addr()) {
			wait = soundSyncInterfaceRecheck // listing interfaces is cheap; a LAN can come any time
		}
		if err != nil && s.sockets.Load() == nil {
			s.setWhy(fmt.Errorf("%w (trying again in %v)", err, wait))
		}
		if !s.await(ctx, wait) {
			reopen = true
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// await waits for wait (0: for ever), for Send's request for new sockets, or for ctx, and
// reports whether the wait ran out.
func (s *SoundSyncSender) await(ctx context.Context, wait time.Duration) bool {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-s.redial:
		return false
	case <-timeout:
		return true
	}
}

// Send encodes p and sends it. A zero FrameCounter is replaced by the sender's own counter,
// which advances by one per packet. To a multicast group it sends on every interface; an
// interface that fails is reported, but its sockets are re-opened only when every one failed.
func (s *SoundSyncSender) Send(p SoundSync) error {
	s.counter++
	if p.FrameCounter == 0 {
		p.FrameCounter = s.counter
	}
	EncodeSoundSync(&s.buf, p)
	k := s.sockets.Load()
	if k == nil {
		if why := s.why.Load(); why != nil {
			return *why
		}
		return errSoundSyncNotStarted
	}
	failed, first := 0, -1
	var firstErr error
	s.nb.to = k.to
	for i, rc := range k.raws {
		s.nb.err = nil
		err := rc.Write(s.nb.fn)
		if err == nil && s.nb.err != nil {
			call := "write"
			if k.to != nil {
				call = "sendto"
			}
			err = &net.OpError{Op: "write", Net: "udp", Source: k.conns[i].LocalAddr(), Err: os.NewSyscallError(call, s.nb.err)}
		}
		if err != nil {
			failed++
			if first < 0 {
				first, firstErr = i, err
			}
		}
	}
	if failed == 0 {
		s.fails.succeeded()
		return nil
	}
	if failed < len(k.conns) {
		// The other interfaces took it: the sockets work, and a new one would not help this one.
		s.fails.succeeded()
		return fmt.Errorf("wled sound sync: not sent on %s (sent on %d other interfaces): %w",
			k.ifaces[first].Name, len(k.conns)-failed, firstErr)
	}
	if s.fails.failed(time.Now(), firstErr) {
		select {
		case s.redial <- struct{}{}:
		default:
		}
	}
	if k.multicast() {
		return fmt.Errorf("wled sound sync: not sent on any interface (%s: %w)", k.ifaces[first].Name, firstErr)
	}
	return firstErr
}

// Reopens is how many times the sockets were replaced after their sends kept failing. It is
// safe to call from any goroutine.
func (s *SoundSyncSender) Reopens() uint64 { return s.reopens.Load() }

// nbWrite is Send's write: non-blocking, so that a full send buffer fails at once (EAGAIN)
// instead of parking the goroutine. Send runs on the frame loop's tick, and a UDP write blocks
// only when its socket's send buffer is full: an interface whose queue has stopped draining (a
// wedged Wi-Fi driver) held the tick, and every strip with it, until the queue moved (review
// 306). A write deadline would bound that, but shared by the interfaces it let a stuck one
// spend it for the healthy ones after it, and its timer woke the runtime after every Send
// (review 309). Its callback is made once (fn), so that a Send allocates nothing.
type nbWrite struct {
	buf []byte
	to  *syscall.SockaddrInet4
	err error
	fn  func(fd uintptr) bool
}

func (w *nbWrite) write(fd uintptr) bool {
	if w.to != nil {
		w.err = syscall.Sendto(int(fd), w.buf, 0, w.to)
	} else {
		_, w.err = syscall.Write(int(fd), w.buf)
	}
	return true
}
