// Package wled drives WLED LED controllers: it sends Frames over DDP (UDP 4048) or WLED's UDP
// realtime protocols (UDP 21324: WARLS, DRGB, DRGBW, DNRGB), talks to the JSON API (/json/info,
// /json/state), parses device target URLs, paces each device's output on its own goroutine, and
// sends WLED audio-reactive sound sync v2 packets (UDP multicast 239.0.0.1:11988, SoundSyncSender).
//
// The byte layouts follow WLED's receive code (wled00/e131.cpp handleDDPPacket and
// wled00/udp.cpp handleNotifications); see docs/benchmarks/wled.md for measured costs.
package wled
