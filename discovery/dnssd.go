package discovery

import (
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/ledbridge/ledbridge/wled"
)

// Bounds on what one mDNS packet can make the browser do. Anyone on the LAN can send mDNS
// packets, so each packet costs at most maxRecordsPerPacket record headers and every kept
// record costs one map lookup: no packet can make the browser walk its pending instances.
const (
	// maxRecordsPerPacket is how many answer and additional records of one packet are read;
	// the rest are ignored. A WLED (ESP-IDF, LEAmDNS) or avahi answer has 4–6.
	maxRecordsPerPacket = 64
	// maxKeptPerPacket is how many PTR, SRV, TXT and A records of each kind one packet may
	// contribute.
	maxKeptPerPacket = 16
	// maxPending bounds the instances heard (PTR) but not yet complete (SRV and A); they are a
	// uniform random sample like the complete ones, so invented names cannot fill it first.
	maxPending = maxAnswers
	// maxInstanceLabel is DNS's label limit; an instance name is one label.
	maxInstanceLabel = 63
	// cacheFlush is mDNS's top bit of a record's class (RFC 6762 §10.2).
	cacheFlush = 0x8000
)

// wledServiceName is the PTR owner a browse asks for; instances are <label>.wledSuffix.
const wledServiceName = "_wled._tcp.local."

// browseStats counts what a browse did, for tests and the flood benchmark.
type browseStats struct {
	Packets    int // packets handed to handlePacket
	Dropped    int // packets refused as a whole: not a response, malformed
	Records    int // record headers read
	MaxPending int // the most incomplete instances held at once
	MaxHosts   int // the most host names indexed at once
}

// pendingInstance is an instance whose PTR was heard but whose SRV or address is missing.
type pendingInstance struct {
	key     string // lower-case instance label: DNS names compare case-insensitively
	label   string // as heard, "wled-abcdef"
	host    string // SRV target as heard, "" until its SRV arrives
	hostKey string // lower-case host
	port    uint16
	mac     string
	slot    int // index in pendingSample.order
	hostIdx int // index in browseState.hosts[hostKey]
}

// browseState is one browse's view of the _wled._tcp instances on the LAN. Complete answers
// (PTR, SRV and an A record for the SRV host) go into resolved; instances still missing
// something wait in pending, found again by map key when their records come. Not safe for
// concurrent use.
type browseState struct {
	resolved *answerSample
	pending  *pendingSample
	hosts    map[string][]*pendingInstance // lower-case SRV target → pending instances naming it
	stats    browseStats
	pkt      packetRecords
	keyBuf   [255]byte
}

func newBrowseState(intN func(int) int) *browseState {
	s := &browseState{resolved: newAnswerSample(maxAnswers, intN), hosts: make(map[string][]*pendingInstance)}
	s.pending = &pendingSample{limit: maxPending, byKey: make(map[string]*pendingInstance), intN: intN, evicted: s.unlinkHost}
	return s
}

type srvRecord struct {
	owner, target dnsmessage.Name
	port          uint16
}

type txtRecord struct {
	owner dnsmessage.Name
	mac   string
}

type aRecord struct {
	owner dnsmessage.Name
	addr  [4]byte
}

// packetRecords holds the relevant records of one packet, so that their order within it does
// not matter (avahi puts the A record after the SRV, other responders may not). Fixed arrays:
// reading a packet allocates nothing for records that turn out to be unrelated.
type packetRecords struct {
	ptr  [maxKeptPerPacket]dnsmessage.Name
	srv  [maxKeptPerPacket]srvRecord
	txt  [maxKeptPerPacket]txtRecord
	a    [maxKeptPerPacket]aRecord
	nptr int
	nsrv int
	ntxt int
	na   int
}

// handlePacket reads one mDNS message and folds its _wled._tcp records into the browse. Any
// malformed message is ignored as a whole.
func (s *browseState) handlePacket(msg []byte) {
	s.stats.Packets++
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.RCode != dnsmessage.RCodeSuccess {
		s.stats.Dropped++
		return
	}
	if err := p.SkipAllQuestions(); err != nil {
		s.stats.Dropped++
		return
	}
	s.pkt = packetRecords{nptr: 0}
	inAdditionals := false
	for read := 0; read < maxRecordsPerPacket; {
		var rh dnsmessage.ResourceHeader
		if inAdditionals {
			rh, err = p.AdditionalHeader()
		} else {
			rh, err = p.AnswerHeader()
		}
		if err == dnsmessage.ErrSectionDone {
			if inAdditionals {
				break
			}
			inAdditionals = true
			if err := p.SkipAllAuthorities(); err != nil {
				s.stats.Dropped++
				return
			}
			continue
		}
		if err != nil {
			s.stats.Dropped++
			return
		}
		read++
		s.stats.Records++
		skip := p.SkipAnswer
		if inAdditionals {
			skip = p.SkipAdditional
		}
		if err := s.collect(&p, &rh, skip); err != nil {
			s.stats.Dropped++
			return
		}
	}
	s.apply()
}

