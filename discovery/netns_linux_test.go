package discovery

// End-to-end tests against Debian's avahi-daemon, a real mDNS responder nobody here wrote.
//
// Each test builds a private LAN out of network namespaces: one "lan" namespace holds a Linux
// bridge, every host (the browser, each WLED) is a namespace joined to it by a veth pair. Each
// WLED namespace runs its own dbus-daemon (a private system bus: avahi-publish talks to
// avahi-daemon over D-Bus), its own avahi-daemon (with /run bind-mounted to a private directory
// so pid file and socket don't collide) publishing `_wled._tcp 80 mac=…` via avahi-publish, and
// a fake WLED JSON API (wledtest, re-exec'd from this test binary) on port 80. The registry runs
// as a helper process in the browser namespace, so its sockets are really in that namespace
// (setns on one goroutine's thread would not cover the runtime's other threads); the helper is
// this -race test binary, so a data race fails the test. No packet leaves these namespaces.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/wled"
)

const requireAllEnv = "LEDBRIDGE_REQUIRE_ALL"

// requireOrSkip skips t with reason, or fails it when CI demands every test runs.
func requireOrSkip(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv(requireAllEnv) == "1" {
		t.Fatalf("%s (and %s=1 forbids skipping)", reason, requireAllEnv)
	}
	t.Skip(reason)
}

var labSeq atomic.Int32

// lab is one private LAN of network namespaces.
type lab struct {
	t      *testing.T
	prefix string // namespace name prefix, "lbd<pid>-<n>"
	dir    string
	lan    string // the bridge namespace
}

// labSubnet is the IPv4 /24 used inside every lab (namespaces isolate labs from each other).
const labSubnet = "10.213.0."

func needNetnsTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		requireOrSkip(t, "netns/avahi discovery tests need root (ip netns, veth, bridge, mount)")
	}
	for _, bin := range []string{"ip", "avahi-daemon", "avahi-publish", "dbus-daemon", "unshare", "mount"} {
		if _, err := exec.LookPath(bin); err != nil {
			requireOrSkip(t, bin+" is not installed (apt-get install avahi-daemon avahi-utils dbus iproute2; see .ci/setup.d/discovery.sh)")
		}
	}
}

func newLab(t *testing.T) *lab {
	t.Helper()
	needNetnsTools(t)
	removeStaleNamespaces()
	l := &lab{t: t, prefix: fmt.Sprintf("lbd%d-%d", os.Getpid(), labSeq.Add(1)), dir: t.TempDir()}
	l.lan = l.prefix + "-lan"
	if out, err := exec.Command("ip", "netns", "add", l.lan).CombinedOutput(); err != nil {
		requireOrSkip(t, fmt.Sprintf("cannot create a network namespace here: %v: %s", err, out))
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", l.lan).Run() })
	l.ip("-n", l.lan, "link", "set", "lo", "up")
	l.ip("-n", l.lan, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.lan, "addr", "add", labSubnet+"1/24", "dev", "br0")
	l.ip("-n", l.lan, "link", "set", "br0", "up")
	return l
}

// removeStaleNamespaces deletes lab namespaces left by a test process that died (lbd<pid>-…).
func removeStaleNamespaces() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, "lbd")
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			_ = exec.Command("ip", "netns", "del", name).Run()
		}
	}
}

