package wled_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/wled"
)

// TestEncodeSoundSync compares against a packet written byte by byte from the usermod's struct.
func TestEncodeSoundSync(t *testing.T) {
	p := wled.SoundSync{
		SampleRaw:    1.0,  // 0x3F800000
		SampleSmooth: -2.5, // 0xC0200000
		Peak:         true,
		FrameCounter: 0x7E,
		FFTMagnitude: 100.0, // 0x42C80000
		MajorPeakHz:  440.0, // 0x43DC0000
	}
	for i := range p.FFT {
		p.FFT[i] = byte(i*16 + 1)
	}
	want := []byte{
		'0', '0', '0', '0', '2', 0, // header "00002\0"
		0, 0, // reserved
		0x00, 0x00, 0x80, 0x3F, // sampleRaw 1.0 LE
		0x00, 0x00, 0x20, 0xC0, // sampleSmth -2.5 LE
		1,                                                                      // samplePeak
		0x7E,                                                                   // frame counter
		1, 17, 33, 49, 65, 81, 97, 113, 129, 145, 161, 177, 193, 209, 225, 241, // fftResult
		0, 0, // reserved
		0x00, 0x00, 0xC8, 0x42, // FFT_Magnitude 100.0 LE
		0x00, 0x00, 0xDC, 0x43, // FFT_MajorPeak 440.0 LE
	}
	var got [wled.SoundSyncPacketLen]byte
	wled.EncodeSoundSync(&got, p)
	if len(want) != 44 || !bytes.Equal(got[:], want) {
		t.Fatalf("packet\n got % x\nwant % x", got, want)
	}
	// NaN/Inf never reach a receiver; a stale buffer is fully overwritten.
	wled.EncodeSoundSync(&got, wled.SoundSync{SampleRaw: float32(math.NaN()), MajorPeakHz: float32(math.Inf(1))})
	if !bytes.Equal(got[8:12], []byte{0, 0, 0, 0}) || !bytes.Equal(got[40:44], []byte{0, 0, 0, 0}) || got[16] != 0 || got[18] != 0 {
		t.Errorf("NaN/Inf packet % x", got)
	}
}

func TestSoundSyncSender(t *testing.T) {
	l := listenRaw(t)
	s, err := wled.NewSoundSyncSender(l.addr())
	if err != nil {
		t.Fatal(err)
	}
	runSender(t, s)
	sendUntilReceived(t, s, l.conn)
	// Marked by their level, so that packets sendUntilReceived still had in flight are skipped.
	for i := 0; i < 3; i++ {
		if err := s.Send(wled.SoundSync{SampleRaw: float32(100 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	var marked [][]byte
	for len(marked) < 3 {
		p := l.read(1)[0]
		if math.Float32frombits(binary.LittleEndian.Uint32(p[8:])) >= 100 {
			marked = append(marked, p)
		}
	}
	for i, p := range marked {
		if len(p) != 44 || string(p[:6]) != "00002\x00" || p[8+3] != 0x42 {
			t.Errorf("packet %d: % x", i, p)
		}
		if i > 0 && p[17] != marked[i-1][17]+1 {
			t.Errorf("packet %d: frame counter %d after %d, want one more", i, p[17], marked[i-1][17])
		}
	}
	if a := testing.AllocsPerRun(100, func() { _ = s.Send(wled.SoundSync{}) }); a != 0 {
		t.Errorf("%v allocs per Send", a)
	}
	for _, bad := range []string{"not an address", "10.0.0.1", ":11988", "10.0.0.1:0", "10.0.0.1:99999", "host:port"} {
		if _, err := wled.NewSoundSyncSender(bad); err == nil {
			t.Errorf("bad address %q accepted", bad)
		}
	}
}

// The constructor opens no socket and starts no goroutine (the session makes its sender in New
// and runs it in Run, and a daemon whose start-up fails in between must not keep it): Send has
// no socket until Run, and none once Run has returned.
func TestSoundSyncSenderRunOwnsTheSocket(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	l := listenRaw(t)
	s, err := wled.NewSoundSyncSender(l.addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(wled.SoundSync{}); !errors.Is(err, wled.ErrSoundSyncNotConnected) {
		t.Fatalf("Send before Run: %v, want ErrSoundSyncNotConnected", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	sendUntilReceived(t, s, l.conn)
	if err := s.Run(ctx); !errors.Is(err, wled.ErrSoundSyncRunning) {
		t.Errorf("second Run: %v, want ErrSoundSyncRunning", err)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := s.Send(wled.SoundSync{}); !errors.Is(err, wled.ErrSoundSyncNotConnected) {
		t.Fatalf("Send after Run: %v, want ErrSoundSyncNotConnected", err)
	}
}

// A host name is looked up off the caller's goroutine: Send reports ErrSoundSyncNotConnected
// until the socket is open, then sends.
func TestSoundSyncSenderHostName(t *testing.T) {
	l := listenRaw(t)
	_, port, _ := net.SplitHostPort(l.addr())
	s, err := wled.NewSoundSyncSender(net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatal(err)
	}
	runSender(t, s)
	sendUntilReceived(t, s, l.conn)
}

// runSender runs s until the test ends.
func runSender(t *testing.T, s *wled.SoundSyncSender) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// sendUntilReceived sends a packet every 10 ms until conn receives one (at most 15 s).
func sendUntilReceived(t *testing.T, s *wled.SoundSyncSender, conn *net.UDPConn) {
	t.Helper()
	got := make(chan struct{})
	go func() {
		defer close(got)
		buf := make([]byte, 64)
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		if n, _, err := conn.ReadFromUDP(buf); err != nil || n != wled.SoundSyncPacketLen {
			t.Errorf("read %d bytes: %v", n, err)
		}
	}()
	for {
		select {
		case <-got:
			return
		case <-time.After(10 * time.Millisecond):
			if err := s.Send(wled.SoundSync{}); err != nil && !errors.Is(err, wled.ErrSoundSyncNotConnected) && !isNetworkError(err) {
				t.Fatalf("Send: %v", err)
			}
		}
	}
}

func isNetworkError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}
