package status

import "time"

// Snapshot is everything the page shows, as of one moment. It never holds a secret.
type Snapshot struct {
	Version   string     `json:"version"`
	Time      time.Time  `json:"time"`
	Room      Room       `json:"room"`
	Musicians []Musician `json:"musicians"`
	// MusiciansNotFollowed counts musicians in Presence that are not in Musicians: ledbridge
	// follows at most twice MaxPeers (each followed musician holds an analyser), the rest wait
	// unlisted until places free.
	MusiciansNotFollowed int `json:"musiciansNotFollowed"`
	// MaxPeers is the peer cap (webrtc.max_peers) that a Musician.WaitingForSlot waits behind.
	MaxPeers int         `json:"maxPeers"`
	Devices  []Device    `json:"devices"`
	Pipeline Pipeline    `json:"pipeline"`
	Health   Health      `json:"health"`
	Controls bool        `json:"controls"` // controls are enabled (a token is configured)
	Dropped  DroppedMsgs `json:"dropped"`
}

// Room is the joined room and how it is reached.
type Room struct {
	Code string `json:"code"`
	// HostedBy is "supabase" or "lan" (the embedded room server).
	HostedBy string `json:"hostedBy"`
	// URL is the Supabase base URL, or the URL musicians' clients use for the LAN server.
	URL        string     `json:"url"`
	Connection Connection `json:"connection"`
	Mode       string     `json:"mode"` // auto, local, broadcast
	Look       string     `json:"look"` // what the strips show now: local, broadcast, idle
	// TestPattern is set while the test pattern (Controller.TestPattern) covers the look.
	TestPattern bool    `json:"testPattern"`
	Tempo       float64 `json:"tempo"`
	Playing     bool    `json:"playing"`
	Blackout    bool    `json:"blackout"`
	Brightness  float64 `json:"brightness"`
}

// Connection is the Realtime connection state.
type Connection struct {
	State     string    `json:"state"` // connecting, joined, reconnecting, closed
	LastError string    `json:"lastError,omitempty"`
	Since     time.Time `json:"since"`
}

// Musician is one remote participant.
type Musician struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	IsHost   bool      `json:"isHost"`
	JoinedAt time.Time `json:"joinedAt"`
	WebRTC   string    `json:"webrtc"` // new, connecting, connected, disconnected, failed, closed
	// WaitingForSlot is set while she is refused by the peer cap (Snapshot.MaxPeers): she has no
	// connection yet, so WebRTC stays "new" until a slot frees.
	WaitingForSlot bool `json:"waitingForSlot"`
	// Away is set while she has left Presence but her connection is kept for a rejoin (a
	// Realtime socket that drops for a moment shows as a leave; 10 s at most): WebRTC is still
	// her live connection's state, which alone would read as if she were in the room.
	Away        bool    `json:"away"`
	Codec       string  `json:"codec"`
	Packets     uint64  `json:"packets"`
	PacketsLost uint64  `json:"packetsLost"`
	LossPercent float64 `json:"lossPercent"`
	JitterMS    float64 `json:"jitterMs"`
	// AudioDroppedMS and PacketsSkipped are her audio that arrived and was thrown away unheard,
	// since her current stream started: samples the frame loop did not take in time, and packets
	// of a stall's backlog or of a flood not decoded. A Pi that cannot keep up shows here, who
	// it costs, while the packet loss above still reads 0.
	AudioDroppedMS float64 `json:"audioDroppedMs"`
	PacketsSkipped uint64  `json:"packetsSkipped"`
	Level          float64 `json:"level"` // RMS 0–1 of the newest audio
	Notes          []Note  `json:"notes"`
}

// Note is a note being detected now, with the colour the strips give it.
type Note struct {
	Name     string  `json:"name"`
	MIDI     int     `json:"midi"`
	Hz       float64 `json:"hz"`
	Velocity float64 `json:"velocity"`
	Color    string  `json:"color"` // #rrggbb
}

// Device is one WLED strip.
type Device struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	IP       string  `json:"ip"`
	LEDs     int     `json:"leds"` // the LEDs driven
	RGBW     bool    `json:"rgbw"`
	Protocol string  `json:"protocol"` // "ddp", "dnrgb", …; "" until a discovered device's JSON API confirms it
	Online   bool    `json:"online"`
	FPS      float64 `json:"fps"`
	Frames   uint64  `json:"frames"`
	Packets  uint64  `json:"packets"`
	Errors   uint64  `json:"errors"`
	Dropped  uint64  `json:"dropped"`
	// Look is the look the strip renders with, in `ledbridge discover`'s LOOK words: its strips:
	// entry's ("strips[1]: pulse, reverse") or "global"; "" for a device not driven yet.
	Look string `json:"look,omitempty"`
	// DeviceLEDs is the device's own LED count when it differs from LEDs: a forced protocol
	// (drgb, drgbw, warls) carries only the start of a longer strip, and the page says "490 of
	// 600" instead of passing the clamped length off as the strip's. 0 when they agree.
	DeviceLEDs int `json:"deviceLeds,omitempty"`
	// Driven is set while ledbridge streams to the device; the page previews only those. One
	// listed but not driven is a configured line not made drivable yet (its host name does not
	// resolve, its WLED's JSON API does not answer, its socket cannot be opened), listed from
	// start-up under the ID and name its strip will have (a wled:// line by its line until its
	// WLED names itself), or a device discovery found that cannot be driven (offline, no LED
	// count, past the cap on discovered strips).
	Driven bool `json:"driven"`
	// LastError is why the device is not driven, or why its configured line's look-ups fail while
	// its strip streams to the last address found: the last attempt's error, printable and at
	// most 160 characters; "" when nothing failed.
	LastError string `json:"lastError,omitempty"`
	// Attempts counts a configured line's failed attempts in a row behind LastError, and
	// NextAttempt is when the next one is made (a reload tries it at once).
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
}

// Pipeline is the frame loop's and the process's health.
type Pipeline struct {
	FPS            float64 `json:"fps"`
	Ticks          uint64  `json:"ticks"`
	LateTicks      uint64  `json:"lateTicks"`
	FrameTimeP50MS float64 `json:"frameTimeP50Ms"`
	FrameTimeP99MS float64 `json:"frameTimeP99Ms"`
	IntervalP99MS  float64 `json:"intervalP99Ms"`
	LatencyP50MS   float64 `json:"latencyP50Ms"` // RTP arrival of an onset → its first frame sent
	LatencyP99MS   float64 `json:"latencyP99Ms"`
	CPUPercent     float64 `json:"cpuPercent"` // of one core, over the last few seconds
	RSSBytes       uint64  `json:"rssBytes"`
	Goroutines     int     `json:"goroutines"`
}

// DroppedMsgs counts inputs that failed validation and were dropped.
type DroppedMsgs struct {
	Broadcasts uint64 `json:"broadcasts"` // malformed broadcast payloads
	Signals    uint64 `json:"signals"`    // malformed or unanswerable webrtc-signal messages
}

// Health is /healthz's answer.
type Health struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// Preview is the pixels last sent to one device, for the page's live strip preview.
type Preview struct {
	ID     string // Device.ID
	RGBW   bool
	Pixels []byte // 3 or 4 bytes per LED, exactly as sent
}
