// Package session is a joined room at work: it follows the room's Presence and broadcasts, keeps one
// receive-only peer, audio stream and analyser per musician, and runs the 60 fps loop that turns
// their audio (or the host's led-update frames, or the idle look) into one frame per strip and hands
// it to every device sink.
//
// It also manages those devices (the configured ones, followed through address changes, and the
// ones discovery finds, each with its own sink: devices.go), sends WLED sound sync packets from the
// same analysis when configured, and is the status page's Provider and Controller: the snapshot it
// shows, and SetMode, SetBlackout, TestPattern and Identify from the page.
package session
