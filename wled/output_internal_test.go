package wled

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestOutputHotPathAllocatesNothing(t *testing.T) {
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tg, _ := ParseTarget("ddp://" + l.LocalAddr().String() + "?leds=1000")
	o, err := NewOutput(OutputConfig{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	frame := make([]byte, 3000)
	preview := make([]byte, 3000)
	allocs := testing.AllocsPerRun(200, func() {
		o.Submit(frame)
		o.sendPending()
		o.CopyLastSent(preview)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per Submit+send+preview", allocs)
	}
	if st := o.Stats(); st.FramesSent < 200 || st.SendErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestOutputStatsDoNotWaitForAStuckSend: a device whose socket buffer is wedged holds Send for up
// to sendWriteTimeout; Stats and CopyLastSent (the status page's snapshot, previews and /healthz)
// must answer meanwhile, with the last frame that did reach the wire.
func TestOutputStatsDoNotWaitForAStuckSend(t *testing.T) {
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tg, _ := ParseTarget("ddp://" + l.LocalAddr().String() + "?leds=10")
	o, err := NewOutput(OutputConfig{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	var hold atomic.Bool
	entered, gate := make(chan struct{}), make(chan struct{})
	realSend := o.send
	o.send = func(frame []byte) (int, error) {
		if hold.Load() {
			entered <- struct{}{}
			<-gate
		}
		return realSend(frame)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- o.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()
	waitFrames := func(n uint64) {
		t.Helper()
		for o.Stats().FramesSent < n {
			time.Sleep(time.Millisecond)
		}
	}
	first, second := bytes.Repeat([]byte{1}, o.FrameBytes()), bytes.Repeat([]byte{2}, o.FrameBytes())
	o.Submit(first)
	waitFrames(1)

	hold.Store(true)
	o.Submit(second)
	<-entered // Run's goroutine is now inside Send, and stays there until gate closes
	answered := make(chan []byte)
	go func() {
		_ = o.Stats()
		preview := make([]byte, o.FrameBytes())
		n := o.CopyLastSent(preview)
		answered <- preview[:n]
	}()
	select {
	case preview := <-answered:
		if !bytes.Equal(preview, first) {
			t.Errorf("preview during the stuck send = %v, want the frame on the wire %v", preview, first)
		}
	case <-time.After(10 * time.Second): // a liveness bound, far beyond any scheduling delay
		t.Error("Stats/CopyLastSent waited for a stuck Send")
		close(gate)
		<-answered
		return
	}
	hold.Store(false)
	close(gate)
	waitFrames(2)
	preview := make([]byte, o.FrameBytes())
	if n := o.CopyLastSent(preview); !bytes.Equal(preview[:n], second) {
		t.Errorf("preview after the send = %v, want %v", preview[:n], second)
	}
}
