package wled

import "time"

// LiveMode is the /json/info "lm" of a WLED that p's packets drive. WLED names its realtimeMode
// there (wled00/json.cpp serializeInfo, the same strings in v0.14.4, v0.15.3 and main at
// 6d16dc22e, 2026-08-19): a DDP packet locks REALTIME_MODE_DDP (e131.cpp handleDDPPacket) →
// "DDP"; a UDP realtime packet, protocol 1..5 WARLS, DRGB, DRGBW, DNRGB, DNRGBW, locks
// REALTIME_MODE_UDP (udp.cpp handleNotifications) → "UDP". The other sources it names:
// "E1.31", "Art-Net", "DMX", "Hyperion", "tpm2.net", "USB Adalight/TPM2", and "" (not live, or
// {"live":true} through the JSON API).
func LiveMode(p Protocol) string {
	if p == ProtocolDDP {
		return "DDP"
	}
	return "UDP"
}

// WholeSeconds is d (≥ 0) rounded up to whole seconds, as WLED's realtime timeout byte carries
// a timeout: WLED stays live for that many seconds (and a millisecond) after a packet, so a
// timeout of 1.2 s is 2 s on the device. Every check of a realtime timeout against the device's
// goes by it.
func WholeSeconds(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}
