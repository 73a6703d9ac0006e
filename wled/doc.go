// Package wled drives WLED LED controllers: it sends Frames over DDP (UDP 4048) or WLED's UDP
// realtime protocols (UDP 21324: WARLS, DRGB, DRGBW, DNRGB), talks to the JSON API (/json/info,
// /json/state), parses device target URLs, and paces each device's output on its own goroutine.
//
// The byte layouts follow WLED's receive code (wled00/e131.cpp handleDDPPacket and
// wled00/udp.cpp handleNotifications); see docs/benchmarks/wled.md for measured costs.
package wled
