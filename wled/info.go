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
}

// HasWhite reports whether the strip has a white channel, from lc when set, else from rgbw.
func (l LEDsInfo) HasWhite() bool {
	if l.LC != 0 {
		return l.LC&0x02 != 0
	}
	return l.RGBW
}

// MinDDPVID is the first WLED build (vid) that accepts DDP.
const MinDDPVID = 2110060