// collect keeps rh's record in s.pkt when it can belong to a _wled._tcp instance, and
// consumes its body either way.
func (s *browseState) collect(p *dnsmessage.Parser, rh *dnsmessage.ResourceHeader, skip func() error) error {
	// TTL 0 is a goodbye (RFC 6762 §10.1): the responder withdraws the record (an instance
	// leaving, the old address after a DHCP change), so it never names an instance, host,
	// port or address.
	if rh.Class&^cacheFlush != dnsmessage.ClassINET || rh.TTL == 0 {
		return skip()
	}
	pk := &s.pkt
	switch rh.Type {
	case dnsmessage.TypePTR:
		if pk.nptr == maxKeptPerPacket || !nameIs(&rh.Name, wledServiceName) {
			return skip()
		}
		r, err := p.PTRResource()
		if err != nil {
			return err
		}
		if _, ok := instanceLabel(&r.PTR); ok {
			pk.ptr[pk.nptr] = r.PTR
			pk.nptr++
		}
	case dnsmessage.TypeSRV:
		if _, ok := instanceLabel(&rh.Name); !ok || pk.nsrv == maxKeptPerPacket {
			return skip()
		}
		r, err := p.SRVResource()
		if err != nil {
			return err
		}
		if r.Port != 0 && r.Target.Length > 1 {
			pk.srv[pk.nsrv] = srvRecord{owner: rh.Name, target: r.Target, port: r.Port}
			pk.nsrv++
		}
	case dnsmessage.TypeTXT:
		// TXT is the one record whose parsing allocates, so only for names of our service and
		// at most maxKeptPerPacket a packet. Its PTR may come later in the packet, so whether
		// the instance is ours is decided in apply, where unmatched TXTs are dropped.
		if _, ok := instanceLabel(&rh.Name); !ok || pk.ntxt == maxKeptPerPacket {
			return skip()
		}
		r, err := p.TXTResource()
		if err != nil {
			return err
		}
		pk.txt[pk.ntxt] = txtRecord{owner: rh.Name, mac: macFromTXT(r.TXT)}
		pk.ntxt++
	case dnsmessage.TypeA:
		// Unrelated hosts may take only half the places, so a flood of A records in one packet
		// cannot crowd out the address of a host this packet's or an earlier SRV names.
		wanted := pk.indexSRVTarget(&rh.Name) >= 0 || len(s.hosts[string(s.lowerKey(rh.Name.Data[:rh.Name.Length]))]) > 0
		if pk.na == maxKeptPerPacket || (!wanted && pk.na >= maxKeptPerPacket/2) {
			return skip()
		}
		r, err := p.AResource()
		if err != nil {
			return err
		}
		pk.a[pk.na] = aRecord{owner: rh.Name, addr: r.A}
		pk.na++
	default:
		return skip()
	}
	return nil
}

