package session

import (
	"context"

	"github.com/ledbridge/ledbridge/wled"
)

// Sink is where the frame loop hands one strip's Frames (docs/ARCHITECTURE.md): in the daemon a
// device's output, *wled.Output. These are the calls the session makes on it.
type Sink interface {
	// LEDs and RGBW are the strip's shape: the renderer draws LEDs() × 3 (RGB) or 4 (RGBW) bytes.
	LEDs() int
	RGBW() bool
	// FrameBytes is the length of the frame Submit takes.
	FrameBytes() int
	// Submit hands the sink this tick's frame. It copies the frame and never blocks: a frame not
	// sent yet is replaced (the latest wins). The frame loop calls it once per strip per tick, so
	// it must not allocate.
	Submit(frame []byte)
	// Run sends the submitted frames, paced on the sink's own goroutine, until ctx is done; then
	// it gives the device back and returns.
	Run(ctx context.Context) error
	// Stats (the status page, /metrics and the health of the strip) and CopyLastSent (the status
	// page's preview of the last frame sent, which it copies into dst and returns the length of)
	// may be called from any goroutine.
	Stats() wled.OutputStats
	CopyLastSent(dst []byte) int
}

var _ Sink = (*wled.Output)(nil)

// SinkOpener makes the Sink for one strip: cfg is what a device output for it would be given
// (target, name, realtime timeout, pacing, release client, logger). The default opens a
// *wled.Output.
type SinkOpener func(cfg wled.OutputConfig) (Sink, error)

// openOutput is the default SinkOpener.
func openOutput(cfg wled.OutputConfig) (Sink, error) {
	out, err := wled.NewOutput(cfg)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return out, nil
}