func (l *lab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// addHost makes namespace <prefix>-<name> with interface lan0 on the bridge at labSubnet+host.
func (l *lab) addHost(name string, host int) string {
	l.t.Helper()
	ns := l.prefix + "-" + name
	l.ip("netns", "add", ns)
	l.t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	l.ip("link", "add", "lan0", "netns", ns, "type", "veth", "peer", "name", "p"+name, "netns", l.lan)
	l.ip("-n", l.lan, "link", "set", "p"+name, "master", "br0", "up")
	l.ip("-n", ns, "link", "set", "lo", "up")
	l.ip("-n", ns, "addr", "add", labSubnet+strconv.Itoa(host)+"/24", "dev", "lan0")
	l.ip("-n", ns, "link", "set", "lan0", "up")
	return ns
}

// addBrowser makes the browsing host, with or without a default route.
func (l *lab) addBrowser(defaultRoute bool) string {
	l.t.Helper()
	ns := l.addHost("br", 100)
	if defaultRoute {
		l.ip("-n", ns, "route", "add", "default", "via", labSubnet+"1")
	}
	out, err := exec.Command("ip", "-n", ns, "route", "show", "default").CombinedOutput()
	if err != nil {
		l.t.Fatal(err)
	}
	if has := strings.TrimSpace(string(out)) != ""; has != defaultRoute {
		l.t.Fatalf("browser namespace default route = %q, want present=%v", out, defaultRoute)
	}
	return ns
}

// proc is a process the lab started; its stdout and stderr are collected line by line.
type proc struct {
	name   string
	helper bool // this test binary: stops cleanly when stdin closes
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	lines  []string
	more   chan struct{} // closed and replaced whenever a line arrives
	done   chan struct{} // closed after the process exited and its output was read
	waitMu sync.Mutex
	err    error // exit error, valid after done
}

func (l *lab) start(name string, env []string, args ...string) *proc {
	l.t.Helper()
	p := &proc{name: name, more: make(chan struct{}), done: make(chan struct{})}
	for _, e := range env {
		p.helper = p.helper || strings.HasPrefix(e, helperEnv+"=")
	}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	// If this test process dies, its children die too.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r, w, err := os.Pipe()
	if err != nil {
		l.t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		l.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		_ = r.Close()
		_ = w.Close()
		l.t.Fatalf("start %s: %v", name, err)
	}
	_ = w.Close()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		_ = r.Close()
		err := p.cmd.Wait()
		p.waitMu.Lock()
		p.err = err
		p.waitMu.Unlock()
		close(p.done)
	}()
	l.t.Cleanup(func() {
		p.stop()
		if l.t.Failed() {
			l.t.Logf("--- output of %s:\n%s", p.name, p.output())
		}
	})
	return p
}