// apply folds the packet's records into the browse: an instance complete within the packet
// goes straight to resolved; otherwise records complete pending instances by map key.
func (s *browseState) apply() {
	pk := &s.pkt
	for i := range pk.nptr {
		inst := &pk.ptr[i]
		label, _ := instanceLabel(inst)
		srv := pk.findSRV(inst)
		mac := pk.findMAC(inst)
		if srv != nil {
			if addr, ok := pk.findA(&srv.target); ok {
				s.pending.remove(s.lowerKey(label))
				s.resolved.add(Answer{Instance: string(label), Host: srv.target.String(), Addr: addr, Port: int(srv.port), MAC: mac})
				continue
			}
		}
		if _, done := s.resolved.byInstance[string(label)]; done {
			continue // already complete in this browse; an update comes as a complete answer
		}
		pi := s.pending.get(s.lowerKey(label))
		if pi == nil {
			slot, ok := s.pending.draw()
			if !ok {
				continue // not drawn for the sample: nothing allocated
			}
			pi = &pendingInstance{key: string(s.lowerKey(label)), label: string(label)}
			s.pending.put(slot, pi)
		}
		if srv != nil {
			s.setSRV(pi, srv)
		}
		if mac != "" {
			pi.mac = mac
		}
	}
	// Records for instances heard in earlier packets.
	for i := range pk.nsrv {
		r := &pk.srv[i]
		label, _ := instanceLabel(&r.owner)
		if pi := s.pending.get(s.lowerKey(label)); pi != nil {
			s.setSRV(pi, r)
			if addr, ok := pk.findA(&r.target); ok {
				s.complete(pi, addr)
			}
		}
	}
	for i := range pk.ntxt {
		r := &pk.txt[i]
		label, _ := instanceLabel(&r.owner)
		if pi := s.pending.get(s.lowerKey(label)); pi != nil && r.mac != "" {
			pi.mac = r.mac
		}
	}
	for i := range pk.na {
		r := &pk.a[i]
		addr := netip.AddrFrom4(r.addr)
		if !usableAddr(addr) {
			continue
		}
		key := s.lowerKey(r.owner.Data[:r.owner.Length])
		// complete unlinks each instance from the host's list, so this ends.
		for list := s.hosts[string(key)]; len(list) > 0; list = s.hosts[string(key)] {
			s.complete(list[len(list)-1], addr)
		}
	}
	s.stats.MaxPending = max(s.stats.MaxPending, len(s.pending.byKey))
	s.stats.MaxHosts = max(s.stats.MaxHosts, len(s.hosts))
}

// setSRV records an instance's host and port and indexes it under its host name.
func (s *browseState) setSRV(pi *pendingInstance, r *srvRecord) {
	hostKey := s.lowerKey(r.target.Data[:r.target.Length])
	if pi.hostKey != string(hostKey) {
		s.unlinkHost(pi)
		pi.host = r.target.String()
		pi.hostKey = string(hostKey)
		pi.hostIdx = len(s.hosts[pi.hostKey])
		s.hosts[pi.hostKey] = append(s.hosts[pi.hostKey], pi)
	}
	pi.port = r.port
}

// complete moves a pending instance whose address is now known to resolved. The answer is
// built first: removing the key unlinks pi from its host, which clears pi.host.
func (s *browseState) complete(pi *pendingInstance, addr netip.Addr) {
	a := Answer{Instance: pi.label, Host: pi.host, Addr: addr, Port: int(pi.port), MAC: pi.mac}
	s.pending.removeKey(pi.key)
	s.resolved.add(a)
}

// unlinkHost removes pi from its host's list (pending instances leave by completion or by
// being replaced in the sample).
func (s *browseState) unlinkHost(pi *pendingInstance) {
	if pi.hostKey == "" {
		return
	}
	list := s.hosts[pi.hostKey]
	last := len(list) - 1
	list[pi.hostIdx] = list[last]
	list[pi.hostIdx].hostIdx = pi.hostIdx
	list[last] = nil
	if last == 0 {
		delete(s.hosts, pi.hostKey)
	} else {
		s.hosts[pi.hostKey] = list[:last]
	}
	pi.hostKey, pi.host = "", ""
}

// answers returns the complete instances.
func (s *browseState) answers() []Answer {
	out := make([]Answer, 0, len(s.resolved.byInstance))
	for _, a := range s.resolved.byInstance {
		out = append(out, a)
	}
	return out
}

// lowerKey lower-cases an ASCII name into s.keyBuf; the result is only valid until the next
// call. Map lookups with string(key) do not allocate.
func (s *browseState) lowerKey(b []byte) []byte {
	n := copy(s.keyBuf[:], b)
	for i := range n {
		s.keyBuf[i] = lowerASCII(s.keyBuf[i])
	}
	return s.keyBuf[:n]
}

func (pk *packetRecords) indexSRVTarget(n *dnsmessage.Name) int {
	for i := range pk.nsrv {
		if namesEqual(&pk.srv[i].target, n) {
			return i
		}
	}
	return -1
}

func (pk *packetRecords) findSRV(inst *dnsmessage.Name) *srvRecord {
	for i := range pk.nsrv {
		if namesEqual(&pk.srv[i].owner, inst) {
			return &pk.srv[i]
		}
	}
	return nil
}

