// Package wiretest gives tests the WebSocket frames recorded from real supabase-js 2.119.1
// (embedded from recordings/, see recordings/README.md for provenance), parsed into Frames.
//
// It depends on nothing in ledbridge, so the wire, realtime and hub packages can all use it.
package wiretest

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

//go:embed recordings/*.log
var recordings embed.FS

// Recording names, without the .log suffix.
const (
	SessionV2        = "session-vsn2"
	SessionV1        = "session-vsn1"
	JoinErrorRejoin  = "join-error-rejoin"
	HeartbeatTimeout = "heartbeat-timeout"
	ServerShutdown   = "server-shutdown"
)

// Names lists every recording.
var Names = []string{SessionV2, SessionV1, JoinErrorRejoin, HeartbeatTimeout, ServerShutdown}

// Direction is who sent a frame.
type Direction uint8

// Frame directions.
const (
	ClientToServer Direction = iota + 1 // "C->S": sent by supabase-js
	ServerToClient                      // "S->C": sent by the logging server
)

// String returns the log's arrow.
func (d Direction) String() string {
	if d == ClientToServer {
		return "C->S"
	}
	return "S->C"
}

// Frame is one recorded WebSocket message.
type Frame struct {
	Line   int           // line number in the log, 1-based
	At     time.Duration // since the logging server started
	Dir    Direction
	Binary bool   // a binary message; otherwise text
	Data   []byte // the exact message bytes
}

// Event is a non-frame line of interest: an upgrade or a close.
type Event struct {
	Line int
	At   time.Duration
	Text string // e.g. "WS UPGRADE /realtime/v1/websocket?..." or "WS CLOSE 1000 heartbeat timeout"
}

// Recording is one parsed log.
type Recording struct {
	Name   string
	Frames []Frame
	Events []Event
}

// Load parses the named recording (one of Names).
func Load(name string) (*Recording, error) {
	data, err := recordings.ReadFile("recordings/" + name + ".log")
	if err != nil {
		return nil, fmt.Errorf("wiretest: %w", err)
	}
	return Parse(name, data)
}

// MustLoad is Load for tests: it panics on a missing or broken recording, which is a bug in
// this package, not in the code under test.
func MustLoad(name string) *Recording {
	r, err := Load(name)
	if err != nil {
		panic(err)
	}
	return r
}

// Parse reads a log in the recorder's format: "<ms>ms <C->S|S->C> <text or BINARY hex>".
func Parse(name string, data []byte) (*Recording, error) {
	rec := &Recording{Name: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		msField, rest, ok := strings.Cut(text, " ")
		if !ok || !strings.HasSuffix(msField, "ms") {
			continue
		}
		ms, err := strconv.Atoi(strings.TrimSuffix(msField, "ms"))
		if err != nil {
			continue
		}
		at := time.Duration(ms) * time.Millisecond
		rest = strings.TrimLeft(rest, " ")
		var dir Direction
		switch {
		case strings.HasPrefix(rest, "C->S "):
			dir = ClientToServer
		case strings.HasPrefix(rest, "S->C "):
			dir = ServerToClient
		case strings.HasPrefix(rest, "WS "):
			rec.Events = append(rec.Events, Event{Line: line, At: at, Text: rest})
			continue
		default:
			continue
		}
		body := rest[len("C->S "):]
		f := Frame{Line: line, At: at, Dir: dir}
		if hexStr, ok := strings.CutPrefix(body, "BINARY "); ok {
			f.Binary = true
			if f.Data, err = hex.DecodeString(strings.TrimSpace(hexStr)); err != nil {
				return nil, fmt.Errorf("wiretest: %s:%d: %w", name, line, err)
			}
		} else {
			f.Data = []byte(body)
		}
		rec.Frames = append(rec.Frames, f)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("wiretest: %s: %w", name, err)
	}
	return rec, nil
}

// Sent returns the frames sent in direction d.
func (r *Recording) Sent(d Direction) []Frame {
	var out []Frame
	for _, f := range r.Frames {
		if f.Dir == d {
			out = append(out, f)
		}
	}
	return out
}