// stop closes stdin (helpers then finish cleanly), sends SIGTERM after 5 s, and kills the
// process if it has not exited 10 s later.
func (p *proc) stop() {
	_ = p.stdin.Close()
	if p.helper {
		select {
		case <-p.done:
			return
		case <-time.After(5 * time.Second):
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exitErr waits for the process to exit and returns its exit error.
func (p *proc) exitErr() error {
	<-p.done
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	return p.err
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLine waits for a line (at index ≥ from) for which match is true and returns it and the
// next index to look from.
func (p *proc) waitLine(from int, timeout time.Duration, match func(string) bool) (string, int, error) {
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		lines, more := p.lines, p.more
		p.mu.Unlock()
		for i := from; i < len(lines); i++ {
			if match(lines[i]) {
				return lines[i], i + 1, nil
			}
		}
		from = len(lines)
		select {
		case <-more:
		case <-p.done:
			// Check the last lines once more, then give up.
			p.mu.Lock()
			lines = p.lines
			p.mu.Unlock()
			for i := from; i < len(lines); i++ {
				if match(lines[i]) {
					return lines[i], i + 1, nil
				}
			}
			return "", from, fmt.Errorf("%s exited (%v) before the expected line", p.name, p.exitErr())
		case <-deadline:
			return "", from, fmt.Errorf("%s: expected line not seen within %v", p.name, timeout)
		}
	}
}

func (p *proc) mustWait(t *testing.T, timeout time.Duration, substr string) {
	t.Helper()
	if _, _, err := p.waitLine(0, timeout, func(s string) bool { return strings.Contains(s, substr) }); err != nil {
		t.Fatalf("%v (waiting for %q)\n%s", err, substr, p.output())
	}
}

// device is one simulated WLED: namespace, D-Bus, avahi-daemon, avahi-publish, fake JSON API.
type device struct {
	lab  *lab
	ns   string
	name string
	mac  string
	leds int
}

const startupTimeout = 30 * time.Second

func (l *lab) addDevice(name string, host int, mac string, leds int) *device {
	l.t.Helper()
	return l.addDeviceAPI(name, host, mac, leds, true)
}

// addDeviceAPI is addDevice; withAPI false leaves out the JSON API (mDNS answers, HTTP refuses).
func (l *lab) addDeviceAPI(name string, host int, mac string, leds int, withAPI bool) *device {
	l.t.Helper()
	d := &device{lab: l, ns: l.addHost(name, host), name: name, mac: mac, leds: leds}
	env := l.startAvahi(d.ns, name)
	if withAPI {
		fake := l.start(name+" fake WLED", []string{helperEnv + "=fakewled", "LB_MAC=" + mac, "LB_NAME=" + name, "LB_LEDS=" + strconv.Itoa(leds)},
			"ip", "netns", "exec", d.ns, testBinary(l.t), "-test.run=^$")
		fake.mustWait(l.t, startupTimeout, "ready")
	}

	pub := l.start(name+" avahi-publish", env, "ip", "netns", "exec", d.ns, "avahi-publish", "-s", "wled-"+name, "_wled._tcp", "80", "mac="+mac)
	pub.mustWait(l.t, startupTimeout, "Established under name")
	return d
}

// startAvahi runs a private dbus-daemon and an avahi-daemon (host name wled-<name>) in ns and
// returns the environment that points avahi clients at that bus.
func (l *lab) startAvahi(ns, name string) []string {
	l.t.Helper()
	dir := filepath.Join(l.dir, name)
	runDir := filepath.Join(dir, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		l.t.Fatal(err)
	}
	bus := filepath.Join(dir, "system_bus_socket")
	dbusConf := filepath.Join(dir, "dbus.conf")
	avahiConf := filepath.Join(dir, "avahi.conf")
	writeFile(l.t, dbusConf, fmt.Sprintf(dbusConfig, bus))
	writeFile(l.t, avahiConf, fmt.Sprintf(avahiConfig, "wled-"+name))
	env := []string{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + bus}

	dbus := l.start(name+" dbus-daemon", nil, "ip", "netns", "exec", ns, "dbus-daemon", "--nofork", "--nopidfile", "--config-file="+dbusConf, "--print-address")
	dbus.mustWait(l.t, startupTimeout, "unix:path=")

	// ip netns exec already gives each command its own mount namespace; unshare makes sure the
	// bind mount of a private /run (avahi's pid file and socket paths are fixed) stays private.
	avahi := l.start(name+" avahi-daemon", env, "ip", "netns", "exec", ns,
		"unshare", "--mount", "--propagation", "private",
		"sh", "-c", `mount --bind "$0" /run && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f "$1"`, runDir, avahiConf)
	avahi.mustWait(l.t, startupTimeout, "Server startup complete")
	return env
}

// dbusConfig is a private system bus: avahi-daemon owns org.freedesktop.Avahi on it (as root)
// and avahi-publish (root) calls it. %s is the socket path.
const dbusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`

// avahiConfig limits avahi to lan0 and IPv4; %s is the host name (unique per device, as
// WLED's own wled-XXXXXX names are).
const avahiConfig = `[server]
host-name=%s
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=lan0
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
publish-aaaa-on-ipv4=no
`

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// setIP moves the device to another address, as a DHCP renewal would.
func (d *device) setIP(host int) {
	d.lab.t.Helper()
	d.lab.ip("-n", d.ns, "addr", "flush", "dev", "lan0")
	d.lab.ip("-n", d.ns, "addr", "add", labSubnet+strconv.Itoa(host)+"/24", "dev", "lan0")
}

// unplug and plugIn take the device's link down and up (power cut, Wi-Fi drop).
func (d *device) unplug() { d.lab.ip("-n", d.ns, "link", "set", "lan0", "down") }
func (d *device) plugIn() { d.lab.ip("-n", d.ns, "link", "set", "lan0", "up") }

// browseOnce runs discovery.Browse in the browser namespace and returns what it found.
func (l *lab) browseOnce(browserNS string, timeout time.Duration) []Device {
	l.t.Helper()
	p := l.start("browse helper", []string{helperEnv + "=browse", "LB_TIMEOUT=" + timeout.String()},
		"ip", "netns", "exec", browserNS, testBinary(l.t), "-test.run=^$")
	line, _, err := p.waitLine(0, timeout+30*time.Second, func(s string) bool { return strings.HasPrefix(s, "{") })
	if err != nil {
		l.t.Fatalf("%v\n%s", err, p.output())
	}
	if err := p.exitErr(); err != nil {
		l.t.Fatalf("browse helper failed: %v\n%s", err, p.output())
	}
	var hl helperLine
	if err := json.Unmarshal([]byte(line), &hl); err != nil {
		l.t.Fatalf("browse helper output %q: %v", line, err)
	}
	return hl.Devices
}

// registryProc is a Registry running in the browser namespace.
type registryProc struct {
	*proc
	t    *testing.T
	next int
}

func (l *lab) startRegistry(browserNS string) *registryProc {
	l.t.Helper()
	p := l.start("registry helper", []string{helperEnv + "=registry"}, "ip", "netns", "exec", browserNS, testBinary(l.t), "-test.run=^$")
	p.mustWait(l.t, startupTimeout, "ready")
	r := &registryProc{proc: p, t: l.t}
	l.t.Cleanup(func() {
		p.stop()
		if err := p.exitErr(); err != nil {
			l.t.Errorf("registry helper exited with %v (data race or goroutine leak?)\n%s", err, p.output())
		}
	})
	return r
}

// waitEvent waits for the next event of kind for mac and returns it with the list after it.
func (r *registryProc) waitEvent(kind EventKind, mac string, timeout time.Duration) helperLine {
	r.t.Helper()
	return r.waitFor(fmt.Sprintf("%s of %s", kind, mac), timeout, func(hl helperLine) bool {
		return hl.Event.Kind == kind && hl.Event.Device.MAC == mac
	})
}

// waitFor waits for the next event line for which match is true.
func (r *registryProc) waitFor(what string, timeout time.Duration, match func(helperLine) bool) helperLine {
	r.t.Helper()
	var got helperLine
	_, next, err := r.waitLine(r.next, timeout, func(s string) bool {
		var hl helperLine
		if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &hl) != nil || hl.Event == nil {
			return false
		}
		if match(hl) {
			got = hl
			return true
		}
		return false
	})
	if err != nil {
		r.t.Fatalf("waiting for %s: %v\n%s", what, err, r.output())
	}
	r.next = next
	r.t.Logf("registry: %s %s at %v online=%v", got.Event.Kind, got.Event.Device.MAC, got.Event.Device.IP, got.Event.Device.Online)
	return got
}

func findMAC(ds []Device, mac string) []Device {
	var out []Device
	for _, d := range ds {
		if d.MAC == mac {
			out = append(out, d)
		}
	}
	return out
}

func checkDevice(t *testing.T, ds []Device, d *device, host int) {
	t.Helper()
	got := findMAC(ds, d.mac)
	if len(got) != 1 {
		t.Fatalf("devices with MAC %s: %d, want 1 (all: %+v)", d.mac, len(got), ds)
	}
	g := got[0]
	want := netip.MustParseAddr(labSubnet + strconv.Itoa(host))
	if !g.Online || g.IP != want || g.HTTPPort != 80 || g.LEDs != d.leds || g.Name != d.name ||
		g.Host != "wled-"+d.name+".local." || g.Protocol != wled.ProtocolDDP || g.Source != SourceMDNS {
		t.Errorf("device %s = %+v, want online at %v:80 with %d LEDs", d.name, g, want, d.leds)
	}
}

func TestNetnsAvahiDefaultRoute(t *testing.T) {
	l := newLab(t)
	br := l.addBrowser(true)
	d := l.addDevice("d1", 11, "02fc0a000011", 144)
	l.addDeviceAPI("mute", 12, "02fc0a000012", 10, false) // its TXT record says mac=02fc0a000012
	ds := l.browseOnce(br, 3*time.Second)
	checkDevice(t, ds, d, 11)
	// Answered mDNS, refused /json/info: listed under its instance name, offline, with the
	// error, and without the MAC its TXT record claims (only /json/info confirms a MAC).
	var g []Device
	for _, x := range ds {
		if x.Key == "mdns:wled-mute" {
			g = append(g, x)
		}
	}
	if len(g) != 1 || g[0].Online || !strings.Contains(g[0].LastError, "connect") || g[0].MAC != "" ||
		g[0].IP != netip.MustParseAddr(labSubnet+"12") || g[0].Name != "wled-mute" {
		t.Errorf("device without JSON API = %+v, want one offline entry with an error", g)
	}
	if len(ds) != 2 {
		t.Errorf("found %d devices, want 2: %+v", len(ds), ds)
	}
}

func TestNetnsAvahiNoDefaultRoute(t *testing.T) {
	l := newLab(t)
	br := l.addBrowser(false)
	// The browsing host runs its own avahi-daemon, as Raspberry Pi OS does: both bind UDP 5353.
	l.startAvahi(br, "browser")
	d := l.addDevice("d1", 11, "02fc0a000011", 60)
	checkDevice(t, l.browseOnce(br, 3*time.Second), d, 11)
}

func TestNetnsAvahiFiveDevices(t *testing.T) {
	l := newLab(t)
	br := l.addBrowser(false)
	var devs []*device
	for i := 1; i <= 5; i++ {
		devs = append(devs, l.addDevice("d"+strconv.Itoa(i), 10+i, fmt.Sprintf("02fc0a0000%02x", i), 30*i))
	}
	ds := l.browseOnce(br, 3*time.Second)
	if len(ds) != 5 {
		t.Errorf("found %d devices, want 5: %+v", len(ds), ds)
	}
	for i, d := range devs {
		checkDevice(t, ds, d, 11+i)
	}
}

func TestNetnsAvahiIPChange(t *testing.T) {
	l := newLab(t)
	br := l.addBrowser(false)
	d := l.addDevice("d1", 11, "02fc0a000011", 90)
	reg := l.startRegistry(br)
	added := reg.waitEvent(EventAdded, d.mac, startupTimeout)
	checkDevice(t, added.Devices, d, 11)

	d.setIP(21)
	// Either the next round sees the new address at once (updated), or it first probes the old
	// one in vain (offline) and then finds the device again (online): both must end with one
	// device at the new address.
	moved := netip.MustParseAddr(labSubnet + "21")
	hl := reg.waitFor("the device at its new address", startupTimeout, func(hl helperLine) bool {
		return hl.Event.Device.MAC == d.mac && hl.Event.Device.Online && hl.Event.Device.IP == moved
	})
	checkDevice(t, hl.Devices, d, 21)
	if len(hl.Devices) != 1 {
		t.Errorf("device list after the IP change has %d entries, want 1: %+v", len(hl.Devices), hl.Devices)
	}
}

func TestNetnsAvahiDisappearAndReturn(t *testing.T) {
	l := newLab(t)
	br := l.addBrowser(false)
	d := l.addDevice("d1", 11, "02fc0a000011", 90)
	reg := l.startRegistry(br)
	reg.waitEvent(EventAdded, d.mac, startupTimeout)

	d.unplug()
	off := reg.waitEvent(EventOffline, d.mac, startupTimeout)
	if g := findMAC(off.Devices, d.mac); len(g) != 1 || g[0].Online || g[0].LastError == "" {
		t.Errorf("after unplugging: %+v, want one offline device with an error", g)
	}

	d.plugIn()
	on := reg.waitEvent(EventOnline, d.mac, startupTimeout)
	checkDevice(t, on.Devices, d, 11)
}

func TestNetnsAvahiWithGarbageOnTheLAN(t *testing.T) {
	l := newLab(t)
	br := l.addBrowser(false)
	d := l.addDevice("d1", 11, "02fc0a000011", 77)
	junk := l.addHost("junk", 66)
	g := l.start("garbage sender", []string{helperEnv + "=garbage"}, "ip", "netns", "exec", junk, testBinary(t), "-test.run=^$")
	g.mustWait(t, startupTimeout, "ready")

	ds := l.browseOnce(br, 3*time.Second)
	checkDevice(t, ds, d, 11)
	for _, x := range ds {
		if x.MAC != d.mac && x.Online {
			t.Errorf("a device made up by the garbage sender is online: %+v", x)
		}
		if strings.Contains(x.Name, "TV") {
			t.Errorf("another service's answer was listed: %+v", x)
		}
	}
	g.stop()
	if err := g.exitErr(); err != nil {
		t.Errorf("garbage sender failed: %v\n%s", err, g.output())
	}
	t.Logf("%d devices listed; garbage sender: %s", len(ds), strings.ReplaceAll(g.output(), "\n", "; "))
}
