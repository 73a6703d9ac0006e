// Package session is a joined room at work: it follows the room's Presence and broadcasts, keeps one
// receive-only peer, audio stream and analyser per musician, and runs the 60 fps loop that turns
// their audio (or the host's led-update frames, or the idle look) into one frame per strip and hands
// it to every device sink.
package session
