package wled

// Info is the part of a WLED controller's GET /json/info reply that ledbridge uses.
// Field names follow WLED's JSON (wled00/json.cpp serializeInfo).
type Info struct {
	Name     string   `json:"name"`    // user-visible device name (serverDescription)
	Version  string   `json:"ver"`     // firmware version, e.g. "0.14.4"
	VID      int      `json:"vid"`     // build number; DDP is supported from 2110060 on
	MAC      string   `json:"mac"`     // 12 lower-case hex digits, no colons; "" if absent or malformed
	IP       string   `json:"ip"`      // the device's own idea of its IPv4 address; "" if not an address
	Arch     string   `json:"arch"`    // "esp32", "esp8266", …
	LEDs     LEDsInfo `json:"leds"`    // LED configuration
	UDPPort  int      `json:"udpport"` // UDP realtime port (21324 by default)
	Live     bool     `json:"live"`    // a realtime stream currently drives the strip
	LiveMode string   `json:"lm"`      // realtime source: "DDP", "UDP", "E1.31", … or ""
	// LiveIP is the address of the sender whose realtime packets the device shows (WLED's
	// realtimeIP), "" when none does or the device does not say: with lm, it tells our stream
	// from another sender's of the same protocol.
	LiveIP string `json:"lip"`
}

// LEDsInfo is /json/info's "leds" object.
type LEDsInfo struct {
	Count int  `json:"count"` // total LEDs on the device
	RGBW  bool `json:"rgbw"`  // deprecated flag: the strip has a white channel
	LC    int  `json:"lc"`    // light capabilities: bit0 RGB, bit1 white, bit2 CCT
	FPS   int  `json:"fps"`   // the device's current output frame rate
	// SegLC is lc per active segment; lc is their OR. nil when the device does not say.
	SegLC []int `json:"seglc,omitempty"`
}

// HasWhite reports whether frames for the device should carry a white channel: only when every
// active segment has one (seglc), since lc is their OR and an RGB strip drops the W of a pixel,
// so a device with an RGB and an RGBW strip gets RGB. WLED clears a segment's white bit when
// the RGBW strip computes white from RGB itself (auto-white Brighter, Accurate, Max), and sends 0
// for an inactive segment (0.13), which is skipped. Without seglc, lc decides; without lc (before
// 0.13), rgbw.
func (l LEDsInfo) HasWhite() bool {
	segments := 0
	for _, lc := range l.SegLC {
		if lc == 0 {
			continue
		}
		if lc&0x02 == 0 {
			return false
		}
		segments++
	}
	if segments > 0 {
		return true
	}
	if l.LC != 0 {
		return l.LC&0x02 != 0
	}
	return l.RGBW
}

// MinDDPVID is the first WLED build (vid) that accepts DDP.
const MinDDPVID = 2110060
