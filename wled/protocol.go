package wled

import "fmt"

// Protocol is how frames reach a device.
type Protocol int

const (
	// ProtocolUnknown is the zero value: no protocol chosen.
	ProtocolUnknown Protocol = iota
	// ProtocolAuto asks the device's JSON API and picks DDP (vid ≥ MinDDPVID) or DNRGB.
	ProtocolAuto
	// ProtocolDDP is DDP on UDP 4048: any LED count, 480 RGB / 360 RGBW LEDs per packet, push on the last.
	ProtocolDDP
	// ProtocolWARLS is WLED UDP realtime protocol 1: index + RGB per LED, at most 255 LEDs.
	ProtocolWARLS
	// ProtocolDRGB is WLED UDP realtime protocol 2: RGB from LED 0, at most 490 LEDs.
	ProtocolDRGB
	// ProtocolDRGBW is WLED UDP realtime protocol 3: RGBW from LED 0, at most 367 LEDs.
	ProtocolDRGBW
	// ProtocolDNRGB is WLED UDP realtime protocol 4: a 16-bit start index then RGB, 489 LEDs per packet.
	ProtocolDNRGB
)

// String returns the URL scheme naming the protocol ("ddp", "dnrgb", …).
func (p Protocol) String() string {
	switch p {
	case ProtocolAuto:
		return "wled"
	case ProtocolDDP:
		return "ddp"
	case ProtocolWARLS:
		return "warls"
	case ProtocolDRGB:
		return "drgb"
	case ProtocolDRGBW:
		return "drgbw"
	case ProtocolDNRGB:
		return "dnrgb"
	default:
		return fmt.Sprintf("Protocol(%d)", int(p))
	}
}

// Wire constants, from WLED's receive code (wled00/e131.cpp, wled00/udp.cpp).
const (
	// DDPPort is the UDP port WLED always listens on for DDP.
	DDPPort = 4048
	// RealtimePort is WLED's default UDP realtime (and sync notifier) port.
	RealtimePort = 21324

	ddpHeaderLen      = 10
	ddpMaxPayload     = 1440 // 480 RGB / 360 RGBW LEDs: what WLED's own sender, LedFx and Hyperion use
	ddpFlagsVersion1  = 0x40
	ddpFlagPush       = 0x01
	ddpTypeRGB8       = 0x0B
	ddpTypeRGBW8      = 0x1B
	ddpDestDisplay    = 1
	ddpMaxSeq         = 15
	realtimeIDWARLS   = 1
	realtimeIDDRGB    = 2
	realtimeIDDRGBW   = 3
	realtimeIDDNRGB   = 4
	warlsMaxLEDs      = 255
	drgbMaxLEDs       = 490
	drgbwMaxLEDs      = 367
	dnrgbLEDsPerPack  = 489
	dnrgbMaxStart     = 65535
	realtimeForeverTO = 255 // timeout byte 255 keeps WLED in realtime mode until told otherwise
)

// maxLEDs is the largest strip the protocol can address in one frame (before MaxLEDs applies).
func (p Protocol) maxLEDs() int {
	switch p {
	case ProtocolWARLS:
		return warlsMaxLEDs
	case ProtocolDRGB:
		return drgbMaxLEDs
	case ProtocolDRGBW:
		return drgbwMaxLEDs
	case ProtocolDNRGB, ProtocolDDP, ProtocolAuto:
		return MaxLEDs
	default:
		return 0
	}
}

// realtime reports whether p is one of WLED's UDP realtime protocols (port 21324).
func (p Protocol) realtime() bool {
	switch p {
	case ProtocolWARLS, ProtocolDRGB, ProtocolDRGBW, ProtocolDNRGB:
		return true
	}
	return false
}