func (pk *packetRecords) findMAC(inst *dnsmessage.Name) string {
	for i := range pk.ntxt {
		if namesEqual(&pk.txt[i].owner, inst) {
			return pk.txt[i].mac
		}
	}
	return ""
}

// findA returns the last usable address the packet gives host.
func (pk *packetRecords) findA(host *dnsmessage.Name) (netip.Addr, bool) {
	for i := pk.na - 1; i >= 0; i-- {
		if a := netip.AddrFrom4(pk.a[i].addr); namesEqual(&pk.a[i].owner, host) && usableAddr(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// usableAddr reports an address a WLED on the LAN can have. Loopback and this machine's own
// addresses are refused: anyone on the LAN could otherwise point our /json/info probes, and then
// a stream, at this machine's own services (the room server, the status page).
func usableAddr(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) &&
		!ownAddrs.has(a)
}

// macFromTXT returns the normalised mac= value of WLED's TXT record, or "".
func macFromTXT(txt []string) string {
	for _, t := range txt {
		if k, v, ok := strings.Cut(t, "="); ok && strings.EqualFold(k, "mac") {
			return wled.NormalizeMAC(v)
		}
	}
	return ""
}

// instanceLabel returns the instance part of <label>._wled._tcp.local. (one DNS label, so at
// most 63 bytes), or false for any other name.
func instanceLabel(n *dnsmessage.Name) ([]byte, bool) {
	l := int(n.Length)
	if l <= len(wledSuffix) || !foldEqual(n.Data[l-len(wledSuffix):l], wledSuffix) {
		return nil, false
	}
	label := n.Data[:l-len(wledSuffix)]
	if len(label) > maxInstanceLabel {
		return nil, false
	}
	return label, true
}

// nameIs reports whether n is the lower-case name want, ignoring ASCII case.
func nameIs(n *dnsmessage.Name, want string) bool {
	return foldEqual(n.Data[:n.Length], want)
}

func namesEqual(a, b *dnsmessage.Name) bool {
	if a.Length != b.Length {
		return false
	}
	for i := range int(a.Length) {
		if lowerASCII(a.Data[i]) != lowerASCII(b.Data[i]) {
			return false
		}
	}
	return true
}

// foldEqual compares b with the lower-case string want, ignoring ASCII case (RFC 6762 §16:
// mDNS names compare case-insensitively for ASCII only).
func foldEqual(b []byte, want string) bool {
	if len(b) != len(want) {
		return false
	}
	for i := range b {
		if lowerASCII(b[i]) != want[i] {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// pendingSample keeps at most limit incomplete instances, a uniform sample of the distinct ones
// offered (reservoir sampling, as answerSample), found by lower-case instance label.
type pendingSample struct {
	limit   int
	heard   int
	byKey   map[string]*pendingInstance
	order   []*pendingInstance
	intN    func(n int) int
	evicted func(*pendingInstance) // called for an instance the sample drops
}

func (s *pendingSample) get(key []byte) *pendingInstance { return s.byKey[string(key)] }

// draw offers the sample one more distinct instance and says whether, and in which slot, it
// is kept; put then stores it. Split so that an instance not drawn costs no allocation.
func (s *pendingSample) draw() (int, bool) {
	s.heard++
	if len(s.order) < s.limit {
		return len(s.order), true
	}
	i := s.intN(s.heard)
	return i, i < s.limit
}

// put stores pi in slot (from draw), dropping the instance that held it.
func (s *pendingSample) put(slot int, pi *pendingInstance) {
	pi.slot = slot
	s.byKey[pi.key] = pi
	if slot == len(s.order) {
		s.order = append(s.order, pi)
		return
	}
	old := s.order[slot]
	delete(s.byKey, old.key)
	s.evicted(old)
	s.order[slot] = pi
}

func (s *pendingSample) remove(key []byte) {
	if pi, ok := s.byKey[string(key)]; ok {
		s.removeKey(pi.key)
	}
}

// removeKey drops a completed instance.
func (s *pendingSample) removeKey(key string) {
	pi, ok := s.byKey[key]
	if !ok {
		return
	}
	delete(s.byKey, key)
	s.evicted(pi)
	last := len(s.order) - 1
	s.order[pi.slot] = s.order[last]
	s.order[pi.slot].slot = pi.slot
	s.order[last] = nil
	s.order = s.order[:last]
}
